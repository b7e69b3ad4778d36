"""Two app servers behind HAProxy (scripts/tryout.sh): one is killed, the learner carries on.

Once with trainings in the app servers' threads, once with them on the try-out's own Ray head
(skipped without Ray, failed instead with DIGITLAB_REQUIRE_RAY=1, as tests/ray_cluster.py does).
"""

import importlib.util
import json
import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
EPOCHS = 20  # on all 60,000 digits: 25-60 s, long enough to be killed under and reconnect


@contextmanager
def started_tryout(ray: bool) -> Iterator[tuple[str, Path]]:
    """The try-out as its script starts it; yields the load balancer's URL and its state folder."""
    state = Path(tempfile.mkdtemp(prefix="to-"))  # short: the Ray head's socket paths live in it
    ports = [free_port() for _ in range(3)]
    env = os.environ | {
        "TRYOUT_DIR": str(state),
        "TRYOUT_PORT": str(ports[0]),
        "TRYOUT_SERVERS": f"{ports[1]} {ports[2]}",
        "TRYOUT_RAY": "1" if ray else "0",
    }
    script = ["bash", str(ROOT / "scripts" / "tryout.sh")]
    try:
        subprocess.run([*script, "start"], env=env, check=True, timeout=600)
        yield f"http://127.0.0.1:{ports[0]}", state
    finally:
        subprocess.run([*script, "stop"], env=env, check=True, timeout=120)


@pytest.fixture(scope="module")
def tryout() -> Iterator[tuple[str, Path]]:
    """Trainings in the app servers' threads."""
    with started_tryout(ray=False) as started:
        yield started


@pytest.fixture(scope="module")
def tryout_ray() -> Iterator[tuple[str, Path]]:
    """Trainings on the try-out's Ray head (2 CPUs, 2 warm trainers)."""
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("DIGITLAB_REQUIRE_RAY") == "1":
            pytest.fail("DIGITLAB_REQUIRE_RAY=1 but Ray is not installed (requirements-ray.txt)")
        pytest.skip("Ray is not installed: pip install -r requirements-ray.txt")
    with started_tryout(ray=True) as started:
        yield started


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


def saved_epochs(runs_dir: Path) -> list[int]:
    """Epochs each run under runs_dir has saved so far (history.json, written every epoch)."""
    counts = []
    for history in sorted(runs_dir.glob("*/*/history.json")):
        try:
            counts.append(len(json.loads(history.read_text())["epochs"]["loss"]))
        except (OSError, ValueError, KeyError):
            counts.append(0)
    return counts


@pytest.mark.ray
def test_on_ray_a_training_outlives_its_app_server(page, tryout_ray):
    url, state = tryout_ray
    page.goto(url)
    wait_for_app(page)
    build_preset(page, url, MLP, same_session=True)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text("MLP 784-64-10")
    go_to(page, "Train")
    start_training(page, "all 60,000", epochs=EPOCHS)
    progress = page.locator(".train-progress")
    expect(progress).to_contain_text("batch", timeout=120_000)
    first = pinned_server(page)

    # kill -9 the learner's app server while the training runs on the Ray head.
    os.kill(int((state / f"app-{first}.pid").read_text()), signal.SIGKILL)
    page.wait_for_timeout(2500)  # the balancer's health check takes the dead server out
    page.reload()
    # Live again: the progress block is only drawn while the training is active.
    # (bench/replica_fault times this; here the other server may still have to import TensorFlow)
    expect(progress).to_contain_text("batch", timeout=60_000)
    assert pinned_server(page) != first, "the balancer kept sending the browser to a dead server"
    # The active model survived the kill: the other server brings it back from the runs store.
    expect(sidebar).to_contain_text("MLP 784-64-10")
    screenshot(page, "scale-out-ray-live-after-kill")

    # The same training (not a new one) carries on to its end, watched on the other server.
    expect(page.get_by_text("Training finished")).to_be_visible(timeout=300_000)
    assert saved_epochs(state / "runs") == [EPOCHS]
    expect(sidebar).to_contain_text("trained")
    assert_no_exception(page)
    go_to(page, "Runs")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    expect(page.get_by_text("MLP 784-64-10").first).to_be_visible()
