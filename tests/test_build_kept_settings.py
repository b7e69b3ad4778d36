"""Settings a learner chose come back after visiting other pages (widgets kept for the session)."""

from tests.apptest_helpers import by_key, open_page


def test_compile_settings_survive_other_pages():
    at = open_page("build")
    by_key(at.selectbox, "build_preset_choice").select("mlp_sgd").run()
    by_key(at.number_input, "build_learning_rate").set_value(0.05).run()
    by_key(at.text_input, "build_name").input("my net").run()
    for page in ("train", "data", "runs"):
        at = open_page(page, at)
    at = open_page("build", at)
    assert by_key(at.selectbox, "build_optimizer").value == "sgd"
    assert by_key(at.number_input, "build_learning_rate").value == 0.05
    assert by_key(at.text_input, "build_name").value == "my net"
    assert not by_key(at.button, "build_submit").disabled
    assert not at.error


def test_data_choices_survive_other_pages():
    at = open_page("data")
    by_key(at.selectbox, "data_digit").select(7).run()
    at = open_page("build", at)
    at = open_page("data", at)
    assert by_key(at.selectbox, "data_digit").value == 7


def test_first_visit_takes_the_presets_compile_settings():
    at = open_page("build")
    assert by_key(at.number_input, "build_learning_rate").value > 0
    assert not by_key(at.button, "build_submit").disabled
