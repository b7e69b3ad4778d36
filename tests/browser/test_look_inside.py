"""In a real browser: Look inside opened from a mistake and from a drawing; clicks on its charts."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    assert_no_exception,
    build_preset,
    go_to,
    screenshot,
    start_training,
    wait_for_app,
)
from tests.browser.test_training_and_drawing import draw_stroke

pytestmark = pytest.mark.browser
TITLE = "Look inside the network"


def click_chart(page: Page, chart, x: float, y: float) -> None:
    """Click a Plotly chart at a fraction (x, y) of its plotting area."""
    area = chart.locator(".nsewdrag").first
    box = area.bounding_box()
    page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])


def test_look_inside_from_a_mistake_and_a_drawing(page, app_url):
    build_preset(page, app_url, "Recommended: small batch-normalised CNN")
    go_to(page, "Train")
    start_training(page, "10,000", epochs=2)
    expect(page.get_by_text("Training finished")).to_be_visible(timeout=300_000)

    go_to(page, "Mistakes")
    page.get_by_role("button", name="Look inside").click()
    expect(page.locator("h1").first).to_contain_text(TITLE, timeout=90_000)
    wait_for_app(page)
    # The digit opened is one of the mistakes: its true class is not what the model reads.
    caption = page.get_by_text(re.compile(r"Test digit #\d+, a \d")).inner_text()
    true = int(re.search(r", a (\d)", caption).group(1))
    opened = int(re.search(r"#(\d+)", caption).group(1))
    assert page.get_by_test_id("stMetricValue").first.inner_text() != str(true)
    assert_no_exception(page)
    screenshot(page, "look-inside-from-mistake")

    # A click on a feature map shows it large beside its filter.
    maps = page.get_by_test_id("stPlotlyChart").filter(has=page.locator(".nsewdrag")).nth(4)
    maps.scroll_into_view_if_needed()
    tiles = maps.locator(".heatmaplayer image").first.bounding_box()
    # The first of 16 maps of 26 pixels in one row, 1 pixel apart: its centre is at 13 of 431.
    page.mouse.click(tiles["x"] + tiles["width"] * 13 / 431, tiles["y"] + tiles["height"] / 2)
    wait_for_app(page)
    expect(page.get_by_text("Channel 0 of conv2d_1")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("The filter that made channel 0")).to_be_visible()
    screenshot(page, "look-inside-feature-map-clicked")

    # A click on the map picks that digit.
    the_map = page.get_by_test_id("stPlotlyChart").filter(has_text="mistake").first
    the_map.scroll_into_view_if_needed()
    # Hovering a point shows its digit, drawn in the tooltip.
    area = the_map.locator(".nsewdrag").first.bounding_box()
    tooltip = the_map.locator(".hoverlayer .hovertext")
    for x, y in ((0.5, 0.5), (0.4, 0.45), (0.6, 0.55), (0.45, 0.6), (0.3, 0.3), (0.7, 0.7)):
        page.mouse.move(area["x"] + x * area["width"], area["y"] + y * area["height"])
        page.wait_for_timeout(300)
        if tooltip.count():
            break
    expect(tooltip.first).to_contain_text(re.compile("[█▀▄]"))
    screenshot(page, "look-inside-map-hover")
    for x, y in ((0.5, 0.5), (0.4, 0.45), (0.6, 0.55), (0.45, 0.6)):
        click_chart(page, the_map, x, y)
        wait_for_app(page)
        if page.get_by_role("button", name=re.compile(r"Look inside digit #\d+")).count():
            break
    take = page.get_by_role("button", name=re.compile(r"Look inside digit #\d+"))
    expect(take).to_be_visible(timeout=30_000)
    screenshot(page, "look-inside-map-point-clicked")
    take.click()
    wait_for_app(page)
    # The page looks at the digit picked on the map instead of the mistake, and its button has
    # gone (which digit: a click on the chart may send its selection twice, so the button's label
    # can change between reading it and the click).
    expect(take).to_have_count(0)
    shown = page.get_by_text(re.compile(r"Test digit #\d+, a \d")).inner_text()
    picked = int(re.search(r"#(\d+)", shown).group(1))
    assert picked != opened
    expect(page.get_by_role("spinbutton", name="Test digit number")).to_have_value(str(picked))
    expect(page.get_by_text("After epoch 2:")).to_be_visible()
    assert_no_exception(page)
    screenshot(page, "look-inside-picked-from-map")

    go_to(page, "Draw")
    draw_stroke(page, [(140, 40), (140, 120), (141, 200), (141, 240)])
    expect(page.get_by_test_id("stMetric")).to_contain_text("The model reads", timeout=30_000)
    page.get_by_role("button", name="Look inside").click()
    expect(page.locator("h1").first).to_contain_text(TITLE, timeout=90_000)
    wait_for_app(page)
    expect(page.get_by_text("Your drawing from the Draw page")).to_be_visible()
    assert_no_exception(page)
    screenshot(page, "look-inside-from-drawing")
