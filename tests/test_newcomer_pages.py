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
from tests.apptest_helpers import APP, TIMEOUT, by_key, markdown_table, open_page, texts
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
    table = markdown_table(at)
    assert list(table.iloc[:, 3]) == ["50,240", "650"]


def _results_with_done(lessons_done: set[str]):
    """lesson_results as if every step of these lessons were done and no other step."""
    from core.lessons import LESSONS
    from core.lessons.facts import StepResult

    def results(lessons):
        return {
            step.key: StepResult("done" if lesson.key in lessons_done else "todo")
            for lesson in LESSONS
            for step in lesson.steps
        }, True

    return results


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_finished_lesson_points_to_the_next_one(language, monkeypatch):
    from core.lessons import LESSONS
    from ui import lesson_progress

    first, second, last = LESSONS[0], LESSONS[1], LESSONS[-1]
    monkeypatch.setattr(
        lesson_progress, "lesson_results", _results_with_done({first.key, last.key})
    )
    at = open_page("lessons", session(language))
    assert translate("lessons.all_done", language) in texts(at)
    next_button = by_key(at.button, "lessons_next")
    assert translate(f"lessons.{second.key}.title", language) in next_button.label
    next_button.click().run()
    assert at.session_state["lessons_choice"] == second.key
    assert not [b for b in at.button if b.key == "lessons_next"]  # lesson 2 is not done
    by_key(at.selectbox, "lessons_choice").set_value(last.key).run()
    assert translate("lessons.all_lessons_done", language) in texts(at)
    assert not [b for b in at.button if b.key == "lessons_next"]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_lesson_steps_send_the_learner_where_the_settings_are(language, small_trained_mlp):
    def do(key: str) -> str:
        return translate(f"lessons.{key}.do", language)

    # Adam and the learning rate are compile settings on Build, not on Train.
    for label in ("nav.build", "build.compile", "build.optimizer", "build.learning_rate"):
        assert f"**{translate(label, language)}**" in do("cnn.train"), label
    # Runs draws loss and val_loss together once the choice the step names is made.
    choice = translate("runs.curve.loss", language)
    assert f"**{choice}**" in do("basics.history")
    root = Path(os.environ["DIGITLAB_RUNS_DIR"])
    owner = new_owner_token()
    fake_run(root, owner, "20260101-000000-cccc", small_trained_mlp, "finished", "")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = language
    at.query_params["session"] = owner
    at.run()
    at = open_page("runs", at)
    curves = by_key(at.radio, "runs_metric")
    assert curves.value == "loss" and curves.format_func("loss") == choice
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [trace["name"] for trace in figure["data"]]
    assert [name.rsplit(" · ", 1)[1] for name in names] == ["loss", "val_loss"]
