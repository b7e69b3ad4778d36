"""The server leaves Keras's global state alone between script runs."""

import subprocess
import sys
import textwrap

import keras
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import APP, TIMEOUT
from tests.conftest import ROOT


def test_reruns_do_not_clear_the_keras_session(monkeypatch):
    # Streamlit calls keras.backend.clear_session() after every run unless the app stops it:
    # under a training in another thread that made every live-view refresh very expensive.
    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append(a))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.run()
    assert not at.exception
    assert calls == []


def run_fresh(code: str) -> str:
    """Run Python code in a fresh interpreter (nothing imported yet) and return its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_light_pages_never_import_tensorflow():
    # A fresh server draws these pages without waiting seconds for TensorFlow.
    out = run_fresh(
        """
        import sys
        from streamlit.testing.v1 import AppTest
        import ui.runtime
        ui.runtime.load_tensorflow_in_background = lambda: None
        at = AppTest.from_file("streamlit_app.py", default_timeout=120).run()
        assert not at.exception, at.exception
        titles = [at.title[0].value]
        for page in ("runs", "mistakes", "draw"):
            at.switch_page(f"app_pages/{page}.py")
            at.run()
            assert not at.exception, at.exception
        print(titles, sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
        """
    )
    assert out.strip() == "['The MNIST digits'] []"


def test_the_app_imports_no_numpy_before_the_first_heading():
    # A fresh server's first visitor waits for every import before the Data page's heading:
    # NumPy (~0.15-0.3 s) comes after it (bench/first_visit.py).
    out = run_fresh(
        """
        import ast, importlib, sys
        import streamlit
        tree = ast.parse(open("streamlit_app.py").read())
        modules = [node.module for node in tree.body if isinstance(node, ast.ImportFrom)]
        for module in modules:
            importlib.import_module(module)
        print(len(modules), "numpy" in sys.modules)
        """
    )
    imported, numpy_loaded = out.split()
    assert int(imported) >= 5 and numpy_loaded == "False"


def test_tensorflow_loads_in_the_background_and_pages_wait_for_it():
    out = run_fresh(
        """
        import sys
        from streamlit.testing.v1 import AppTest
        import ui.runtime as runtime
        at = AppTest.from_file("streamlit_app.py", default_timeout=120).run()
        started = runtime._loader is not None and runtime._loader.name == "import-tensorflow"
        at.switch_page("app_pages/build.py")
        at.run()
        assert not at.exception, at.exception
        print(started, runtime.tensorflow_loaded(), "keras" in sys.modules)
        """
    )
    assert out.strip() == "True True True"
