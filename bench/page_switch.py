"""Page switches in the browser: ten learners in one headless Chromium, three of them training.

Starts the app server on 127.0.0.1 and one headless Chromium (Debian's, as the browser tests use)
with ten browser contexts, each its own learner and Streamlit session, and every learner builds the
recommended preset. A switch is a click on another page in the sidebar (the pages a learner
browses, as bench/class_load.py) until the page's heading shows and the script is idle (the app's
script state "notRunning" and no status widget), as the browser tests wait.

1. One at a time (--rounds rounds, each learner once per round), before any training: what one
   switch costs. Per page: median wall time; the CPU seconds of the bench's Chromium processes
   (from /proc, less what they spent per second just before); the server's; and what the page
   holds in the browser (elements, Plotly and Vega charts, data-URI images, style elements,
   iframes, canvases).
2. Together (--seconds seconds): three learners start training the preset on 10,000 digits for
   more epochs than the probe lasts (the server's end stops them); then every learner clicks 1-4 s
   after its last switch ended, as bench/class_load.py's learners do (one thread clicks for each
   and polls the pages). Per page: median and p95 wall time; the CPU seconds Chromium, the server
   and the trainings (the server's reniced threads) spent over the phase.

The last line is the p95 of the together phase: `p95 N s`. Goal: under 1.5 s.

Run from the repository root (about 4 minutes), on an otherwise idle machine:
.venv/bin/python -m bench.page_switch [--rounds 2] [--seconds 90]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench.cpu import cpu_seconds, thread_seconds
from core.priority import TRAINING_NICENESS
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HEADINGS,
    build_preset,
    free_port,
    go_to,
    start_app,
    start_training,
    wait_healthy,
)

LEARNERS = 10
TRAINERS = 3
PRESET = "Recommended: small batch-normalised CNN"
TRAIN_DIGITS = "10,000"
TRAIN_EPOCHS = 200  # far longer than the probe: the trainings run throughout it
BROWSED = ("Data", "Inspect", "Runs", "Save", "Draw", "Train", "Build")  # as bench/class_load.py
ROUNDS = 2  # rounds of the one-at-a-time phase
SECONDS = 90.0  # length of the together phase
THINK = (1.0, 4.0)  # seconds a learner waits after a switch before the next, together
SWITCH_TIMEOUT = 60_000  # ms one switch may take before the bench gives up
SETTLE = 0.2  # seconds after a switch one at a time, so that its tail is not the next one's cost
IDLE = 0.4  # seconds Chromium's idle CPU rate is read over before each switch one at a time
POLL = 0.1  # seconds between two polls of the pending switches, together (as expect polls)
DONE = """(heading) => {
  const h1 = document.querySelector('h1');
  const app = document.querySelector('[data-testid=stApp]');
  return Boolean(h1 && h1.textContent.includes(heading) && app
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-testid=stStatusWidget]'));
}"""
DOM_KEYS = ("elements", "plotly", "vega", "data-img", "styles", "iframes", "canvases")
DOM_COUNTS = """() => ({
  elements: document.querySelectorAll('*').length,
  plotly: document.querySelectorAll('.js-plotly-plot').length,
  vega: document.querySelectorAll('.vega-embed').length,
  'data-img': document.querySelectorAll('img[src^="data:"]').length,
  styles: document.querySelectorAll('style').length,
  iframes: document.querySelectorAll('iframe').length,
  canvases: document.querySelectorAll('canvas').length,
})"""


@dataclass
class Switch:
    """One click in the sidebar until the new page is idle."""

    page: str
    trainer: bool
    seconds: float
    browser_cpu: float
    server_cpu: float
    dom: dict[str, int] = field(default_factory=dict)


def descendants(pid: int) -> list[int]:
    """Every process below pid (Playwright's driver and the Chromium it started)."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        children.setdefault(parent, []).append(int(proc.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def processes_cpu(pids: list[int]) -> float:
    """User and system CPU seconds of these processes, those that have ended left out."""
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
    return total


def chromium_cpu() -> float:
    """CPU seconds of the bench's Chromium processes (renderers come and go; Playwright's driver,
    also below this process, left out)."""
    return processes_cpu([pid for pid in descendants(os.getpid()) if is_chromium(pid)])


def is_chromium(pid: int) -> bool:
    try:
        return "chrom" in Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return False


def chromium_rate(seconds: float) -> float:
    """Chromium's CPU seconds per second over the next `seconds`."""
    before = chromium_cpu()
    time.sleep(seconds)
    return (chromium_cpu() - before) / seconds


def server_cpu(pid: int) -> tuple[float, dict[int, float]]:
    """The server's CPU seconds so far, and its training threads' (reniced) by thread id."""
    return cpu_seconds(pid), thread_seconds(pid, TRAINING_NICENESS)


def serving_cpu(
    before: tuple[float, dict[int, float]], after: tuple[float, dict[int, float]]
) -> float:
    """The server's CPU seconds between two readings, its training threads' left out."""
    training = sum(s - before[1].get(tid, 0.0) for tid, s in after[1].items())
    return max(0.0, after[0] - before[0] - training)


def switch(page: Page, title: str) -> float:
    """Click the page in the sidebar; seconds until its heading shows and the script is idle."""
    started = time.perf_counter()
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    expect(page.locator("h1").first).to_contain_text(HEADINGS[title], timeout=SWITCH_TIMEOUT)
    idle = page.locator("[data-testid=stApp][data-test-script-state=notRunning]")
    expect(idle).to_have_count(1, timeout=SWITCH_TIMEOUT)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=SWITCH_TIMEOUT)
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def is_done(page: Page, title: str) -> bool:
    """Whether the page's heading shows and its script is idle (the test's wait, without waiting)."""
    return page.evaluate(DONE, HEADINGS[title])


def learners(browser: Browser, url: str) -> list[Page]:
    """Ten sessions, each with the preset built."""
    pages = []
    for _ in range(LEARNERS):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(120_000)
        build_preset(page, url, PRESET)
        pages.append(page)
    return pages


def start_trainings(pages: list[Page]) -> None:
    for page in pages[:TRAINERS]:
        go_to(page, "Train")
        start_training(page, TRAIN_DIGITS, TRAIN_EPOCHS)
        expect(page.get_by_role("button", name="Stop")).to_be_visible()


def one_at_a_time(pages: list[Page], server_pid: int, rounds: int) -> list[Switch]:
    """Each learner in turn switches page, nobody else clicking: what one switch costs."""
    switches = []
    for round_ in range(rounds):
        for index, page in enumerate(pages):
            title = BROWSED[(index + round_) % len(BROWSED)]
            time.sleep(SETTLE)
            background = chromium_rate(IDLE)  # what the other nine pages spend meanwhile
            browser_before, server_before = chromium_cpu(), server_cpu(server_pid)
            seconds = switch(page, title)
            browser_cpu = chromium_cpu() - browser_before
            served = serving_cpu(server_before, server_cpu(server_pid))
            dom = page.evaluate(DOM_COUNTS)
            net = max(0.0, browser_cpu - background * seconds)
            switches.append(Switch(title, index < TRAINERS, seconds, net, served, dom))
    return switches


def together(
    pages: list[Page], server_pid: int, duration: float, offset: int
) -> tuple[list[Switch], float, float]:
    """Every learner switches page 1-4 s after its last switch ended, for `duration` seconds.

    One thread drives all ten: it clicks for those whose time has come and polls the others'
    pages until each is done. Returns the switches and the CPU seconds Chromium and the server
    (training left out) spent meanwhile.
    """
    rng = random.Random(1)
    now = time.perf_counter()
    next_at = [now + rng.uniform(0.0, 2.0) for _ in pages]
    visits = [offset] * len(pages)
    pending: dict[int, tuple[str, float]] = {}
    switches = []
    browser_before, server_before = chromium_cpu(), server_cpu(server_pid)
    began, end = now, now + duration
    while (now := time.perf_counter()) < end or pending:
        for index, page in enumerate(pages):
            if index in pending:
                title, started = pending[index]
                if is_done(page, title):
                    seconds = time.perf_counter() - started
                    switches.append(Switch(title, index < TRAINERS, seconds, 0.0, 0.0))
                    del pending[index]
                    next_at[index] = time.perf_counter() + rng.uniform(*THINK)
                elif now - started > SWITCH_TIMEOUT / 1000:
                    raise RuntimeError(f"learner {index + 1}: {title} did not finish")
            elif now < end and now >= next_at[index]:
                title = BROWSED[(index + visits[index]) % len(BROWSED)]
                visits[index] += 1
                pending[index] = (title, time.perf_counter())
                page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        time.sleep(POLL)
    browser_cpu = chromium_cpu() - browser_before
    server_after = server_cpu(server_pid)
    served = serving_cpu(server_before, server_after)
    seconds = time.perf_counter() - began
    print(
        f"together: {seconds:.0f} s on {os.cpu_count()} cores; CPU-s: Chromium {browser_cpu:.0f},"
        f" server {served:.0f}, training {server_after[0] - server_before[0] - served:.0f}",
        flush=True,
    )
    return switches, browser_cpu, served


def medians(switches: list[Switch], what: str) -> float:
    return statistics.median(getattr(s, what) for s in switches)


def report(alone: list[Switch], crowd: list[Switch], crowd_cpu: tuple[float, float]) -> None:
    print(f"One at a time, before the trainings ({len(alone)} switches):")
    print(
        f"  {'page':8} {'n':>3} {'wall':>6} {'chromium':>9} {'server':>7}  "
        "elements plotly vega data-img styles iframes canvases"
    )
    for title in BROWSED:
        mine = [s for s in alone if s.page == title]
        if not mine:
            continue
        dom = mine[-1].dom
        print(
            f"  {title:8} {len(mine):3} {medians(mine, 'seconds'):5.2f}s "
            f"{medians(mine, 'browser_cpu'):8.2f}s {medians(mine, 'server_cpu'):6.2f}s  "
            + " ".join(f"{dom[k]:>{len(k)}}" for k in DOM_KEYS)
        )
    seconds = [s.seconds for s in alone]
    print(
        f"  p50 {statistics.median(seconds):.2f} s, p95 {percentile(seconds, 0.95):.2f} s; "
        f"Chromium {statistics.mean(s.browser_cpu for s in alone):.2f} CPU-s per switch (mean)"
    )
    seconds = [s.seconds for s in crowd]
    print(f"Together: every learner switching 1-4 s after its last switch ({len(crowd)} switches):")
    for title in BROWSED:
        mine = [s.seconds for s in crowd if s.page == title]
        if mine:
            median, p95 = statistics.median(mine), percentile(mine, 0.95)
            print(f"  {title:8} {len(mine):3} median {median:.2f} s, p95 {p95:.2f} s")
    trainers = [s.seconds for s in crowd if s.trainer]
    print(
        f"  p50 {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s; the trainers' p95 "
        f"{percentile(trainers, 0.95):.2f} s; per switch: Chromium {crowd_cpu[0] / len(crowd):.2f} "
        f"CPU-s, server {crowd_cpu[1] / len(crowd):.2f} CPU-s (training left out)"
    )
    print(f"p95 {percentile(seconds, 0.95):.2f} s")


def probe(url: str, server_pid: int, rounds: int, duration: float) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            started = time.perf_counter()
            pages = learners(browser, url)
            print(f"ten learners ready in {time.perf_counter() - started:.0f} s", flush=True)
            alone = one_at_a_time(pages, server_pid, rounds)  # before the trainings: its own cost
            start_trainings(pages)
            idle = chromium_rate(3.0)
            print(f"Chromium idle (three live views open): {idle:.2f} CPU-s per s", flush=True)
            crowd, *cpu = together(pages, server_pid, duration, rounds)
        finally:
            browser.close()
    report(alone, crowd, tuple(cpu))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="bench-page-switch-")) / "runs"
    port = free_port()
    server = start_app(port, runs_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        probe(url, server.pid, args.rounds, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(runs_dir.parent)


if __name__ == "__main__":
    main()
