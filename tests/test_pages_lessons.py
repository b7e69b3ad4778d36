"""AppTest tests of the Lessons page: both languages, steps ticking off, progress after a refresh."""

import io
import os
import re
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.lessons import LESSONS
from core.persist import model_to_bytes
from core.presets import PRESETS
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_page, texts
from ui.state import ActiveModel, Keys


def session(language: str = "en", token: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = language
    if token:
        at.query_params["session"] = token
    at.run()
    return at


def step_line(at: AppTest, step_key: str, language: str = "en") -> str:
    """The heading line of a step: its status mark, number, title and status word."""
    title = translate(f"lessons.{step_key}.title", language)
    lines = [m.value for m in at.markdown if f". {title}**" in m.value]
    assert len(lines) == 1, (title, lines)
    return lines[0]


def open_lesson(at: AppTest, lesson: str) -> AppTest:
    """Choose a lesson on the Lessons page: what the learner does next counts for it."""
    at = open_page("lessons", at)
    by_key(at.selectbox, "lessons_choice").select(lesson).run()
    assert at.session_state[Keys.LESSON] == lesson
    return at


def build_preset(at: AppTest, preset: str) -> AppTest:
    at = open_page("build", at)
    by_key(at.selectbox, "build_preset_choice").select(preset).run()
    by_key(at.button, "build_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_lesson_renders_in_both_languages(language):
    at = open_page("lessons", session(language))
    assert at.title[0].value == translate("lessons.title", language)
    for lesson in LESSONS:
        by_key(at.selectbox, "lessons_choice").select(lesson.key).run()
        assert not at.exception, [e.value for e in at.exception]
        shown = texts(at)
        assert translate(f"lessons.{lesson.key}.differ", language) in shown
        for step in lesson.steps:
            assert "· " + translate("lessons.status.todo", language) in step_line(
                at, step.key, language
            )
            assert translate(f"lessons.{step.key}.do", language) in shown
            if language == "ko":  # no English sentence of the lesson on the Korean page
                for part in ("title", "do"):
                    assert translate(f"lessons.{step.key}.{part}", "en") not in shown
        assert len(at.code) == len(lesson.steps)
        assert len(at.get("page_link")) == len(lesson.steps)
    if language == "ko":
        english = translate(f"lessons.{LESSONS[-1].key}.intro", "en")
        assert english not in texts(at)
        assert "단계 중" in at.get("progress")[0].proto.text


def test_building_the_preset_ticks_off_the_steps_and_survives_a_refresh():
    at = build_preset(open_lesson(session(), "first_mlp"), "mlp_sgd")
    at = open_page("inspect", at)  # reading the summary is a step too
    at = open_page("lessons", at)
    assert "· done" in step_line(at, "first_mlp.build")
    assert "50,890 parameters (MLP 784-64-10)" in texts(at)
    assert "· done" in step_line(at, "first_mlp.graph")
    assert "· to do" in step_line(at, "first_mlp.train")
    assert by_key(at.selectbox, "lessons_choice").options[0].endswith("(2/6)")
    # Another network in the same session, for another lesson: a kept step does not fall back.
    at = build_preset(open_lesson(at, "cnn"), "cnn")
    at = open_page("lessons", at)
    assert "· done" in step_line(at, "cnn.build")
    by_key(at.selectbox, "lessons_choice").select("first_mlp").run()
    assert "· done" in step_line(at, "first_mlp.build")

    token = at.session_state[Keys.OWNER]
    saved = Path(os.environ["DIGITLAB_RUNS_DIR"]) / token / "lessons.json"
    assert saved.exists()
    # A refresh is a new session with the token in the URL: the same model, progress still there.
    fresh = session("ko", token)
    assert fresh.session_state[Keys.ACTIVE_MODEL].name == PRESETS["cnn"].spec.name
    fresh = open_page("lessons", fresh)
    assert "· 완료" in step_line(fresh, "first_mlp.build", "ko")
    assert "파라미터 50,890개 (MLP 784-64-10)" in texts(fresh)
    assert "· 할 일" in step_line(fresh, "first_mlp.save", "ko")
    # A session of its own (another token) starts with nothing done.
    other = open_page("lessons", session())
    assert "· to do" in step_line(other, "first_mlp.build")


def test_uploading_the_saved_h5_ticks_off_loading_it():
    at = build_preset(open_lesson(session(), "first_mlp"), "mlp_sgd")
    h5 = model_to_bytes(at.session_state[Keys.ACTIVE_MODEL].model, "h5")
    at = open_page("evaluate", at)
    uploader = at.get("file_uploader")[0]
    uploader.set_value([("mnist_mlp_model.h5", h5, "application/octet-stream")]).run()
    assert not at.exception, [e.value for e in at.exception]
    at = open_page("mistakes", at)
    at = open_page("lessons", at)
    assert "· done" in step_line(at, "first_mlp.load")
    assert "after loading mnist_mlp_model.h5" in texts(at)
    assert "· done" in step_line(at, "first_mlp.predict")  # or "done, different number"
    assert "random test digits predicted right" in texts(at)
    # The same upload does not count for another lesson's step: it was made for the first one.
    by_key(at.selectbox, "lessons_choice").select("saving").run()
    assert "· to do" in step_line(at, "saving.f1")
    at = open_page("evaluate", at)  # uploaded again, now for this lesson
    uploader = at.get("file_uploader")[0]
    uploader.set_value([("mnist_mlp_model.h5", h5, "application/octet-stream")]).run()
    at = open_page("lessons", at)
    assert "· done" in step_line(at, "saving.f1")
    assert "macro F1" in texts(at)


def test_the_tutorials_network_with_other_sizes_counts_with_its_own_number():
    from core.build import build_model
    from core.spec import NetworkSpec, dense

    at = open_lesson(session("ko"), "first_mlp")
    spec = NetworkSpec("MLP 784-128-10", (dense(128), dense(10, "softmax")))
    at.session_state[Keys.ACTIVE_MODEL] = ActiveModel(build_model(spec), spec.name, "built", spec)
    at.session_state[Keys.ACTIVE_LESSON] = "first_mlp"  # made active while lesson 1 was open
    at = open_page("lessons", at)
    assert step_line(at, "first_mlp.build", "ko").endswith("· 완료, 숫자가 다름")
    assert "파라미터 101,770개 (MLP 784-128-10)" in texts(at)
    assert translate("lessons.differs_hint", "ko") in texts(at)
    by_key(at.selectbox, "lessons_choice").select("checkpoints").run()
    assert step_line(at, "checkpoints.build", "ko").endswith("· 할 일")  # another stack of layers


def test_a_training_and_its_checkpoint_tick_off_the_checkpoint_lesson():
    at = build_preset(open_lesson(session(), "checkpoints"), "mlp_dropout")
    at = open_page("train", at)
    by_key(at.selectbox, "train_subset").select(1_000).run()
    by_key(at.number_input, "train_epochs").set_value(2).run()
    by_key(at.selectbox, "train_validation").select("test").run()
    assert by_key(at.checkbox, "train_checkpoint").value  # kept by default: the best weights
    by_key(at.button, "train_start").click().run()
    job = at.session_state[Keys.JOB]
    assert job.wait(120), "the training did not end"
    at.run()

    at = open_page("lessons", at)
    by_key(at.selectbox, "lessons_choice").select("checkpoints").run()
    assert "· done" in step_line(at, "checkpoints.train")  # or done with a different number
    assert "after 2 epochs, batch size 32, 1,000 training digits" in texts(at)
    assert "· to do" in step_line(at, "checkpoints.restore")
    # Another lesson's steps do not count this run (finding: lesson 3 ticked by lesson 1's run).
    by_key(at.selectbox, "lessons_choice").select("basics").run()
    assert step_line(at, "basics.fit").endswith("· to do")
    assert step_line(at, "basics.history").endswith("· to do")
    by_key(at.selectbox, "lessons_choice").select("checkpoints").run()

    # The Save page's TF checkpoint, unzipped and uploaded with its JSON: restored versus untrained.
    at = open_page("save", at)
    by_key(at.button, "save_prepare_checkpoint").click().run()
    prepared = at.session_state["save_prepared_exports"]["checkpoint"]
    assert isinstance(prepared, bytes), prepared
    with zipfile.ZipFile(io.BytesIO(prepared)) as archive:
        files = [
            (Path(name).name, archive.read(name), "application/octet-stream")
            for name in archive.namelist()
            if Path(name).name != "checkpoint"  # the bookkeeping file: the lesson skips it too
        ]
    names = sorted(name for name, _, _ in files)
    assert names[:2] == ["cp.ckpt.data-00000-of-00001", "cp.ckpt.index"], names
    assert len(names) == 3 and names[2].endswith(".json"), names
    at = open_page("evaluate", at)
    at.get("file_uploader")[0].set_value(files).run()
    assert not at.exception, [e.value for e in at.exception]
    at = open_page("lessons", at)
    by_key(at.selectbox, "lessons_choice").select("checkpoints").run()
    assert "· done" in step_line(at, "checkpoints.restore")
    yours = re.search(r"\*\*You\*\*  \nuntrained (\d+\.\d\d)%, restored (\d+\.\d\d)%", texts(at))
    assert yours and float(yours.group(1)) < 20 < float(yours.group(2)), yours
    assert "· to do" in step_line(at, "checkpoints.download")  # a download only a browser makes


def test_the_chosen_lesson_is_still_there_after_another_page():
    at = open_page("lessons", session())
    by_key(at.selectbox, "lessons_choice").select("cnn").run()
    at = open_page("lessons", build_preset(at, "cnn"))
    assert by_key(at.selectbox, "lessons_choice").value == "cnn"
    assert step_line(at, "cnn.build").endswith("· done")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_lesson_counts_only_what_was_done_for_it(language):
    """The newcomer's hour: lesson 1's 5-epoch run ticked lesson 3's "10 epochs" step, and lessons
    never opened filled up. Now each lesson counts what was done while it was open."""
    todo, done = (" · " + translate(f"lessons.status.{s}", language) for s in ("todo", "done"))
    at = build_preset(session(language), "mlp_sgd")  # before any lesson was opened
    at = open_page("lessons", at)
    assert step_line(at, "first_mlp.build", language).endswith(todo)
    at = build_preset(at, "mlp_sgd")  # now lesson 1 is open (the first, chosen by default)
    at = open_page("inspect", at)  # an event: the summary read
    at = open_page("train", at)
    by_key(at.selectbox, "train_subset").select(1_000).run()
    by_key(at.number_input, "train_epochs").set_value(5).run()
    by_key(at.selectbox, "train_batch_size").select(32).run()
    by_key(at.button, "train_start").click().run()
    assert at.session_state[Keys.JOB].wait(120), "the training did not end"
    at = open_page("lessons", at)
    assert step_line(at, "first_mlp.build", language).endswith(done)
    assert step_line(at, "first_mlp.train", language).endswith(done)
    labels = by_key(at.selectbox, "lessons_choice").options
    assert labels[0].endswith("(3/6)"), labels  # build, summary and train
    assert all(
        label.endswith(f"(0/{len(lesson.steps)})")
        for label, lesson in zip(labels[1:], LESSONS[1:], strict=True)
    )
    by_key(at.selectbox, "lessons_choice").select("basics").run()
    assert step_line(at, "basics.fit", language).endswith(todo)
    assert step_line(at, "basics.dense", language).endswith(todo)
    assert step_line(at, "basics.summary", language).endswith(todo)
