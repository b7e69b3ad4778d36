"""The server leaves Keras's global state alone between script runs."""

import keras
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import APP, TIMEOUT


def test_reruns_do_not_clear_the_keras_session(monkeypatch):
    # Streamlit calls keras.backend.clear_session() after every run unless the app stops it:
    # under a training in another thread that made every live-view refresh very expensive.
    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append(a))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.run()
    assert not at.exception
    assert calls == []
