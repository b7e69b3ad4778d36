"""The reader's language (URL, switch, browser) and the texts of the catalogs in it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Message,
    catalog,
    normalize_language,
    translate,
)

QUERY_KEY = "lang"
SWITCH_KEY = "app_language"
LANGUAGE_NAMES = {"en": "English", "ko": "한국어"}


def browser_language() -> str | None:
    """The first language the browser prefers, if the app speaks it."""
    locale = getattr(st.context, "locale", None)
    header = st.context.headers.get("Accept-Language", "") if st.context.headers else ""
    for candidate in [locale, *header.split(",")]:
        if candidate:
            return normalize_language(candidate.split(";")[0])
    return None


def language() -> str:
    """This session's language: the switch, else ?lang= in the URL, else the browser's, else English."""
    chosen = st.session_state.get(SWITCH_KEY)
    if chosen not in LANGUAGES:
        chosen = (
            normalize_language(st.query_params.get(QUERY_KEY))
            or browser_language()
            or DEFAULT_LANGUAGE
        )
        st.session_state[SWITCH_KEY] = chosen
    return chosen


def t(key: str, **params: Any) -> str:
    """The text of a catalog key in this session's language."""
    return translate(key, language(), **params)


def option_labels(pattern: str) -> Callable[[Any], str]:
    """A widget's format_func: option x shows as the text of key pattern.format(x), or as str(x)
    when there is no such key. The language is fixed now, because Streamlit (and AppTest, outside
    the script run) may call the function later."""
    chosen, known = language(), catalog(DEFAULT_LANGUAGE)

    def label(option: Any) -> str:
        key = pattern.format(option)
        return translate(key, chosen) if key in known else str(option)

    return label


def tm(message: Message | Exception) -> str:
    """A Message (or an error that carries one) in this session's language."""
    message = getattr(message, "message", message)
    return message.render(language()) if isinstance(message, Message) else str(message)


def language_switch() -> None:
    """English / 한국어, where the caller draws it (the sidebar); the choice goes to the URL as
    ?lang= (once a run: `t` is called dozens of times a run, and reading the URL is not free).

    A radio, not a segmented control: Streamlit looks for an emoji at the start of every
    segmented-control option that is not plain ASCII, and its first such look loads its emoji
    catalog, ~0.2 s of the first visit of a fresh server.
    """
    chosen = language()
    if st.query_params.get(QUERY_KEY) != chosen:
        st.query_params[QUERY_KEY] = chosen  # a refresh or a shared link keeps the language
    st.radio(
        "Language / 언어",
        LANGUAGES,
        format_func=LANGUAGE_NAMES.__getitem__,
        key=SWITCH_KEY,
        horizontal=True,
        label_visibility="collapsed",
    )


def relabel_after_language_switch(*keys: str) -> None:
    """Call before widgets whose option labels are translated: after a language switch, set their
    (language-neutral) values again, so that the browser shows the options in the new language
    (it keeps the label it has while the value itself stays valid)."""
    chosen = language()
    for key in keys:
        marker = f"{key}__language"
        if st.session_state.get(marker, chosen) != chosen and key in st.session_state:
            st.session_state[key] = st.session_state[key]
        st.session_state[marker] = chosen


def tab_labels(key: str, *label_keys: str) -> list[str]:
    """The labels of a keyed st.tabs in this language. Streamlit keeps the open tab by its label,
    so a tab opened in another language is looked up there and stays open under its new label."""
    labels = [t(label_key) for label_key in label_keys]
    open_label = st.session_state.get(key)
    if open_label is not None and open_label not in labels:
        for other in LANGUAGES:
            translated = [translate(label_key, other) for label_key in label_keys]
            if open_label in translated:
                st.session_state[key] = labels[translated.index(open_label)]
                break
    return labels
