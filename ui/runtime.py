"""Server-process settings for Keras under Streamlit that Streamlit has no option for."""

from __future__ import annotations

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
