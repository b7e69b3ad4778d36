"""A refresh (a fresh AppTest with the same ?session= and ?lang=) brings back the session's state."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.persist import model_to_bytes
from core.presets import PRESETS
from core.runs import MODEL_FILE
from core.session_store import SESSION_FILE
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_layer_editor, open_page, texts
from tests.test_pages_training import JOB_TIMEOUT, train_quickly
from ui.resources import run_store
from ui.state import Keys


def session(language: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = language
    return at.run()


def refresh(at: AppTest, page: str) -> AppTest:
    """The same address in a new browser session (server memory of the old one not used)."""
    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in at.query_params.items():
        fresh.query_params[key] = value
    fresh.run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    return open_page(page, fresh)


def build(at: AppTest, preset: str, name: str) -> AppTest:
    at = open_page("build", at)
    by_key(at.selectbox, "build_preset_choice").select(preset).run()
    by_key(at.text_input, Keys.BUILD_NAME).input(name).run()
    by_key(at.button, "build_submit").click().run()
    assert not at.exception
    return at


def same_predictions(first, second) -> None:
    x = np.random.default_rng(0).random((4, 784), dtype="float32")
    np.testing.assert_allclose(first.predict(x, verbose=0), second.predict(x, verbose=0), atol=1e-6)


def test_a_built_model_and_builds_settings_come_back():
    at = build(session(), "mlp_sgd", "Mina's MLP")
    first = at.session_state[Keys.BUILD_LAYERS][0].id
    by_key(open_layer_editor(at).number_input, f"build_layer{first}_units").set_value(40).run()
    before = at.session_state[Keys.ACTIVE_MODEL]
    fresh = refresh(at, "build")
    active = fresh.session_state[Keys.ACTIVE_MODEL]
    assert active is not None and active.name == "Mina's MLP" and active.source == "built"
    assert active.spec == before.spec and active.spec.layers == PRESETS["mlp_sgd"].spec.layers
    same_predictions(active.model, before.model)
    assert by_key(fresh.selectbox, "build_preset_choice").value == "mlp_sgd"
    assert by_key(fresh.text_input, Keys.BUILD_NAME).value == "Mina's MLP"
    assert by_key(fresh.toggle, Keys.BUILD_EDITING).value
    assert fresh.session_state[Keys.BUILD_LAYERS][0].spec.units == 40  # the edit after building
    assert "Mina's MLP" in [m.value for m in fresh.sidebar.markdown][-1]


def test_trains_settings_come_back_for_the_same_model():
    at = build(session("ko"), "mlp_sgd", "MLP")
    at = open_page("train", at)
    by_key(at.number_input, "train_epochs").set_value(5).run()
    by_key(at.selectbox, "train_subset").select(1_000).run()
    by_key(at.selectbox, "train_batch_size").select(64).run()
    by_key(at.text_input, "train_seed").input("7").run()
    fresh = refresh(at, "train")
    assert fresh.title[0].value == translate("train.title", "ko")
    assert by_key(fresh.number_input, "train_epochs").value == 5
    assert by_key(fresh.selectbox, "train_subset").value == 1_000
    assert by_key(fresh.selectbox, "train_batch_size").value == 64
    assert by_key(fresh.text_input, "train_seed").value == "7"


def test_a_trained_model_comes_back_from_its_run():
    at = build(session(), "mlp_sgd", "MLP")
    at = train_quickly(open_page("train", at))
    job = at.session_state[Keys.JOB]
    assert job.wait(JOB_TIMEOUT)
    at.run()
    trained = at.session_state[Keys.ACTIVE_MODEL]
    assert trained.source == "trained"
    fresh = refresh(at, "save")
    active = fresh.session_state[Keys.ACTIVE_MODEL]
    assert active.source == "trained" and active.run_dir == str(job.run_dir)
    assert active.test_accuracy == pytest.approx(trained.test_accuracy)
    same_predictions(active.model, trained.model)
    assert not fresh.info or translate("app.no_active_model", "en") not in texts(fresh)
    owner = at.query_params["session"]
    assert not (run_store().owner_dir(owner) / "session-model.keras").exists()  # the run holds it


def test_the_chosen_lesson_comes_back():
    at = open_page("lessons", session())
    by_key(at.selectbox, "lessons_choice").select("cnn").run()
    fresh = refresh(at, "lessons")
    assert by_key(fresh.selectbox, "lessons_choice").value == "cnn"


@pytest.mark.parametrize("language", ["en", "ko"])
def test_without_an_active_model_the_hint_points_to_runs(language):
    at = build(session(language), "mlp_sgd", "MLP")
    at = train_quickly(open_page("train", at))
    assert at.session_state[Keys.JOB].wait(JOB_TIMEOUT)
    at.run()
    owner = at.query_params["session"]
    (run_store().owner_dir(owner) / SESSION_FILE).unlink()  # say, a run made before this version
    fresh = refresh(at, "save")
    assert fresh.session_state[Keys.ACTIVE_MODEL] is None
    assert [i.value for i in fresh.info] == [translate("app.no_active_model_runs", language)]
    assert translate("sidebar.none_yet_runs", language) in [c.value for c in fresh.sidebar.caption]
    links = [link.proto.page for link in fresh.get("page_link")]
    assert links[:2] == ["runs", "build"], links


def test_a_session_without_runs_is_sent_to_build():
    at = open_page("save", session("ko"))
    assert [i.value for i in at.info] == [translate("app.no_active_model", "ko")]
    assert translate("sidebar.none_yet", "ko") in [c.value for c in at.sidebar.caption]


def test_an_uploaded_model_made_active_comes_back(small_trained_mlp):
    at = open_page("evaluate", session("ko"))
    upload = [("mine.keras", model_to_bytes(small_trained_mlp, "keras"), "application/zip")]
    at.get("file_uploader")[0].set_value(upload).run()
    by_key(at.button, "evaluate_activate").click().run()
    uploaded = at.session_state[Keys.ACTIVE_MODEL]
    assert uploaded.source == "uploaded"
    fresh = refresh(at, "draw")
    active = fresh.session_state[Keys.ACTIVE_MODEL]
    assert active.source == "uploaded" and active.name == "mine.keras" and active.spec is None
    assert active.test_accuracy == pytest.approx(uploaded.test_accuracy)
    same_predictions(active.model, small_trained_mlp)
    assert fresh.title[0].value == translate("draw.title", "ko")


def test_a_training_that_ended_while_the_page_was_closed_shows_on_train_and_becomes_active():
    at = build(session(), "mlp_sgd", "MLP")
    at = train_quickly(open_page("train", at))
    job = at.session_state[Keys.JOB]
    assert job.wait(JOB_TIMEOUT)  # ended with no run of the page to see it
    fresh = refresh(at, "train")
    active = fresh.session_state[Keys.ACTIVE_MODEL]
    assert active.source == "trained" and active.run_dir == str(job.run_dir)
    same_predictions(active.model, job.trained_model())
    shown = texts(fresh)
    unseen = translate("train.ended_unseen", "en")
    assert f"Training finished: {unseen}" in shown and "Test accuracy" in shown
    assert by_key(fresh.button, "train_continue")  # and it continues from here
    again = refresh(fresh, "train")  # seen now: a refresh shows the model, not that news
    assert unseen not in texts(again)
    assert again.session_state[Keys.ACTIVE_MODEL].run_dir == str(job.run_dir)


def test_a_training_seen_to_its_end_is_not_news_after_a_refresh():
    at = build(session(), "mlp_sgd", "MLP")
    at = train_quickly(open_page("train", at))
    assert at.session_state[Keys.JOB].wait(JOB_TIMEOUT)
    at.run()  # the page saw the end
    at = build(at, "cnn", "A newer CNN")  # and the learner went on
    fresh = refresh(at, "train")
    assert fresh.session_state[Keys.ACTIVE_MODEL].name == "A newer CNN"
    assert translate("train.ended_unseen", "en") not in texts(fresh)


def test_an_unseen_end_whose_model_file_is_damaged_stays_on_runs():
    at = build(session(), "mlp_sgd", "MLP")
    at = train_quickly(open_page("train", at))
    job = at.session_state[Keys.JOB]
    assert job.wait(JOB_TIMEOUT)
    (Path(job.run_dir) / MODEL_FILE).write_bytes(b"not a zip")  # damaged while nobody watched
    fresh = refresh(at, "train")  # no exception (refresh checks), no claim of a new model
    assert translate("train.ended_unseen", "en") not in texts(fresh)
    assert fresh.session_state[Keys.ACTIVE_MODEL].run_dir != str(job.run_dir)
    runs = open_page("runs", fresh)
    assert not runs.exception and "MLP" in texts(runs)
