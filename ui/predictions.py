"""The active model's predictions on the 10k test digits, computed once per model and session."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.predict import predict_probabilities
from ui.i18n import t
from ui.resources import mnist
from ui.state import ActiveModel, Keys


def test_probabilities(active: ActiveModel) -> np.ndarray:
    """(10000, 10) class probabilities of the active model; cached until another model is active."""
    cache: dict[str, np.ndarray] = st.session_state.setdefault(Keys.PREDICTIONS, {})
    if active.uid not in cache:
        with st.spinner(t("predictions.spinner")):
            probabilities = predict_probabilities(active.model, mnist().x_test)
        cache.clear()  # one model's predictions per session is enough
        cache[active.uid] = probabilities
    return cache[active.uid]
