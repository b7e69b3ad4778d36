"""Real-browser harness: the app served on a free port, driven by Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import ARTIFACTS, ROOT

CHROMIUM = os.environ.get("DIGITLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(
    port: int, runs_dir: Path, settings: dict[str, str] | None = None
) -> subprocess.Popen:
    """The app as the README starts it (`bash run.sh`), on a port, with its own runs directory
    (and settings); run.sh execs Streamlit, so the process's pid is the server's."""
    env = os.environ | {"PORT": str(port), "DIGITLAB_RUNS_DIR": str(runs_dir)} | (settings or {})
    log = open(runs_dir.parent / f"streamlit-{port}.log", "w")  # noqa: SIM115
    return subprocess.Popen(
        [
            "bash", str(ROOT / "run.sh"), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_healthy(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the app at {url} did not become healthy in {timeout} s")


@contextmanager
def served_app(runs_dir: Path, settings: dict[str, str] | None = None) -> Iterator[str]:
    """The app on a free port until the block ends; yields its URL."""
    port = free_port()
    process = start_app(port, runs_dir, settings)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> Iterator[str]:
    with served_app(tmp_path_factory.mktemp("app") / "runs") as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def wait_for_app(page: Page) -> None:
    """Wait until the script has finished running and the page has its title.

    The frontend marks a rerun as requested the moment a widget changes, so waiting on the app's
    script state (not on the status widget, which shows up late) never returns before the rerun.
    """
    page.wait_for_selector("h1", timeout=90_000)
    idle = page.locator("[data-testid=stApp][data-test-script-state=notRunning]")
    expect(idle).to_have_count(1, timeout=90_000)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=90_000)
    # Widgets take the values of the finished run a moment later; a click before that would send
    # their old values back with it (as Streamlit's own end-to-end tests, wait a little).
    page.wait_for_timeout(200)


def assert_no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot (the whole page, or what the window shows) under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # Widgets load lazily: wait until no placeholder is left, so the picture shows the page.
    for placeholder in ("stSkeleton", "stSkeletonElement", "stAppSkeleton"):
        expect(page.get_by_test_id(placeholder)).to_have_count(0, timeout=30_000)
    page.screenshot(path=path, full_page=full_page)
    return path


HEADINGS = {
    "Data": "The MNIST digits",
    "Build": "Build a network",
    "Inspect": "Inspect the model",
    "Train": "Train",
    "Runs": "Runs",
    "Mistakes": "Study the mistakes",
    "Draw": "Draw a digit",
    "Save": "Save the model",
    "Evaluate": "Evaluate saved models",
    "Lessons": "Lessons: the five tutorials, step by step",
}


def go_to(page: Page, title: str) -> None:
    """Switch page through the sidebar navigation (keeps the session, unlike a new URL)."""
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    expect(page.locator("h1").first).to_contain_text(HEADINGS[title], timeout=90_000)
    wait_for_app(page)


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option of the st.selectbox with this label."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def build_preset(page: Page, url: str, title: str, same_session: bool = False) -> None:
    """Open Build, pick a preset by its title and build it (it becomes the active model).

    By default Build opens from its URL, which starts a new Streamlit session; same_session goes
    through the sidebar instead, as a learner who keeps working in one tab does.
    """
    if same_session:
        go_to(page, "Build")
    else:
        page.goto(f"{url}/build")
        wait_for_app(page)
    choose(page, "Start from a preset", title)
    page.get_by_role("button", name="Build model").click()
    # Wait for the build itself: leaving the page while it runs would cancel it.
    expect(page.get_by_text("It is now the active model")).to_be_visible(timeout=90_000)
    wait_for_app(page)


def start_training(page: Page, digits: str, epochs: int, validation: str | None = None) -> None:
    """On the Train page: set the training digits, epochs (and validation), press Train."""
    choose(page, "Training digits", digits)
    if validation:
        choose(page, "Validation data", validation)
    field = page.get_by_label("Epochs", exact=True)
    field.fill(str(epochs))
    field.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Train", exact=True).click()
