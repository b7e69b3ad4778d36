"""In a real browser: the server is killed (kill -9) while a learner trains; after a restart the
run is listed as interrupted after its last saved epoch, and Continue trains it further."""

import contextlib
import json
import time
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    HEADINGS,
    assert_no_exception,
    build_preset,
    free_port,
    screenshot,
    start_app,
    start_training,
    wait_for_app,
    wait_healthy,
)

pytestmark = pytest.mark.browser


def saved_epochs(runs_dir) -> int:
    counts = [0]
    for history in runs_dir.glob("*/*/history.json"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            counts.append(len(json.loads(history.read_text())["epochs"]["loss"]))
    return max(counts)


def test_a_server_killed_mid_training_leaves_a_run_to_continue(page, tmp_path):
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    port = free_port()
    server = start_app(port, runs_dir)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        build_preset(page, url, "Tutorial MLP 784-64-10 (SGD)")
        page.get_by_test_id("stSidebarNav").get_by_text("Train", exact=True).click()
        wait_for_app(page)
        start_training(page, "10,000", epochs=30)
        expect(page.locator(".train-progress")).to_contain_text("batch", timeout=60_000)
        deadline = time.monotonic() + 120
        while saved_epochs(runs_dir) < 1:
            assert time.monotonic() < deadline, "no epoch was saved"
            time.sleep(0.1)
    finally:
        server.kill()  # SIGKILL: nothing in the server gets to save anything more
        server.wait(timeout=30)
    token = parse_qs(urlparse(page.url).query)["session"][0]
    epochs = saved_epochs(runs_dir)

    port = free_port()
    server = start_app(port, runs_dir)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        page.goto(f"{url}/runs?session={token}")
        wait_for_app(page)
        expect(page.get_by_text(f"interrupted after epoch {epochs}")).to_be_visible()
        screenshot(page, "runs-interrupted")
        more = page.get_by_label("More epochs", exact=True)
        more.fill("1")
        more.press("Enter")
        wait_for_app(page)
        page.get_by_role("button", name="Continue training").click()
        expect(page.locator("h1").first).to_contain_text(HEADINGS["Train"], timeout=90_000)
        expect(page.get_by_text("Training finished")).to_be_visible(timeout=120_000)
        expect(page.get_by_test_id("stSidebar")).to_contain_text("trained")
        assert_no_exception(page)
        assert saved_epochs(runs_dir) == epochs + 1
    finally:
        server.terminate()
        server.wait(timeout=30)
