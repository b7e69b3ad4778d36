"""What the browser spends to watch a training: Chromium's CPU per minute of the Train page's live view.

Starts the app server, builds a preset in headless Chromium, starts a long training on all 60,000
digits and, once batches flow, reads the CPU time of each process of the Chromium it started, by
kind (and the renderer's own breakdown from the DevTools protocol: script, layout, style) over a
window of watching; then presses Stop and reads the same over up to 20 s of the finished page, the
floor that the open page costs. The figure to cut is the first; bench/train_overhead.py measures what it costs the
training.

Run from the repository root: .venv/bin/python -m bench.watch_cpu [--preset mlp_sgd] [--seconds 40]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from bench.train_overhead import CASES, RECORD_PROGRESS, chromium_pids, cpu_seconds
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    build_preset,
    free_port,
    go_to,
    start_app,
    start_training,
    wait_healthy,
)

METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def by_kind() -> dict[str, float]:
    """CPU seconds of Chromium's processes so far, summed by kind (browser, renderer, gpu ...)."""
    kinds: dict[str, float] = {}
    for pid in chromium_pids():
        try:
            # Chromium rewrites its command line as one string with spaces (setproctitle).
            args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
        except OSError:
            continue
        kind = next((a[7:].decode() for a in args if a.startswith(b"--type=")), "browser")
        kind = next(
            (a.decode().split("=")[1] for a in args if a.startswith(b"--utility-sub-type=")), kind
        )
        kinds[kind] = kinds.get(kind, 0.0) + cpu_seconds([pid])
    return kinds


def window(page: Page, cdp, seconds: float, server_pid: int) -> dict:
    """Chromium's and the server's CPU seconds, and the renderer's task times, over `seconds`."""

    def metrics() -> dict:
        return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}

    browser, server, before = cpu_seconds(chromium_pids()), cpu_seconds([server_pid]), metrics()
    kinds = by_kind()
    start = time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    elapsed = time.monotonic() - start
    after = metrics()
    per_minute = 60 / elapsed
    kinds = {k: (v - kinds.get(k, 0.0)) * per_minute for k, v in by_kind().items()}
    return {
        "browser_cpu_per_min": (cpu_seconds(chromium_pids()) - browser) * per_minute,
        "server_cpu_per_min": (cpu_seconds([server_pid]) - server) * per_minute,
        **{name: (after[name] - before[name]) * per_minute for name in METRICS},
        "kinds": kinds,
    }


def show(label: str, figures: dict) -> None:
    print(
        f"{label}: browser {figures['browser_cpu_per_min']:.1f} CPU-s/min, server "
        f"{figures['server_cpu_per_min']:.1f}; renderer task {figures['TaskDuration']:.1f} s/min "
        f"(script {figures['ScriptDuration']:.1f}, layout {figures['LayoutDuration']:.1f}, "
        f"style {figures['RecalcStyleDuration']:.1f}); by process: "
        + ", ".join(f"{k} {v:.1f}" for k, v in sorted(figures["kinds"].items())),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mlp_sgd", choices=[case[0] for case in CASES])
    parser.add_argument("--seconds", type=float, default=40)
    args = parser.parse_args()
    case = next(case for case in CASES if case[0] == args.preset)
    runs_dir = Path(tempfile.mkdtemp(prefix="bench-runs-")) / "runs"
    runs_dir.parent.mkdir(exist_ok=True)
    port = free_port()
    server = start_app(port, runs_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            build_preset(page, url, case[1])
            go_to(page, "Train")
            page.evaluate(RECORD_PROGRESS)
            start_training(page, "all 60,000", 100, validation="none")
            expect(page.locator(".train-progress")).to_contain_text("batch", timeout=120_000)
            page.wait_for_timeout(5_000)
            page.evaluate("window.progressLog = []")
            watching = window(page, cdp, args.seconds, server.pid)
            updates = page.evaluate("window.progressLog")
            show("watching", watching)
            gaps = sorted(b[0] - a[0] for a, b in zip(updates, updates[1:], strict=False))
            if gaps:
                print(
                    f"{len(updates)} progress updates, gap median {gaps[len(gaps) // 2]:.2f} s, "
                    f"max {gaps[-1]:.2f} s",
                    flush=True,
                )
            page.get_by_role("button", name="Stop").click()
            expect(page.get_by_text("Training stopped")).to_be_visible(timeout=120_000)
            page.wait_for_timeout(3_000)
            show("finished page", window(page, cdp, min(args.seconds, 20), server.pid))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
