"""Things loaded once per server process and shared, read-only, by every session."""

from __future__ import annotations

import streamlit as st

from core.data import Mnist, load_mnist


@st.cache_resource(show_spinner="Loading MNIST…")
def mnist() -> Mnist:
    """The 70,000 MNIST digits, verified by sha256; never mutate (the arrays are read-only)."""
    return load_mnist()
