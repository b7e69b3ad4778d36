"""What a browser pays to keep one line of progress current, by the way the page refreshes it.

A minimal Streamlit app (a title, 20 disabled sliders, one progress line) in a temporary folder,
served on 127.0.0.1 (as the app's server runs: no full garbage collection after each run) and
watched by headless Chromium, once for each way of refreshing the line:

- idle: the line never changes (the floor an open page costs);
- fragment: `@st.fragment(run_every=1)` redraws the line once a second, as the Train page's live view
  does (bench/watch_cpu.py measures the real page);
- polling: a thread of the server writes the line to a JSON file once a second, served by Streamlit's
  static file serving, and a script in the page fetches it once a second and sets the text itself:
  no Streamlit run at all.

Prints Chromium's and the server's CPU seconds per minute for each, over --seconds of watching,
--rounds times in turn (the machine's speed drifts). It tells how much of watching a training is
Streamlit's own work per fragment run, whatever the run draws.

Run from the repository root: .venv/bin/python -m bench.refresh_cost [--seconds 30] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.cpu import cpu_seconds
from bench.train_overhead import chromium_pids
from bench.train_overhead import cpu_seconds as processes_cpu_seconds
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, wait_healthy

PAGE = """
import json, os, threading, time
import streamlit as st

MODE = os.environ["REFRESH_MODE"]


def line() -> str:
    return f"Epoch 1/4 · batch {int(time.time()) % 469}/469"


@st.cache_resource
def writer() -> None:
    def loop() -> None:
        while True:
            with open("static/progress.tmp", "w") as file:
                json.dump({"text": line()}, file)
            os.replace("static/progress.tmp", "static/progress.json")
            time.sleep(1)

    threading.Thread(target=loop, daemon=True).start()


st.title("Refresh cost")
for number in range(20):
    st.slider(f"setting {number}", 0, 10, 3, disabled=True)
if MODE == "idle":
    st.html(f'<p class="progress">{line()}</p>')
elif MODE == "fragment":
    st.fragment(run_every=1.0)(lambda: st.html(f'<p class="progress">{line()}</p>'))()
else:
    writer()
    st.html(
        '<p class="progress" id="progress">…</p><script>setInterval(async () => {'
        "const response = await fetch('/app/static/progress.json', {cache: 'no-store'});"
        "document.getElementById('progress').textContent = (await response.json()).text;"
        "}, 1000);</script>",
        unsafe_allow_javascript=True,
    )
"""
MODES = ("idle", "fragment", "polling")


def watch(app_dir: Path, mode: str, seconds: float) -> tuple[float, float]:
    """Chromium's and the server's CPU seconds per minute while one page of this mode is open."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true", "--server.fileWatcherType", "none",
         "--server.enableStaticServing", "true", "--browser.gatherUsageStats", "false",
         "--runner.postScriptGC", "false"],
        cwd=app_dir, env=os.environ | {"REFRESH_MODE": mode},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_healthy(f"http://127.0.0.1:{port}")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}")
            first = page.locator(".progress").inner_text(timeout=60_000)
            page.wait_for_timeout(5_000)  # past the page's first drawing
            if mode != "idle" and page.locator(".progress").inner_text() == first:
                raise SystemExit(f"{mode}: the progress line did not change")
            chromium, served, start = (
                processes_cpu_seconds(chromium_pids()),
                cpu_seconds(server.pid),
                time.monotonic(),
            )
            page.wait_for_timeout(seconds * 1000)
            per_minute = 60 / (time.monotonic() - start)
            chromium = (processes_cpu_seconds(chromium_pids()) - chromium) * per_minute
            served = (cpu_seconds(server.pid) - served) * per_minute
            browser.close()
        return chromium, served
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="bench-refresh-") as folder:
        app_dir = Path(folder)
        (app_dir / "app.py").write_text(PAGE)
        (app_dir / "static").mkdir()
        for round_number in range(args.rounds):
            for mode in MODES:
                chromium, served = watch(app_dir, mode, args.seconds)
                results[mode].append((chromium, served))
                print(
                    f"round {round_number + 1}, {mode}: Chromium {chromium:.2f} CPU-s/min, "
                    f"server {served:.2f}",
                    flush=True,
                )
    for mode, figures in results.items():
        chromium = [c for c, _ in figures]
        print(
            f"{mode}: Chromium median {statistics.median(chromium):.2f} CPU-s/min "
            f"({min(chromium):.2f}-{max(chromium):.2f}), server median "
            f"{statistics.median(s for _, s in figures):.2f}"
        )


if __name__ == "__main__":
    main()
