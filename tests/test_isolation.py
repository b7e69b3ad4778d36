"""Sessions are isolated: nothing a learner can send reaches another session's job, model or runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.runtime.state.session_state import SessionState
from streamlit.testing.v1 import AppTest

from core.runs import InvalidIdError, RunStore, is_owner_token, new_owner_token
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_page, texts
from tests.test_pages_training import JOB_TIMEOUT, built_session, train_quickly
from ui.session import NICKNAME
from ui.state import Keys
from ui.teacher import SIGNED_IN


@pytest.fixture(scope="module")
def store() -> RunStore:
    return RunStore(Path(os.environ["DIGITLAB_RUNS_DIR"]))


def session_with(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query)
    return at.run()


def near_misses(token: str) -> list[str]:
    """Tokens a learner could try from another's: one digit changed, cut short, upper case, padded."""
    flipped = ("0" if token[0] != "0" else "1") + token[1:]
    return [flipped, token[:15], token.upper(), f"{token}0", f"{token}/.."]


def test_another_session_cannot_see_or_stop_a_running_training(store):
    alice = built_session("train")
    by_key(alice.number_input, "train_epochs").set_value(100).run()  # far longer than this test
    by_key(alice.selectbox, "train_subset").select(10_000).run()
    by_key(alice.button, "train_start").click().run()
    job = alice.session_state[Keys.JOB]
    token = alice.session_state[Keys.OWNER]
    try:
        for guess in [None, *near_misses(token)]:
            bob = (
                session_with(session=guess)
                if guess
                else AppTest.from_file(APP, default_timeout=TIMEOUT).run()
            )
            assert bob.session_state[Keys.OWNER] != token, guess
            bob = open_page("train", bob)
            assert bob.session_state[Keys.JOB] is None and "is training" not in texts(bob)
            assert not any(b.key == "train_stop" for b in bob.button)
            bob = open_page("runs", bob)
            assert "No runs yet" in texts(bob), guess
        assert job.status in ("running", "queued") and job.owner == token
    finally:
        job.stop()
        assert job.wait(JOB_TIMEOUT)


def test_a_finished_training_becomes_active_only_in_its_own_session(store):
    alice = train_quickly(built_session("train"))
    bob = open_page("runs")
    assert alice.session_state[Keys.JOB].wait(JOB_TIMEOUT)
    alice.run()
    bob.run()
    assert alice.session_state[Keys.ACTIVE_MODEL].source == "trained"
    assert bob.session_state[Keys.ACTIVE_MODEL] is None and "No runs yet" in texts(bob)
    (run,) = store.list_runs(alice.session_state[Keys.OWNER])
    bob_token = bob.session_state[Keys.OWNER]
    # Bob knows Alice's run id (say, read off the projector): under his own token it is not there.
    with pytest.raises(FileNotFoundError):
        store.load_run(bob_token, run.run_id)
    with pytest.raises(FileNotFoundError):
        store.load_model(bob_token, run.run_id)
    for crafted in (f"../{alice.session_state[Keys.OWNER]}/{run.run_id}", f"{run.run_id}/.."):
        with pytest.raises(InvalidIdError):
            store.load_model(bob_token, crafted)


def test_widget_values_a_client_sends_cannot_set_session_only_keys():
    """A browser may send any widget id with any value; keys the app sets itself ignore them."""
    crafted = WidgetStates()
    for key, value in (
        (Keys.OWNER, "0123456789abcdef"),
        (SIGNED_IN, "0" * 64),
        (NICKNAME, "someone else"),
        (Keys.JOB, "x"),
    ):
        widget = crafted.widgets.add()
        widget.id, widget.string_value = key, value

    def read(state: SessionState, key: str):
        try:
            return state[key]
        except KeyError:
            return None

    fresh = SessionState()
    fresh.on_script_will_rerun(crafted)
    assert all(read(fresh, w.id) is None for w in crafted.widgets)
    signed_out = SessionState()
    signed_out[Keys.OWNER] = "fedcba9876543210"
    signed_out.on_script_will_rerun(crafted)
    assert read(signed_out, Keys.OWNER) == "fedcba9876543210"
    assert read(signed_out, SIGNED_IN) is None


def test_owner_tokens_are_unguessable_and_only_their_shape_is_taken_from_the_url():
    tokens = {new_owner_token() for _ in range(1000)}
    assert len(tokens) == 1000 and all(is_owner_token(t) for t in tokens)
    for guessable in ("a", "teacher", "0", "0" * 15, "0" * 17, "ABCDEF0123456789", "g" * 16):
        assert not is_owner_token(guessable)
        at = session_with(session=guessable)
        assert at.session_state[Keys.OWNER] != guessable
