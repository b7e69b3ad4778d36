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
    # Everything the browser fetches comes from the app's own server: the page icon was a
    # Material icon, which Streamlit's front end fetches from fonts.gstatic.com on every page.
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(app_url)
    wait_for_app(page)
    for title in HEADINGS:
        go_to(page, title)
        assert_no_exception(page)
        screenshot(page, f"page-{title.lower()}")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("None yet")
    elsewhere = [url for url in fetched if not url.startswith((app_url, "data:", "blob:"))]
    assert fetched and elsewhere == []


def test_build_cnn_preset_and_inspect_it(page, app_url):
    page.goto(f"{app_url}/build")
    wait_for_app(page)
    choose(page, "Start from a preset", "Tutorial CNN 32-64 conv + Dense 256 (Adam)")
    # The stack reads as one table until the editor is opened; then a row of widgets per layer.
    table = page.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(8)  # the header and 7 layers
    expect(table.get_by_role("row").nth(6)).to_contain_text("803,072")
    screenshot(page, "build-table")
    page.get_by_text("Edit the layers").click()
    expect(page.get_by_label("filters", exact=True)).to_have_count(2)  # the two Conv2D rows
    expect(page.get_by_role("table")).to_have_count(0)
    expect(page.get_by_text("803,072 params")).to_be_visible()
    screenshot(page, "build-editor-open")
    page.get_by_role("button", name="Build model").click()
    expect(page.get_by_text("824,458 parameters", exact=False).first).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_contain_text("CNN 32-64-256")
    screenshot(page, "build-cnn")
    go_to(page, "Inspect")
    assert_no_exception(page)
    expect(page.get_by_test_id("stMetric").first).to_contain_text("824,458")
    summary = page.get_by_test_id("stMarkdown").get_by_role("table")  # Markdown, not a data grid
    expect(summary.get_by_role("row")).to_have_count(8)  # the header and seven layers
    expect(summary).to_contain_text("3 × 3 kernel × 32 channels × 64 filters + 64 biases = 18,496")
    screenshot(page, "inspect-cnn-summary", full_page=False)
    page.get_by_role("tab", name="Graph").click()
    expect(page.get_by_test_id("stGraphVizChart").locator("svg")).to_be_visible()
    screenshot(page, "inspect-cnn-graph")
