"""Digit Lab: entry point. Page config, navigation and the active-model sidebar; no logic."""

import streamlit as st

from ui.sidebar import active_model_sidebar
from ui.state import init_session_state

st.set_page_config(page_title="Digit Lab", page_icon=":material/draw:", layout="wide")
init_session_state()

navigation = st.navigation(
    [
        st.Page("pages/data.py", title="Data", icon=":material/dataset:", default=True),
        st.Page("pages/build.py", title="Build", icon=":material/construction:"),
        st.Page("pages/inspect.py", title="Inspect", icon=":material/account_tree:"),
        st.Page("pages/mistakes.py", title="Mistakes", icon=":material/error:"),
        st.Page("pages/draw.py", title="Draw", icon=":material/draw:"),
    ]
)
# The sidebar is drawn after the page, so it already shows a model the page just made active.
sidebar_slot = st.sidebar.container()
try:
    navigation.run()
finally:
    with sidebar_slot:
        active_model_sidebar()
