"""In real Chromium, in Korean, what a newcomer met in the first hour (issue 21, findings 5 to 9),
and drawing a digit with a finger on a phone (issue 21, item 5). Screenshots in test-artifacts/."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import (
    assert_no_exception,
    build_preset,
    choose,
    go_to,
    screenshot,
    start_training,
    wait_for_app,
)

pytestmark = pytest.mark.browser

KOREAN_HEADINGS = {
    "모델 만들기": "신경망 만들기",
    "학습": "학습",
    "저장": "모델 저장하기",
    "평가": "저장된 모델 평가",
    "오답": "오답 살펴보기",
    "그리기": "숫자 그리기",
}


@pytest.fixture(scope="module")
def korean(browser: Browser, app_url: str) -> Iterator[Page]:
    """One learner's tab: the MLP 512 tutorial built and trained on 1,000 digits, in Korean."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    build_preset(page, app_url, "Tutorial MLP 512 + Dropout (Adam)")
    go_to(page, "Train")
    start_training(page, "1,000 (seconds)", epochs=2)
    expect(page.get_by_text("Training finished")).to_be_visible(timeout=180_000)
    wait_for_app(page)
    page.get_by_text("한국어", exact=True).click()
    wait_for_app(page)
    yield page
    context.close()


def go(page: Page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    expect(page.locator("h1").first).to_contain_text(KOREAN_HEADINGS[title], timeout=90_000)
    wait_for_app(page)


def box(locator: Locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, locator
    return found


def overlap(a: dict, b: dict) -> bool:
    """Whether two bounding boxes share any area."""
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_the_file_uploader_speaks_korean(korean):
    go(korean, "평가")
    zone = korean.get_by_test_id("stFileUploaderDropzone")
    words = zone.evaluate(
        """zone => [...zone.querySelectorAll('button p, [data-testid=stFileUploaderDropzoneInstructions] span')]
        .map(e => [getComputedStyle(e).fontSize, getComputedStyle(e, '::after').content])"""
    )
    # Streamlit's own English words take no room; the catalog's Korean ones show in their place.
    assert words == [["0px", '"파일 올리기"'], ["0px", '"파일당 최대 50MB"']]
    screenshot(korean, "newcomer-evaluate-uploader-ko")


def test_the_canvas_toolbar_leaves_the_pen_width_slider_alone(korean):
    go(korean, "그리기")
    canvas = korean.get_by_test_id("stBidiComponentIsolated").first
    canvas.hover()
    toolbar = korean.locator(".dc-toolbar").first
    expect(toolbar).to_have_css("opacity", "1")
    time.sleep(0.5)  # its slide into place
    slider = korean.get_by_test_id("stSlider").first
    heading = korean.get_by_text("여기에 그리세요", exact=True)
    assert not overlap(box(toolbar), box(slider))
    assert not overlap(box(toolbar), box(heading))
    screenshot(korean, "newcomer-draw-toolbar-ko")


def test_save_s_load_lines_need_no_sideways_scroll(korean):
    go(korean, "저장")
    openers = korean.get_by_role("button", name="Python에서 불러오기")
    expect(openers.first).to_be_visible()
    widths = []
    for index in range(openers.count()):  # each file's lines open from a popover of their own
        openers.nth(index).click()
        code = korean.get_by_test_id("stPopoverBody").get_by_test_id("stCode")
        expect(code).to_be_visible()
        widths.append(code.locator("pre").evaluate("p => [p.scrollWidth, p.clientWidth]"))
        if index == 0:
            screenshot(korean, "newcomer-save-ko")
        korean.keyboard.press("Escape")
        expect(code).to_be_hidden()
    assert len(widths) >= 4 and all(scroll <= client + 1 for scroll, client in widths), widths


def test_the_optimizer_box_shows_its_whole_option(korean):
    go(korean, "모델 만들기")
    choose(korean, "옵티마이저", "SGD (모멘텀 사용 가능)")
    box_ = korean.get_by_test_id("stSelectbox").filter(has_text="옵티마이저")
    shown = box_.locator("input")
    expect(shown).to_have_value("SGD (모멘텀 사용 가능)")
    scroll, client = shown.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert scroll <= client, (scroll, client)
    screenshot(korean, "newcomer-build-optimizer-ko")


def test_the_epoch_axis_title_is_clear_of_the_legend(korean):
    go(korean, "학습")
    charts = korean.locator(".js-plotly-plot").filter(has=korean.locator("g.legend"))
    expect(charts.first).to_be_visible()
    checked = 0
    for chart in charts.all():
        title = chart.locator("text.xtitle")
        if title.count():
            assert not overlap(box(chart.locator("g.legend")), box(title))
            checked += 1
    assert checked >= 2  # loss and accuracy
    screenshot(korean, "newcomer-train-charts-ko")


def test_a_click_on_a_confusion_cell_shows_those_mistakes(korean):
    go(korean, "오답")
    korean.get_by_role("tab", name="혼동 행렬").click()
    table = korean.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()
    table.hover()
    toolbar = korean.locator("[data-testid=stElementToolbar]:visible")
    expect(toolbar).to_have_count(1)
    caption = korean.get_by_text("행은 실제 숫자", exact=False)
    assert not overlap(box(toolbar), box(caption))
    screenshot(korean, "newcomer-confusion-ko")
    # Row 4 (true 4), column 9 (said 9): 11 columns of equal width, the index first.
    area = box(table.locator("canvas").first)
    header = 35
    row_height = (area["height"] - header) / 10
    column_width = area["width"] / 11
    korean.mouse.click(area["x"] + column_width * 10.5, area["y"] + header + row_height * 4.5)
    wait_for_app(korean)
    expect(korean.get_by_role("tab", name="오답", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    true_box = korean.get_by_test_id("stSelectbox").filter(has_text="실제 숫자")
    said_box = korean.get_by_test_id("stSelectbox").filter(has_text="예측한 숫자")
    expect(true_box.locator("input")).to_have_value("4")
    expect(said_box.locator("input")).to_have_value("9")
    captions = korean.locator("figcaption:visible").all_inner_texts()
    assert captions and all("정답 4, 예측 9" in caption for caption in captions), captions
    assert_no_exception(korean)
    screenshot(korean, "newcomer-confusion-clicked-ko")


def test_look_inside_s_class_box_follows_the_language_switch(korean):
    korean.get_by_text("English", exact=True).click()
    wait_for_app(korean)
    korean.get_by_test_id("stSidebarNav").get_by_text("Look inside", exact=True).click()
    expect(korean.locator("h1").first).to_contain_text("Look inside the network", timeout=90_000)
    wait_for_app(korean)
    expect(korean.get_by_label("Explain the class", exact=True)).to_have_value("the prediction")
    korean.get_by_text("한국어", exact=True).click()
    wait_for_app(korean)
    expect(korean.locator("h1").first).to_contain_text("신경망 속 들여다보기")
    expect(korean.get_by_label("설명할 클래스", exact=True)).to_have_value("예측한 클래스")
    screenshot(korean, "newcomer-look-inside-switched-ko")


PHONE = {"width": 390, "height": 844}
# A phone's browser says "Mobile": Streamlit then folds the sidebar away after a page is chosen.
PHONE_BROWSER = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def phone_go_to(page: Page, title: str) -> None:
    """On a phone the sidebar is folded away: open it, then choose the page (it folds again)."""
    page.get_by_test_id("stExpandSidebarButton").click()
    go_to(page, title)
    expect(page.get_by_test_id("stSidebarNav")).not_to_be_in_viewport()


def finger_stroke(page: Page, canvas: Locator, points: list[tuple[int, int]]) -> None:
    """One stroke with a finger: real touch events (CDP), in canvas pixels (280 x 280)."""
    area = box(canvas)
    scale = area["width"] / 280

    def touch(x: int, y: int) -> list[dict]:
        return [{"x": area["x"] + x * scale, "y": area["y"] + y * scale, "id": 1}]

    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": touch(*points[0])})
    for x, y in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": touch(x, y)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_a_digit_drawn_with_a_finger_on_a_phone_is_read(browser, app_url):
    context = browser.new_context(
        viewport=PHONE,
        has_touch=True,
        is_mobile=True,
        device_scale_factor=3,
        user_agent=PHONE_BROWSER,
    )
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        build_preset(page, app_url, "Tutorial MLP 512 + Dropout (Adam)")
        phone_go_to(page, "Train")
        start_training(page, "10,000", epochs=2)
        expect(page.get_by_text("Training finished")).to_be_visible(timeout=180_000)
        wait_for_app(page)
        phone_go_to(page, "Draw")
        canvas = page.get_by_test_id("stBidiComponentIsolated").locator("canvas.upper-canvas")
        canvas.evaluate("canvas => canvas.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(500)
        scroll_before = page.evaluate("document.querySelector('[data-testid=stMain]').scrollTop")
        # A finger stroke down the middle: a 1. The page must not scroll instead of drawing.
        finger_stroke(page, canvas, [(140, 40 + 10 * i) for i in range(21)])
        expect(page.get_by_test_id("stMetric")).to_contain_text("The model reads", timeout=30_000)
        expect(page.get_by_test_id("stMetricValue").first).to_have_text("1")
        scroll_after = page.evaluate("document.querySelector('[data-testid=stMain]').scrollTop")
        assert scroll_after == scroll_before
        # Without a mouse to hover, the canvas's toolbar stays shown: it must cover nothing.
        toolbar = page.locator(".dc-toolbar").first
        expect(toolbar).to_have_css("opacity", "1")
        page.wait_for_timeout(500)
        assert not overlap(box(toolbar), box(page.get_by_test_id("stSlider").first))
        assert not overlap(box(toolbar), box(page.get_by_text("Draw here", exact=True)))
        # The page fits the phone: nothing sticks out sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert_no_exception(page)
        screenshot(page, "newcomer-phone-draw")
    finally:
        context.close()
