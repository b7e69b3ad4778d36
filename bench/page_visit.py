"""What one switch to each page costs Chromium, on its first visit in a tab and after it.

Starts the app server on 127.0.0.1 and one headless Chromium (as bench/page_switch.py), builds the
recommended preset in one learner's session (with --trained: trains the tutorial MLP on 1,000
digits for an epoch instead, so that Runs and Save show a run and its best checkpoint), then, for
each page asked for, --repeats times: a click from the --base page to it, until its heading shows
and the script is idle, and --settle seconds more for what the browser draws after that.

- first (default): each switch from a new browser context on the same session (`?session=`), so
  that the page is the tab's first of its kind, as each of page_switch's learners meets it first;
  Streamlit's front end loads the JavaScript of each kind of element when a tab first shows one.
- --again: the same tab every time, once every page has been seen.

Per page, the medians: wall time; the CPU seconds of Chromium's processes (read from /proc, 10 ms
resolution; less what they spent per second just before), of its renderers and of its browser
process; the server's; the bytes the page's websocket received; and the page's elements.

Run from the repository root (about 1 minute per page at the defaults), on an idle machine:
.venv/bin/python -m bench.page_visit [--again] [--trained] [--repeats 5] Save Inspect ...
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench.cpu import cpu_seconds
from bench.page_switch import BROWSED, DOM_COUNTS, PRESET, descendants, is_chromium, switch
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    build_preset,
    free_port,
    go_to,
    start_app,
    start_training,
    wait_for_app,
    wait_healthy,
)

TRAINED = "Tutorial MLP 512 + Dropout (Adam)"
REPEATS = 5
SETTLE = 1.0  # seconds after a switch: what the browser draws once the script is idle counts
IDLE = 0.5  # seconds Chromium's idle CPU rate is read over before each switch
OTHER_BASE = ("Runs", "Draw")  # where a switch to the --base page itself starts from
COLUMNS = ("wall", "chromium", "renderer", "browser", "server", "ws-bytes")


def process_kind(pid: int) -> str:
    """Chromium's --type of the process (renderer, gpu-process, utility ...), or "browser"."""
    arguments = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
    kinds = [a[len(b"--type=") :].decode() for a in arguments if a.startswith(b"--type=")]
    return kinds[0] if kinds else "browser"


def chromium_by_kind() -> dict[str, float]:
    """CPU seconds of the bench's Chromium processes so far, summed by kind of process."""
    seconds: dict[str, float] = {}
    for pid in descendants(os.getpid()):
        try:
            if is_chromium(pid):
                kind = process_kind(pid)
                seconds[kind] = seconds.get(kind, 0.0) + cpu_seconds(pid)
        except OSError:
            continue  # ended meanwhile
    return seconds


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {kind: after[kind] - before.get(kind, 0.0) for kind in after}


class Tab:
    """One learner's tab, and the bytes its websocket has received."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(120_000)
        self.received = 0
        self.page.on("websocket", lambda ws: ws.on("framereceived", self.count))

    def count(self, frame: bytes | str) -> None:
        self.received += len(frame)


def measure(tab: Tab, title: str, server_pid: int) -> tuple[float, ...]:
    """One switch to the page: the figures of COLUMNS."""
    idle_before = chromium_by_kind()
    time.sleep(IDLE)
    idle = sum(spent(idle_before, chromium_by_kind()).values()) / IDLE
    before, server, received = chromium_by_kind(), cpu_seconds(server_pid), tab.received
    seconds = switch(tab.page, title)
    time.sleep(SETTLE)
    used = spent(before, chromium_by_kind())
    chromium = max(0.0, sum(used.values()) - idle * (seconds + SETTLE))
    server = cpu_seconds(server_pid) - server
    renderer, browser = used.get("renderer", 0.0), used.get("browser", 0.0)
    return seconds, chromium, renderer, browser, server, float(tab.received - received)


def probe(url: str, pid: int, titles: list[str], args: argparse.Namespace) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = Tab(browser, url)
        build_preset(tab.page, url, TRAINED if args.trained else PRESET)
        if args.trained:
            go_to(tab.page, "Train")
            start_training(tab.page, "1,000 (seconds)", epochs=1)
            expect(tab.page.get_by_text("Training finished")).to_be_visible(timeout=180_000)
        session = parse_qs(urlparse(tab.page.url).query)["session"][0]
        for title in BROWSED:  # every page once in this tab
            go_to(tab.page, title)
        figures: dict[str, list[tuple[float, ...]]] = {title: [] for title in titles}
        elements: dict[str, int] = {}
        for _ in range(args.repeats):
            for title in titles:
                base = args.base if title != args.base else OTHER_BASE[args.base == OTHER_BASE[0]]
                if args.again:
                    switch(tab.page, base)
                else:
                    tab.context.close()
                    tab = Tab(browser, url)
                    tab.page.goto(f"{url}/{base.lower()}?session={session}")
                    wait_for_app(tab.page)
                time.sleep(SETTLE)
                figures[title].append(measure(tab, title, pid))
                elements[title] = tab.page.evaluate(DOM_COUNTS)["elements"]
        browser.close()
    visit = "again in the same tab" if args.again else "the first in a new tab"
    other = OTHER_BASE[args.base == OTHER_BASE[0]]
    print(f"One switch to each page from {args.base} (to {args.base} from {other}), {visit}:")
    print(f"  {'page':8} " + " ".join(f"{c:>8}" for c in COLUMNS) + " elements")
    for title, rows in figures.items():
        medians = [statistics.median(column) for column in zip(*rows, strict=True)]
        cells = [f"{m:7.2f}s" for m in medians[:-1]] + [f"{medians[-1]:8.0f}"]
        print(f"  {title:8} " + " ".join(cells) + f" {elements[title]:8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", default=list(BROWSED))
    parser.add_argument("--again", action="store_true")
    parser.add_argument("--trained", action="store_true")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--base", default="Draw", help="the page each switch starts from")
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="bench-page-visit-")) / "runs"
    runs_dir.mkdir(parents=True)
    port = free_port()
    server = start_app(port, runs_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        probe(url, server.pid, args.pages, args)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(runs_dir.parent)


if __name__ == "__main__":
    main()
