"""AppTest tests of the Train and Runs pages: a real (tiny) training in a background job."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.presets import PRESETS
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_page, texts
from ui.i18n import SWITCH_KEY
from ui.state import ActiveModel, Keys

JOB_TIMEOUT = 120


def built_session(page: str, preset: str = "mlp_sgd") -> AppTest:
    """A session whose active model is a freshly built preset, on the given page."""
    from core.build import build_model

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    spec = PRESETS[preset].spec
    at.session_state[Keys.ACTIVE_MODEL] = ActiveModel(build_model(spec), spec.name, "built", spec)
    return open_page(page, at)


def train_quickly(at: AppTest, epochs: int = 1) -> AppTest:
    by_key(at.selectbox, "train_subset").select(1_000).run()
    by_key(at.number_input, "train_epochs").set_value(epochs).run()
    by_key(at.button, "train_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_stop_stops_the_training_and_the_page_shows_how_it_ended():
    at = built_session("train")
    by_key(at.number_input, "train_epochs").set_value(100).run()  # far longer than this test
    by_key(at.button, "train_start").click().run()
    job = at.session_state[Keys.JOB]
    try:
        stop = by_key(at.button, "train_stop")
        assert not stop.disabled
        stop.click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert job.status in ("stopping", "stopped")
        if job.status == "stopping":  # pressed once: the button says so until the end
            assert by_key(at.button, "train_stop").disabled
    finally:
        job.stop()
        assert job.wait(JOB_TIMEOUT), "the training did not stop"
    at.run()
    assert "Training stopped" in texts(at) and "Test accuracy" in texts(at)
    assert not any(b.key == "train_stop" for b in at.button)
    assert at.session_state[Keys.ACTIVE_MODEL].model is job.trained_model()


def test_train_runs_in_the_background_and_the_result_becomes_active():
    at = train_quickly(built_session("train"), epochs=2)
    job = at.session_state[Keys.JOB]
    # While it runs (or just after), the Train button is disabled: one training per session.
    assert job.wait(JOB_TIMEOUT), "the training did not end"
    at.run()
    assert "Training finished" in texts(at)
    assert "Test accuracy" in texts(at)
    active = at.session_state[Keys.ACTIVE_MODEL]
    assert active.source == "trained" and active.model is job.trained_model()
    assert active.test_accuracy is not None and active.test_accuracy > 0.2  # chance is 0.1
    assert active.spec == PRESETS["mlp_sgd"].spec and active.run_dir == job.run_dir
    assert len(job.snapshot().history["loss"]) == 2
    # Continue training: one more epoch of the same run, from its folder, history appended.
    by_key(at.number_input, "train_more_epochs").set_value(1).run()
    by_key(at.button, "train_continue").click().run()
    second = at.session_state[Keys.JOB]
    assert second is not job and second.run_dir == job.run_dir
    assert second.wait(JOB_TIMEOUT)
    at.run()
    assert len(second.snapshot().history["loss"]) == 3
    model = at.session_state[Keys.ACTIVE_MODEL].model
    assert model is second.trained_model() and model is not job.trained_model()
    assert int(model.optimizer.iterations) == 3 * 29  # 900 digits / batch 32, 3 epochs


def test_bad_settings_get_a_message():
    at = built_session("train")
    by_key(at.selectbox, "train_validation").select("none").run()
    at.expander[0]  # the callbacks are in an expander; their widgets are still there
    by_key(at.checkbox, "train_early_stopping").check().run()
    by_key(at.selectbox, "train_early_monitor").select("val_loss").run()
    by_key(at.button, "train_start").click().run()
    assert any("no validation data" in e.value for e in at.error)
    assert at.session_state[Keys.JOB] is None


def test_runs_page_lists_runs_and_survives_a_refresh():
    at = train_quickly(built_session("train"))
    assert at.session_state[Keys.JOB].wait(JOB_TIMEOUT)
    token = at.session_state[Keys.OWNER]
    at = open_page("runs", at)
    assert len(at.dataframe[0].value) == 1
    # A refresh is a new session with the token in the URL: the run is listed again.
    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT)
    fresh.query_params["session"] = token
    fresh.run()
    fresh = open_page("runs", fresh)
    table = fresh.dataframe[0].value
    assert len(table) == 1 and table["Status"][0] == "finished"
    by_key(fresh.button, "runs_activate").click().run()
    active = fresh.session_state[Keys.ACTIVE_MODEL]
    assert active.source == "trained" and active.spec == PRESETS["mlp_sgd"].spec


def test_a_crafted_session_token_is_replaced():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["session"] = "../../etc"
    at.run()
    assert at.session_state[Keys.OWNER] != "../../etc"
    at = open_page("runs", at)
    assert "No runs yet" in texts(at)


def test_a_renamed_preset_keeps_its_training_recipe():
    """A learner who names the recommended network still gets its recipe (epochs, cosine
    schedule): without the schedule's annealing it ends far below 99%."""
    at = open_page("build")
    by_key(at.text_input, Keys.BUILD_NAME).input("Mina's CNN").run()
    by_key(at.button, "build_submit").click().run()
    at = open_page("train", at)
    preset = PRESETS["default"]
    assert by_key(at.number_input, "train_epochs").value == preset.epochs
    assert by_key(at.selectbox, "train_lr_schedule").value == preset.lr_schedule == "cosine"
    assert by_key(at.selectbox, "train_validation").value == preset.validation


def test_settings_survive_a_visit_to_another_page():
    at = built_session("train")
    assert by_key(at.number_input, "train_epochs").value == PRESETS["mlp_sgd"].epochs
    by_key(at.number_input, "train_epochs").set_value(7).run()
    by_key(at.selectbox, "train_subset").select(10_000).run()
    by_key(at.text_input, "train_seed").input("42").run()
    at = open_page("train", open_page("inspect", at))
    assert by_key(at.number_input, "train_epochs").value == 7
    assert by_key(at.selectbox, "train_subset").value == 10_000
    assert by_key(at.text_input, "train_seed").value == "42"


def test_a_running_job_shows_its_own_settings_after_a_refresh():
    at = built_session("train")
    by_key(at.number_input, "train_epochs").set_value(100).run()  # far longer than this test
    by_key(at.selectbox, "train_subset").select(10_000).run()
    by_key(at.button, "train_start").click().run()
    job = at.session_state[Keys.JOB]
    try:
        fresh = AppTest.from_file(APP, default_timeout=TIMEOUT)
        fresh.query_params["session"] = at.session_state[Keys.OWNER]
        fresh.run()
        fresh = open_page("train", fresh)  # a new session: no active model, the same job
        epochs = by_key(fresh.number_input, "train_epochs")
        assert fresh.session_state[Keys.JOB].run_dir == job.run_dir
        assert epochs.value == 100 and epochs.disabled
        assert by_key(fresh.selectbox, "train_subset").value == 10_000
        assert "is training" in texts(fresh)
    finally:
        job.stop()
        assert job.wait(JOB_TIMEOUT)
    fresh.run()  # the stopped job's model becomes the new session's active model too
    assert fresh.session_state[Keys.ACTIVE_MODEL].model is job.trained_model()


def test_an_uploaded_model_trains_from_a_copy_in_its_run_folder():
    import keras
    import numpy as np

    model = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, name="logits")]
    )  # as uploaded: never compiled, no spec
    before = [w.copy() for w in model.get_weights()]
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.session_state[Keys.ACTIVE_MODEL] = ActiveModel(model, "my upload", "uploaded")
    at = train_quickly(open_page("train", at))
    job = at.session_state[Keys.JOB]
    assert job.wait(JOB_TIMEOUT)
    at.run()
    assert job.status == "finished", job.snapshot().message
    active = at.session_state[Keys.ACTIVE_MODEL]
    assert active.source == "trained" and active.spec is None and active.name == "my upload"
    assert active.model is job.trained_model() and active.model is not model
    assert active.test_accuracy > 0.2  # chance is 0.1
    for kept, now in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)  # the upload itself is left as it was
    assert (Path(job.run_dir) / "start.keras").exists()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_new_model_does_not_show_the_last_models_training(language):
    """Right after Build, Train has nothing finished to show: the finished job trained another model."""
    at = built_session("train")
    at.query_params["lang"] = language
    by_key(at.sidebar.radio, SWITCH_KEY).set_value(language).run()
    at = train_quickly(at)
    assert at.session_state[Keys.JOB].wait(JOB_TIMEOUT)
    at.run()
    assert by_key(at.button, "train_continue")  # the finished job belongs to the active model
    at = open_page("build", at)
    by_key(at.button, "build_submit").click().run()
    at = open_page("train", at)
    assert not [b for b in at.button if b.key == "train_continue"]
    assert translate("train.press_train", language) in [c.value for c in at.caption]
    assert translate("train.finished", language) not in texts(at)
