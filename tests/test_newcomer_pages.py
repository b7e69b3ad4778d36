"""Page logic a newcomer met in the first hour (issue 21, findings 6 to 9), in both languages."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_page
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
    language, small_trained_mlp, canvas  # noqa: F811
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
