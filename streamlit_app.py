"""Digit Lab: entry point. Page config, navigation and the active-model sidebar; no logic."""

import sys

import streamlit as st
from streamlit.runtime.scriptrunner import RerunException, StopException

from ui.durable import keep_session, restore_session
from ui.i18n import language_switch, t
from ui.navigation import app_pages, run_page
from ui.runtime import (
    keep_keras_state_between_runs,
    load_tensorflow_in_background,
    skip_repl_check,
    wait_for_tensorflow,
)
from ui.session import adopt_finished_job, nickname, nickname_input, owner_token
from ui.sidebar import active_model_sidebar
from ui.state import active_model, init_session_state

# Pages whose script imports TensorFlow; the others draw at once on a fresh server.
NEEDS_TENSORFLOW = {"build", "inspect", "train", "save", "evaluate", "look_inside", "class_view"}

keep_keras_state_between_runs()
skip_repl_check()
st.set_page_config(page_title="Digit Lab", page_icon="✏️", layout="wide")
init_session_state()
owner_token()  # keep ?session=... in the URL so that a refresh finds this session's runs
restore_session()  # on a refresh: the active model and the pages' settings, from the runs folder
adopt_finished_job()
nickname()  # the learner's nickname from ?name=..., before the page uses it
# Korean wraps between words, as Korean text is set, never inside one (narrow captions, tables).
st.html("<style>.stApp { word-break: keep-all; overflow-wrap: anywhere; }</style>")

navigation = st.navigation(app_pages())
# The sidebar's switches are drawn after the page, into their place at its top: a fresh
# visitor's browser then draws the page's heading before it fetches their widgets' code. The
# active model is drawn before the page, and again after it if the page made another one active.
controls = st.sidebar.container()
sidebar = st.sidebar.empty()
with sidebar.container():
    active_model_sidebar()
shown_model = active_model()
if navigation.url_path in NEEDS_TENSORFLOW:
    wait_for_tensorflow(t("loading.tensorflow"))
try:
    run_page(navigation)
finally:
    # Also after a page's error; not when Streamlit reruns or stops the run (it takes no more).
    if not isinstance(sys.exception(), (RerunException, StopException)):
        with controls:
            language_switch()
            nickname_input()  # asked once; kept in ?name=... beside the session's runs
    load_tensorflow_in_background()  # after the page is drawn: it never delays the first one
if active_model() is not shown_model:
    with sidebar.container():
        active_model_sidebar()
keep_session()  # what a refresh brings back, written when it changed
