"""Every page opens without an error; the CNN preset is built through the UI and inspected."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    HEADINGS,
    assert_no_exception,
    choose,
    go_to,
    screenshot,
    wait_for_app,
)

pytestmark = pytest.mark.browser


def test_every_page_opens(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    for title in HEADINGS:
        go_to(page, title)
        assert_no_exception(page)
        screenshot(page, f"page-{title.lower()}")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("None yet")


def test_build_cnn_preset_and_inspect_it(page, app_url):
    page.goto(f"{app_url}/build")
    wait_for_app(page)
    choose(page, "Start from a preset", "Tutorial CNN 32-64 conv + Dense 256 (Adam)")
    page.get_by_role("button", name="Build model").click()
    expect(page.get_by_text("824,458 parameters", exact=False).first).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_contain_text("CNN 32-64-256")
    screenshot(page, "build-cnn")
    go_to(page, "Inspect")
    assert_no_exception(page)
    expect(page.get_by_test_id("stMetric").first).to_contain_text("824,458")
    page.get_by_role("tab", name="Graph").click()
    expect(page.get_by_test_id("stGraphVizChart").locator("svg")).to_be_visible()
    screenshot(page, "inspect-cnn-graph")
