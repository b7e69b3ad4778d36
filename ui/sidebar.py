"""The sidebar that every page shows: which model is active."""

from __future__ import annotations

import streamlit as st

from ui.state import active_model

SOURCE_LABELS = {"built": "built, untrained", "trained": "trained", "uploaded": "uploaded"}


def active_model_sidebar() -> None:
    """Name, parameter count and origin of the active model, or how to get one."""
    st.subheader("Active model")
    active = active_model()
    if active is None:
        st.caption("None yet: build one on the Build page.")
        return
    st.markdown(f"**{active.name}**")
    st.caption(
        f"{active.model.count_params():,} parameters · {SOURCE_LABELS[active.source]}"
        + (f" · test accuracy {active.test_accuracy:.2%}" if active.test_accuracy else "")
    )
