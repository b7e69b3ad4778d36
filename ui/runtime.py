"""Server-process settings for Keras under Streamlit, and TensorFlow imported off the first page's path."""

from __future__ import annotations

import importlib
import sys
import threading

import streamlit as st
from streamlit import delta_generator
from streamlit.runtime.scriptrunner import script_runner


def keep_keras_state_between_runs() -> None:
    """Stop Streamlit from calling `keras.backend.clear_session()` after every script run.

    Streamlit does it for the graph-mode Keras of old. With Keras 3 it drops TensorFlow's kernel
    cache and runs a full garbage collection after every rerun, each fragment refresh included,
    under a training that runs in another thread (watching it made training 3-8x slower, see
    bench/train_overhead.py), and it resets Keras's layer-name counters in the middle of a build.
    """
    if not hasattr(script_runner, "_clean_problem_modules"):
        raise RuntimeError("Streamlit changed: review ui/runtime.py for this Streamlit version.")
    script_runner._clean_problem_modules = _no_cleanup


def _no_cleanup() -> None:
    """Models are freed like any Python object once no session holds them."""


def skip_repl_check() -> None:
    """Spare the first visit of a fresh server Streamlit's check for a Python REPL.

    On the first element a server process draws, Streamlit walks the whole call stack, reading
    the source of every frame, to warn people who imported it in a REPL: ~0.2 s before the first
    heading (seen with py-spy). Under `streamlit run` that warning is never shown.
    """
    if not hasattr(delta_generator, "_use_warning_has_been_displayed"):
        raise RuntimeError("Streamlit changed: review ui/runtime.py for this Streamlit version.")
    delta_generator._use_warning_has_been_displayed = True


# What pages that train, build or load models import; the light pages (Data, Runs, Mistakes, Draw)
# need none of it until a model exists, and by then it has been imported.
HEAVY_MODULES = ("keras", "core.training.job", "core.build", "core.persist", "core.summary")

_loader_lock = threading.Lock()
_loader: threading.Thread | None = None
_loaded = threading.Event()


def tensorflow_loaded() -> bool:
    """True once TensorFlow, Keras and the modules that use them are imported."""
    return _loaded.is_set() or all(name in sys.modules for name in HEAVY_MODULES)


def load_tensorflow_in_background() -> None:
    """Start importing TensorFlow in a daemon thread, once per server process.

    Called after the first page has been drawn: the import takes seconds of CPU (and the GIL),
    and the first visitor should see their page before it starts.
    """
    global _loader
    with _loader_lock:
        if _loader is None and not tensorflow_loaded():
            _loader = threading.Thread(target=_import_heavy, name="import-tensorflow", daemon=True)
            _loader.start()


def wait_for_tensorflow(message: str) -> None:
    """Block until TensorFlow is imported, with a spinner saying so when it is not yet."""
    if tensorflow_loaded():
        return
    load_tensorflow_in_background()
    with st.spinner(message, show_time=True):
        if _loader is not None:
            _loader.join()
        _import_heavy()  # re-raises here, in the page, if the background import failed


def _import_heavy() -> None:
    for name in HEAVY_MODULES:
        importlib.import_module(name)
    _loaded.set()
