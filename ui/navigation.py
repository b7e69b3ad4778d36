"""The app's pages for `st.navigation`, made once per session and language."""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from ui.i18n import language, t

# (script in app_pages/, catalog key of its title, icon); the first is the default page.
PAGES = (
    ("data", "nav.data", "dataset"),
    ("lessons", "nav.lessons", "school"),
    ("build", "nav.build", "construction"),
    ("inspect", "nav.inspect", "account_tree"),
    ("train", "nav.train", "model_training"),
    ("runs", "nav.runs", "history"),
    ("save", "nav.save", "download"),
    ("evaluate", "nav.evaluate", "fact_check"),
    ("mistakes", "nav.mistakes", "error"),
    ("draw", "nav.draw", "draw"),
    ("look_inside", "nav.look_inside", "visibility"),
    ("class_view", "nav.class", "groups"),
)
PAGES_KEY = "navigation_pages"  # {language: [StreamlitPage]}


def app_pages() -> list[StreamlitPage]:
    """Every page, titled in the session's language.

    `st.Page` resolves its script's path on disk, a dozen system calls each: with a class on one
    server that was ~9% of a page view's script time (py-spy), so a session makes its pages once
    per language and hands the same ones to `st.navigation` on every run.
    """
    made = st.session_state.setdefault(PAGES_KEY, {})
    chosen = language()
    if chosen not in made:
        made[chosen] = [
            st.Page(
                f"app_pages/{script}.py",
                title=t(title),
                icon=f":material/{icon}:",
                default=index == 0,
            )
            for index, (script, title, icon) in enumerate(PAGES)
        ]
    return made[chosen]
