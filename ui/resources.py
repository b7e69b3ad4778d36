"""Things loaded once per server process and shared, read-only, by every session."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from core.data import Mnist, load_mnist
from core.runs import RunStore
from core.scheduler import TrainingScheduler

ROOT = Path(__file__).resolve().parent.parent


@st.cache_resource(show_spinner="Loading MNIST…")
def mnist() -> Mnist:
    """The 70,000 MNIST digits, verified by sha256; never mutate (the arrays are read-only)."""
    return load_mnist()


@st.cache_resource
def scheduler() -> TrainingScheduler:
    """One training queue per server; DIGITLAB_MAX_TRAININGS caps trainings at once (default: cores)."""
    limit = os.environ.get("DIGITLAB_MAX_TRAININGS")
    return TrainingScheduler(int(limit) if limit else None)


@st.cache_resource
def run_store() -> RunStore:
    """Where runs are saved: DIGITLAB_RUNS_DIR, by default runs/ beside the app."""
    return RunStore(Path(os.environ.get("DIGITLAB_RUNS_DIR", ROOT / "runs")))
