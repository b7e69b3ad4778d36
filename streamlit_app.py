"""Digit Lab: entry point. Page config, navigation and the active-model sidebar; no logic."""

import streamlit as st

from ui.i18n import language_switch, t
from ui.runtime import (
    keep_keras_state_between_runs,
    load_tensorflow_in_background,
    skip_repl_check,
    wait_for_tensorflow,
)
from ui.session import adopt_finished_job, nickname_input, owner_token
from ui.sidebar import active_model_sidebar
from ui.state import init_session_state

# Pages whose script imports TensorFlow; the others draw at once on a fresh server.
NEEDS_TENSORFLOW = {"build", "inspect", "train", "save", "evaluate", "look_inside", "class_view"}

keep_keras_state_between_runs()
skip_repl_check()
st.set_page_config(page_title="Digit Lab", page_icon=":material/draw:", layout="wide")
init_session_state()
owner_token()  # keep ?session=... in the URL so that a refresh finds this session's runs
adopt_finished_job()
language_switch()
# Korean wraps between words, as Korean text is set, never inside one (narrow captions, tables).
st.html("<style>.stApp { word-break: keep-all; overflow-wrap: anywhere; }</style>")
nickname_input()  # asked once; kept in ?name=... and beside the session's runs for the teacher

navigation = st.navigation(
    [
        st.Page("app_pages/data.py", title=t("nav.data"), icon=":material/dataset:", default=True),
        st.Page("app_pages/lessons.py", title=t("nav.lessons"), icon=":material/school:"),
        st.Page("app_pages/build.py", title=t("nav.build"), icon=":material/construction:"),
        st.Page("app_pages/inspect.py", title=t("nav.inspect"), icon=":material/account_tree:"),
        st.Page("app_pages/train.py", title=t("nav.train"), icon=":material/model_training:"),
        st.Page("app_pages/runs.py", title=t("nav.runs"), icon=":material/history:"),
        st.Page("app_pages/save.py", title=t("nav.save"), icon=":material/download:"),
        st.Page("app_pages/evaluate.py", title=t("nav.evaluate"), icon=":material/fact_check:"),
        st.Page("app_pages/mistakes.py", title=t("nav.mistakes"), icon=":material/error:"),
        st.Page("app_pages/draw.py", title=t("nav.draw"), icon=":material/draw:"),
        st.Page(
            "app_pages/look_inside.py", title=t("nav.look_inside"), icon=":material/visibility:"
        ),
        st.Page("app_pages/class_view.py", title=t("nav.class"), icon=":material/groups:"),
    ]
)
# The sidebar is drawn before the page (it stays if the page stops early with st.stop) and again
# after it, so that it already shows a model the page has just made active.
sidebar = st.sidebar.empty()
with sidebar.container():
    active_model_sidebar()
if navigation.url_path in NEEDS_TENSORFLOW:
    wait_for_tensorflow(t("loading.tensorflow"))
try:
    navigation.run()
finally:
    load_tensorflow_in_background()  # after the page is drawn: it never delays the first one
with sidebar.container():
    active_model_sidebar()
