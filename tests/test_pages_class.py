"""AppTest of the Class page (no key set, short key, wrong key, right key) and of the nickname."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.build import build_model
from core.engine.scheduler import TrainingScheduler
from core.presets import PRESETS
from core.runs import RunStore, new_owner_token
from core.training import TrainConfig, TrainingJob
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_page, texts
from ui.session import NICKNAME
from ui.state import Keys
from ui.teacher import ENV_VAR

KEY = "correct-horse-battery"


@pytest.fixture(scope="module")
def store() -> RunStore:
    """The store the app under test reads (conftest points DIGITLAB_RUNS_DIR at a temp folder)."""
    return RunStore(Path(os.environ["DIGITLAB_RUNS_DIR"]))


@pytest.fixture(scope="module")
def learners(store, mnist) -> dict[str, str]:
    """Two learners with a nickname and one real (tiny) run each; nickname -> owner token."""
    owners = {}
    for nickname, preset, subset in (("Mina", "mlp_sgd", 2000), ("Joon", "mlp_dropout", 500)):
        owner = new_owner_token()
        store.save_nickname(owner, nickname)
        spec = PRESETS[preset].spec
        config = TrainConfig(epochs=1, batch_size=64, subset_size=subset, validation="none")
        run_dir = store.new_run_dir(owner)
        job = TrainingJob(
            build_model(spec), config, mnist, run_dir, spec.to_dict(), spec.name, owner
        )
        TrainingScheduler(1).submit(job)
        assert job.wait(TIMEOUT) and job.status == "finished", job.snapshot().message
        owners[nickname] = owner
    return owners


@pytest.fixture
def teacher_key(monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    return KEY


def every_text(at: AppTest) -> str:
    """Everything the page shows in text, tables included."""
    tables = [df.value.to_csv() for df in at.dataframe]
    inputs = [str(w.value) for w in [*at.text_input, *at.selectbox]]
    return "\n".join([texts(at), *tables, *inputs, *(e.value for e in at.warning)])


def has_key_input(at: AppTest) -> bool:
    return any(widget.key == "class_key" for widget in at.text_input)


def sign_in(at: AppTest, key: str) -> AppTest:
    by_key(at.text_input, "class_key").input(key)
    by_key(at.button, "class_key_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_without_a_key_the_page_says_how_to_set_one_and_shows_nothing(monkeypatch, learners):
    monkeypatch.delenv(ENV_VAR, raising=False)
    at = open_page("class_view")  # no secrets file either: st.secrets must not raise
    assert "DIGITLAB_TEACHER_KEY" in texts(at) and "teacher_key" in texts(at)
    assert not at.dataframe and not has_key_input(at)
    assert "Mina" not in every_text(at)


def test_the_page_speaks_korean(monkeypatch, learners):
    monkeypatch.delenv(ENV_VAR, raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = "ko"
    at = open_page("class_view", at.run())
    assert at.title[0].value == "수업" and "교사 키" in texts(at)
    assert by_key(at.sidebar.text_input, "session_nickname").label == "닉네임"


def test_the_key_may_come_from_streamlit_secrets(monkeypatch, learners):
    monkeypatch.delenv(ENV_VAR, raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["teacher_key"] = KEY
    at.switch_page(
        "app_pages/class_view.py"
    )  # straight there: AppTest loses secrets on page switches
    at = sign_in(at.run(), KEY)
    assert "Mina" in every_text(at)


def test_a_short_key_keeps_the_page_closed(monkeypatch, learners):
    monkeypatch.setenv(ENV_VAR, "1234")
    at = open_page("class_view")
    assert any("shorter than 8" in w.value for w in at.warning)
    assert not at.dataframe and not has_key_input(at)


def test_a_wrong_key_shows_nothing(teacher_key, learners):
    at = sign_in(open_page("class_view"), "correct-horse-battery-staple")
    assert any("not the teacher key" in e.value for e in at.error)
    assert not at.dataframe and "Mina" not in every_text(at)


def test_the_teacher_sees_every_learner_ranked_and_opens_a_run(teacher_key, learners, store):
    at = sign_in(open_page("class_view"), teacher_key)
    table = at.dataframe[0].value
    ours = table[table["Nickname"].isin(["Mina", "Joon"])]
    assert set(ours["Nickname"]) == {"Mina", "Joon"}
    ranked = table.dropna(subset=["Rank"])
    assert list(ranked["Rank"]) == list(range(1, len(ranked) + 1))
    assert ranked["Test accuracy"].is_monotonic_decreasing
    mina = ours[ours["Nickname"] == "Mina"].iloc[0]
    assert mina["Model"] == PRESETS["mlp_sgd"].spec.name and mina["Parameters"] == 50_890
    assert mina["Status"] == "finished" and mina["Training time (s)"] > 0
    shown = every_text(at)
    assert not any(owner in shown for owner in learners.values()), "a session token is shown"

    pick = by_key(at.selectbox, "class_pick")
    pick.select_index(next(i for i, label in enumerate(pick.options) if ". Mina · " in label)).run()
    by_key(at.button, "class_open").click().run()
    assert not at.exception, [e.value for e in at.exception]
    active = at.session_state[Keys.ACTIVE_MODEL]
    assert active.name.endswith("· Mina") and active.source == "trained"
    run = store.list_runs(learners["Mina"])[0]
    assert active.test_accuracy == pytest.approx(run.test_accuracy)
    assert any("is now the active model" in s.value for s in at.success)
    assert store.list_runs(learners["Mina"]) == [run]  # nothing of the learner's changed
    assert at.session_state[Keys.OWNER] not in learners.values()  # nor did the teacher become her

    by_key(at.button, "class_sign_out").click().run()
    assert not at.dataframe and has_key_input(at)


def query(at: AppTest, name: str):
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def test_the_nickname_goes_to_the_url_and_beside_the_runs(store):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    box = by_key(at.sidebar.text_input, "session_nickname")
    assert box.value == "" and query(at, "name") is None
    box.input("  Mina   Park ").run()
    owner = at.session_state[Keys.OWNER]
    assert at.session_state[NICKNAME] == "Mina Park" and query(at, "name") == "Mina Park"
    assert store.nickname(owner) == "Mina Park"
    # A refresh: a new session with the same address keeps the token and the nickname.
    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT)
    fresh.query_params.update(session=owner, name="Mina Park")
    fresh.run()
    assert by_key(fresh.sidebar.text_input, "session_nickname").value == "Mina Park"
    assert fresh.session_state[Keys.OWNER] == owner and not fresh.sidebar.error


@pytest.mark.parametrize(
    ("typed", "reason"),
    [("<b>x</b>", "letters, digits"), ("a\u202eb", "letters, digits"), ("   ", "Type a nickname")],
)
def test_a_bad_nickname_is_explained_and_nothing_is_saved(store, typed, reason):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    by_key(at.sidebar.text_input, "session_nickname").input("민아").run()
    by_key(at.sidebar.text_input, "session_nickname").input(typed).run()
    assert any(reason in e.value for e in at.sidebar.error)
    assert by_key(at.sidebar.text_input, "session_nickname").value == typed  # kept, to be fixed
    assert at.session_state[NICKNAME] == "민아" and query(at, "name") == "민아"
    assert store.nickname(at.session_state[Keys.OWNER]) == "민아"


def test_a_bad_nickname_or_guessable_token_in_the_url_is_ignored(store):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(session="teacher", name="x" * 25)
    at.run()
    owner = at.session_state[Keys.OWNER]
    assert owner != "teacher" and len(owner) == 16 and at.session_state[NICKNAME] is None
    assert query(at, "session") == owner and not (store.root / "teacher").exists()
