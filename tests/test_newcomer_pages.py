"""Page logic a newcomer met in the first hour (issue 21, findings 6 to 9), in both languages."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.presets import PRESETS
from core.runs import new_owner_token
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_page, texts
from tests.test_pages_korean import fake_run
from tests.test_pages_study import canvas  # noqa: F401  (the fixture: a drawn vertical stroke)
from ui.state import ActiveModel, Keys


def session(language: str, model=None, name: str = "small MLP") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = language
    at.run()
    if model is not None:
        at.session_state[Keys.ACTIVE_MODEL] = ActiveModel(model, name, "trained")
    return at


@pytest.mark.parametrize("language", ["en", "ko"])
def test_draw_s_label_goes_back_to_choose_after_each_kept_digit(
    language,
    small_trained_mlp,
    canvas,  # noqa: F811
):
    at = open_page("draw", session(language, small_trained_mlp))
    label = by_key(at.selectbox, "draw_label")
    assert label.value is None and label.placeholder == translate("draw.label_choose", language)
    assert by_key(at.button, "draw_keep").disabled  # no label chosen yet
    label.select(7).run()
    by_key(at.button, "draw_keep").click().run()
    assert [digit_label for _, digit_label in at.session_state[Keys.MY_DIGITS]] == [7]
    # The next drawing does not inherit the 7: the box says "choose" again and Keep waits.
    assert by_key(at.selectbox, "draw_label").value is None
    assert by_key(at.button, "draw_keep").disabled
    by_key(at.selectbox, "draw_label").select(1).run()
    by_key(at.button, "draw_keep").click().run()
    assert [digit_label for _, digit_label in at.session_state[Keys.MY_DIGITS]] == [7, 1]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_runs_writes_accuracies_one_way_no_none_and_no_server_path(language, small_trained_mlp):
    root = Path(os.environ["DIGITLAB_RUNS_DIR"])  # the app's run store (cached per process)
    owner = new_owner_token()
    fake_run(root, owner, "20260101-000000-aaaa", small_trained_mlp, "finished", "")
    interrupted = root / owner / "20260101-000001-bbbb"  # stopped before its first epoch ended
    interrupted.mkdir(parents=True)
    (interrupted / "spec.json").write_text(json.dumps({"name": "CNN", "spec": {}}))
    metrics = json.loads((root / owner / "20260101-000000-aaaa" / "metrics.json").read_text())
    metrics["best"]["val_accuracy"] = 0.87  # 0.87 is written 87.00%, like 93.00%, not 87%
    (root / owner / "20260101-000000-aaaa" / "metrics.json").write_text(json.dumps(metrics))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = language
    at.query_params["session"] = owner
    at.run()
    at = open_page("runs", at)
    table = at.dataframe[0].value
    rows = {row.iloc[0]: list(row) for _, row in table.iterrows()}
    finished, stopped = rows["20260101-000000-aaaa"], rows["20260101-000001-bbbb"]
    assert finished[4:6] == ["93.00%", "87.00%"] and finished[6] == "4.2"
    assert stopped[4:] == ["—", "—", "—"]
    assert "None" not in table.astype(str).to_numpy().ravel().tolist()
    assert str(root) not in texts(at) and owner not in texts(at)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_inspect_writes_parameter_counts_with_separators(language):
    from core.build import build_model

    at = open_page("inspect", session(language, build_model(PRESETS["mlp_sgd"].spec)))
    table = at.dataframe[0].value
    assert list(table.iloc[:, 3]) == ["50,240", "650"]
