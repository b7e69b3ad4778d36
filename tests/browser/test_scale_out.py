"""Two app servers behind HAProxy (scripts/tryout.sh): one is killed, the learner carries on."""

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    assert_no_exception,
    build_preset,
    free_port,
    go_to,
    screenshot,
    start_training,
    wait_for_app,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

MLP = "Tutorial MLP 784-64-10 (SGD)"


@pytest.fixture(scope="module")
def tryout(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The try-out as its script starts it; yields the load balancer's URL and its state folder."""
    state = tmp_path_factory.mktemp("tryout")
    ports = [free_port() for _ in range(3)]
    env = os.environ | {
        "TRYOUT_DIR": str(state),
        "TRYOUT_PORT": str(ports[0]),
        "TRYOUT_SERVERS": f"{ports[1]} {ports[2]}",
    }
    script = ["bash", str(ROOT / "scripts" / "tryout.sh")]
    subprocess.run([*script, "start"], env=env, check=True, timeout=300)
    try:
        yield f"http://127.0.0.1:{ports[0]}", state
    finally:
        subprocess.run([*script, "stop"], env=env, check=True, timeout=60)


def pinned_server(page: Page) -> str:
    """The app server the load balancer's affinity cookie sends this browser to."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return cookies["DIGITLAB_SERVER"].removeprefix("app")


def test_a_killed_app_server_loses_nothing(page, tryout):
    url, state = tryout
    page.goto(url)
    wait_for_app(page)
    box = page.get_by_test_id("stSidebar").get_by_label("Nickname", exact=True)
    box.fill("Jun")
    box.press("Enter")
    wait_for_app(page)
    build_preset(page, url, MLP, same_session=True)
    go_to(page, "Train")
    start_training(page, "1,000 (seconds)", epochs=1)
    expect(page.get_by_text("Training finished")).to_be_visible(timeout=240_000)
    first = pinned_server(page)

    # kill -9 the learner's app server; the balancer's health check takes it out of the pool.
    os.kill(int((state / f"app-{first}.pid").read_text()), signal.SIGKILL)
    page.wait_for_timeout(3000)
    page.reload()
    wait_for_app(page)
    assert pinned_server(page) != first, "the balancer kept sending the browser to a dead server"
    expect(page).to_have_url(re.compile(r"[?&]name=Jun(&|$)"))
    expect(page.get_by_test_id("stSidebar").get_by_label("Nickname", exact=True)).to_have_value(
        "Jun"
    )
    go_to(page, "Runs")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    expect(page.get_by_text("MLP 784-64-10").first).to_be_visible()
    assert_no_exception(page)
    screenshot(page, "scale-out-after-kill")
