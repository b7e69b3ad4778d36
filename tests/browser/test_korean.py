"""The app in Korean in a real browser: ?lang=ko, the sidebar switch, a browser that prefers Korean.

Screenshots of each page go to test-artifacts/korean-*.png for people to look at.
"""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from core.i18n import translate
from tests.browser.conftest import assert_no_exception, choose, screenshot, wait_for_app
from tests.browser.test_training_and_drawing import draw_stroke

pytestmark = pytest.mark.browser

# Every page in navigation order: its Korean navigation title and heading come from the catalogs.
PAGES = ("data", "lessons", "build", "inspect", "train", "runs", "save", "evaluate", "mistakes")
PAGES += ("draw", "look_inside", "class")
KOREAN_HEADINGS = {translate(f"nav.{p}", "ko"): translate(f"{p}.title", "ko") for p in PAGES}
SCREENSHOTS = {  # the pages visited after Build, with the model it made active
    translate(f"nav.{p}", "ko"): p
    for p in ("lessons", "inspect", "train", "runs", "save", "evaluate", "mistakes", "draw")
    + ("look_inside", "class")
}
HANGUL = re.compile(r"[\uac00-\ud7a3]")

# Draws a Hangul syllable and a code point no font has; a browser without a Korean font draws
# both as the same empty box.
GLYPH_CHECK = """() => {
    const draw = (text) => {
        const canvas = document.createElement('canvas');
        canvas.width = 64; canvas.height = 64;
        const context = canvas.getContext('2d');
        context.font = '48px sans-serif';
        context.fillText(text, 4, 52);
        return Array.from(context.getImageData(0, 0, 64, 64).data).join(',');
    };
    return draw('\\uD55C') !== draw('\\u{10FFFD}') && draw('\\uD55C') !== draw('\\uAC00');
}"""
# True when neither the page nor the main area is wider than the window (nothing overflows).
NO_OVERFLOW = """() => {
    const root = document.documentElement;
    const main = document.querySelector('[data-testid=stMain]');
    return root.scrollWidth <= root.clientWidth && (!main || main.scrollWidth <= main.clientWidth);
}"""


def go_to_korean(page: Page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    expect(page.locator("h1").first).to_have_text(KOREAN_HEADINGS[title], timeout=90_000)
    wait_for_app(page)
    page.locator("h1").first.scroll_into_view_if_needed()  # the last page may have been scrolled


def assert_korean_page(page: Page) -> None:
    assert_no_exception(page)
    assert "lang=ko" in page.url
    assert HANGUL.search(page.locator("[data-testid=stMain]").inner_text())
    assert page.evaluate(NO_OVERFLOW), f"something is wider than the window on {page.url}"


def test_pages_in_korean_render_hangul(page, app_url):
    page.goto(f"{app_url}/?lang=ko")
    wait_for_app(page)
    assert page.evaluate(GLYPH_CHECK), "Chromium has no font for Hangul: install fonts-noto-cjk"
    expect(page.locator("h1").first).to_have_text("MNIST 손글씨 숫자")
    assert_korean_page(page)
    screenshot(page, "korean-data")
    go_to_korean(page, "모델 만들기")
    page.get_by_role("button", name="모델 만들기", exact=True).click()
    expect(page.get_by_text("이제 이 모델이 현재 모델입니다")).to_be_visible(timeout=90_000)
    wait_for_app(page)
    assert_korean_page(page)
    screenshot(page, "korean-build")
    for title, name in SCREENSHOTS.items():
        go_to_korean(page, title)
        if name == "draw":  # the canvas component loads after the page's own elements
            expect(page.locator("canvas").first).to_be_visible(timeout=60_000)
        assert_korean_page(page)
        screenshot(page, f"korean-{name}")
    go_to_korean(page, "구조 보기")
    page.get_by_role("tab", name="그래프").click()
    expect(page.get_by_test_id("stGraphVizChart").locator("svg")).to_contain_text("출력")
    screenshot(page, "korean-graph")


def test_the_switch_changes_language_and_url_and_survives_a_refresh(page, app_url):
    page.goto(f"{app_url}/?lang=en")
    wait_for_app(page)
    expect(page.locator("h1").first).to_have_text("The MNIST digits")
    page.get_by_test_id("stSidebar").get_by_text("한국어", exact=True).click()
    expect(page.locator("h1").first).to_have_text("MNIST 손글씨 숫자", timeout=90_000)
    wait_for_app(page)
    expect(page).to_have_url(re.compile(r"lang=ko"))
    expect(page.get_by_test_id("stSidebarNav")).to_contain_text("모델 만들기")
    page.reload()
    wait_for_app(page)
    expect(page.locator("h1").first).to_have_text("MNIST 손글씨 숫자")
    page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
    expect(page.locator("h1").first).to_have_text("The MNIST digits", timeout=90_000)
    expect(page).to_have_url(re.compile(r"lang=en"))


@pytest.mark.parametrize(
    ("locale", "heading"), [("ko-KR", "MNIST 손글씨 숫자"), ("fr-FR", "The MNIST digits")]
)
def test_the_browser_language_decides_without_lang(browser: Browser, app_url, locale, heading):
    context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(app_url)
        wait_for_app(page)
        expect(page.locator("h1").first).to_have_text(heading)
        expect(page).to_have_url(re.compile("lang=" + ("ko" if locale == "ko-KR" else "en")))
    finally:
        context.close()


def test_look_inside_from_draw_stays_korean(page, app_url):
    """The Look inside button (st.switch_page) used to switch a Korean session to English."""
    page.goto(f"{app_url}/?lang=ko")
    wait_for_app(page)
    go_to_korean(page, "모델 만들기")
    page.get_by_role("button", name="모델 만들기", exact=True).click()
    expect(page.get_by_text("이제 이 모델이 현재 모델입니다")).to_be_visible(timeout=90_000)
    wait_for_app(page)
    go_to_korean(page, translate("nav.draw", "ko"))
    expect(page.locator("canvas").first).to_be_visible(timeout=60_000)
    draw_stroke(page, [(140, 40), (140, 120), (141, 200), (141, 240)])
    button = page.get_by_role("button", name=translate("look_inside.open", "ko"))
    expect(button).to_be_visible(timeout=30_000)
    wait_for_app(page)
    button.click()
    title = translate("look_inside.title", "ko")
    expect(page.locator("h1").first).to_have_text(title, timeout=90_000)
    wait_for_app(page)
    expect(page).to_have_url(re.compile(r"lang=ko"))
    expect(page).to_have_url(re.compile(r"session=[0-9a-f]{16}"))
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text(translate("look_inside.your_drawing", "ko"))
    expect(page.get_by_test_id("stSidebarNav")).to_contain_text("모델 만들기")
    assert_korean_page(page)


@pytest.mark.parametrize(
    ("path", "option", "chosen"),
    [
        ("build", "presets.cnn.title", "presets.cnn.title"),
        ("lessons", "", "lessons.first_mlp.title"),
    ],
)
def test_a_chosen_option_follows_a_language_switch(page, app_url, path, option, chosen):
    # The browser keeps the label a selectbox shows while its value stays valid: without relabelling,
    # the chosen preset or lesson stayed in English after a switch to Korean.
    page.goto(f"{app_url}/{path}?lang=en")
    wait_for_app(page)
    if option:
        choose(page, "Start from a preset", translate(option, "en"))
    box = page.get_by_test_id("stSelectbox").first.locator("input")
    assert translate(chosen, "en") in box.input_value()
    page.get_by_test_id("stSidebar").get_by_text("한국어", exact=True).click()
    expect(page.locator("h1").first).to_have_text(translate(f"{path}.title", "ko"), timeout=90_000)
    wait_for_app(page)
    expect(box).to_have_value(re.compile(re.escape(translate(chosen, "ko"))))
