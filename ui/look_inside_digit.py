"""The digit Look inside shows: chosen there, or sent from Mistakes and Draw (no TensorFlow here)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui.navigation import switch_page
from ui.state import Keys


def chosen_digit() -> int | np.ndarray:
    """The digit to look at: a test index, or a drawing sent from the Draw page."""
    return st.session_state.setdefault(Keys.LOOK_INSIDE_DIGIT, 0)


def choose_digit(digit: int | np.ndarray) -> None:
    st.session_state[Keys.LOOK_INSIDE_DIGIT] = digit


def open_look_inside(digit: int | np.ndarray) -> None:
    """Select a digit and go to the Look inside page (for buttons on other pages)."""
    choose_digit(digit)
    switch_page("look_inside")
