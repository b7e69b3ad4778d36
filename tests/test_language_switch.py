"""Which language a session reads: ?lang= in the URL, the sidebar switch, else the browser's."""

from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

import ui.i18n
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_page
from tests.i18n_checks import english_sentences
from ui.session import NICKNAME_INPUT


def first_run(lang: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if lang:
        at.query_params["lang"] = lang
    return at.run()


def test_lang_ko_in_the_url_shows_korean():
    at = first_run("ko")
    assert not at.exception
    assert at.title[0].value == "MNIST 손글씨 숫자"
    assert [s.value for s in at.sidebar.subheader] == ["현재 모델"]
    assert english_sentences(at) == []


def test_without_lang_the_app_speaks_english_and_says_so_in_the_url():
    at = first_run()
    assert at.title[0].value == "The MNIST digits"
    assert at.query_params["lang"] == "en"


def test_an_unknown_lang_falls_back_to_english():
    assert first_run("fr").title[0].value == "The MNIST digits"


def test_the_switch_changes_the_language_and_the_url():
    at = first_run("en")
    switch = by_key(at.sidebar.radio, ui.i18n.SWITCH_KEY)
    assert switch.value == "en"
    switch.set_value("ko").run()
    assert at.title[0].value == "MNIST 손글씨 숫자"
    assert at.query_params["lang"] == "ko"
    # The choice stays when the learner moves to another page of the same session.
    at = open_page("build", at)
    assert at.title[0].value == "신경망 만들기" and at.query_params["lang"] == "ko"
    by_key(at.sidebar.radio, ui.i18n.SWITCH_KEY).set_value("en").run()
    assert at.title[0].value == "Build a network" and at.query_params["lang"] == "en"


def _leaves(node):
    children = getattr(node, "children", None)
    if not children:
        yield node
        return
    for child in children.values() if isinstance(children, dict) else children:
        yield from _leaves(child)


@pytest.mark.parametrize("page", ["inspect", "runs", "evaluate", "class_view"])
def test_a_page_that_ends_early_keeps_the_sidebar_switches(page):
    """These pages end early here (no model, no runs, no file, no teacher key); the language
    switch and the nickname box, drawn after the page, are still there and still work."""
    at = open_page(page)
    assert at.info, "the page did not end early with its hint"
    # In their place at the top of the sidebar, above the active model.
    kinds = [node.type for node in _leaves(at.sidebar)]
    assert kinds[:3] == ["radio", "text_input", "subheader"], kinds
    by_key(at.sidebar.radio, ui.i18n.SWITCH_KEY).set_value("ko").run()
    assert at.info and not english_sentences(at), english_sentences(at)
    assert by_key(at.sidebar.text_input, NICKNAME_INPUT).value == ""
    by_key(at.sidebar.text_input, NICKNAME_INPUT).input("Mina").run()
    assert at.query_params["name"] == "Mina" and at.query_params["lang"] == "ko"


@pytest.mark.parametrize(
    ("locale", "header", "expected"),
    [
        ("ko-KR", "", "ko"),
        (None, "ko-KR,ko;q=0.9,en-US;q=0.8", "ko"),
        (None, "ko", "ko"),
        ("en-US", "ko-KR", "en"),  # the browser's own locale comes first
        (None, "en-GB,ko;q=0.5", "en"),
        (None, "fr-FR,ko;q=0.5", None),  # Korean is not first: English, the default
        (None, "", None),
    ],
)
def test_browser_language(monkeypatch, locale, header, expected):
    headers = {"Accept-Language": header} if header else {}
    context = SimpleNamespace(locale=locale, headers=headers)
    monkeypatch.setattr(ui.i18n, "st", SimpleNamespace(context=context))
    assert ui.i18n.browser_language() == expected


def test_an_open_tab_stays_open_after_a_language_switch():
    """Streamlit keeps a tab open by its label: the Build page's code tab, opened in English,
    stays open under its Korean label (it fell back to the first tab)."""
    at = open_page("build")
    at.session_state["build_tabs"] = "Python code"
    at.run()
    assert at.code and "model.fit" in at.code[0].value
    by_key(at.sidebar.radio, ui.i18n.SWITCH_KEY).set_value("ko").run()
    assert not at.exception
    assert at.session_state["build_tabs"] == "Python 코드"
    assert at.code and "model.fit" in at.code[0].value
