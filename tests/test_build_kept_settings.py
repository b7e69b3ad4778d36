"""The Build page's compile settings come back even when Streamlit drops the widgets' values."""

from tests.apptest_helpers import by_key, open_page
from ui.layer_editor import COMPILE_WIDGETS


def test_dropped_compile_values_come_back_and_build_stays_possible():
    at = open_page("build")
    by_key(at.selectbox, "build_preset_choice").select("mlp_sgd").run()
    by_key(at.number_input, "build_learning_rate").set_value(0.05).run()
    at = open_page("train", at)
    # What Chromium showed after a training: the widgets' values gone on the way back to Build.
    for key in COMPILE_WIDGETS:
        del at.session_state[key]
    at = open_page("build", at)
    assert by_key(at.selectbox, "build_optimizer").value == "sgd"
    assert by_key(at.number_input, "build_learning_rate").value == 0.05
    assert not by_key(at.button, "build_submit").disabled
    assert not at.error


def test_first_visit_takes_the_presets_compile_settings():
    at = open_page("build")
    assert by_key(at.number_input, "build_learning_rate").value > 0
    assert not by_key(at.button, "build_submit").disabled
