"""The sidebar that every page shows: which model is active."""

from __future__ import annotations

import streamlit as st

from ui.i18n import t
from ui.state import active_model, has_runs


def active_model_sidebar() -> None:
    """Name, parameter count and origin of the active model, or how to get one."""
    st.subheader(t("sidebar.active_model"))
    active = active_model()
    if active is None:
        st.caption(t("sidebar.none_yet_runs" if has_runs() else "sidebar.none_yet"))
        return
    st.markdown(f"**{active.name}**")
    source = t(f"sidebar.source.{active.source}")
    st.caption(
        t("sidebar.parameters", count=active.model.count_params(), source=source)
        + (
            t("sidebar.test_accuracy", accuracy=active.test_accuracy)
            if active.test_accuracy
            else ""
        )
    )
