"""The app's pages for `st.navigation`, made once per session and language."""

from __future__ import annotations

from contextlib import suppress
from typing import NoReturn

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


class PageDone(Exception):
    """Raised by `end_page`: the page has drawn all it has to say."""


def end_page() -> NoReturn:
    """End the page here, like `st.stop()`, but let the app draw what comes after the page.

    After `st.stop()` Streamlit refuses every further element of the run, and the sidebar's
    language switch and nickname box are drawn after the page (so that a fresh visitor gets the
    page's heading first).
    """
    raise PageDone


def switch_page(script: str) -> NoReturn:
    """Go to app_pages/<script>.py as a button's action, keeping the session's URL.

    `st.switch_page` clears the query parameters (?lang=, ?session=, ?name=) and, on a page
    change it starts itself, every widget's value, the language switch's included: without them
    the next page would fall back to the browser's language.
    """
    st.switch_page(f"app_pages/{script}.py", query_params=st.query_params.to_dict())


def run_page(page: StreamlitPage) -> None:
    """Run the chosen page's script up to its end or its `end_page()`."""
    with suppress(PageDone):
        page.run()
