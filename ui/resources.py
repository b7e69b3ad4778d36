"""Things loaded once per server process and shared, read-only, by every session."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from core.engine import TrainingEngine, engine_kind
from core.engine.threads import ThreadEngine
from core.runs import RunStore
from ui.i18n import t

if TYPE_CHECKING:  # NumPy: only pages that show data need it, after their heading
    from core.data import Mnist

ROOT = Path(__file__).resolve().parent.parent


def mnist() -> Mnist:
    """The 70,000 MNIST digits, verified by sha256; never mutate (the arrays are read-only)."""
    if _mnist_loaded.is_set():
        return _cached_mnist()
    with st.spinner(t("loading.mnist")):
        data = _cached_mnist()
    _mnist_loaded.set()
    return data


_mnist_loaded = threading.Event()  # a spinner only until the first load: it costs an element


@st.cache_resource(show_spinner=False)
def _cached_mnist() -> Mnist:
    from core.data import load_mnist

    return load_mnist()


@st.cache_resource
def engine() -> TrainingEngine:
    """Where this server's trainings run: threads of this process, queued first come, first served;
    DIGITLAB_MAX_TRAININGS caps trainings at once (default: the core count). With
    DIGITLAB_RAY_ADDRESS set, the Ray cluster there (settings: core/engine/ray_engine.py)."""
    if engine_kind() == "ray":
        from core.engine.ray_engine import RayEngine  # Ray is imported only here

        return RayEngine()
    limit = os.environ.get("DIGITLAB_MAX_TRAININGS", "").strip()
    if limit and not limit.isdigit():
        logging.getLogger(__name__).warning(
            "DIGITLAB_MAX_TRAININGS=%r is not a whole number; using the core count", limit
        )
    return ThreadEngine(mnist, int(limit) if limit.isdigit() else None)


@st.cache_resource
def run_store() -> RunStore:
    """Where runs are saved: DIGITLAB_RUNS_DIR, by default runs/ beside the app."""
    return RunStore(Path(os.environ.get("DIGITLAB_RUNS_DIR", ROOT / "runs")))
