"""What watching costs: training through the app, watched live in Chromium, vs a plain `model.fit`.

Starts the app server, opens the Train page in headless Chromium, trains a preset through the page
on all 60,000 digits and keeps the live view open until the run ends; then runs a plain
`model.fit` of the same model, data pipeline and batch size in a separate process (and, once per
preset for reference, one that hands `fit` the NumPy arrays as the tutorials do). Each watched
run is bracketed by a plain run before and one after, three brackets per preset, and compared
with their geometric mean: this machine's speed drifts by several percent over minutes, and the
bracket cancels a steady drift. The two plain runs of a bracket are the same training twice: their
ratio is the bench's own noise, printed beside each result (a watched ratio inside that noise
cannot be told from 1). Throughput is digits per second in the median epoch of a run, the first
(tracing) left out. Also reports the CPU time the server, the plain process and the browser used,
how long after the click on Train the first batch ended, and how far apart the live view's progress
updates came in the browser (recorded in the page by a MutationObserver, so that watching costs no
more than a learner's browser does: the end of a run is read from its files, not by Playwright
polling the page, which competed with the training).

Run from the repository root: .venv/bin/python -m bench.train_overhead [--brackets 3]
[--presets mlp_sgd default] [--unwatched] (--unwatched: each bracket also trains through the app with
the page closed after the first batch, which tells the browser's cost from the server's)
Goal: the worse ratio (printed last) at least 0.97; live view at most about 1 s behind; first batch
within 3 s of the click.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

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

BRACKETS = 3
DIGITS = 60_000
# (preset key, title in the picker, batch size: the preset's own, epochs per run). Epochs are many
# enough that a run lasts 10-30 s: this machine's epoch times jitter by up to 2x from one epoch to
# the next, so each run is summed up by the median of its epochs (the first, tracing, left out).
CASES = [
    ("mlp_sgd", "Tutorial MLP 784-64-10 (SGD)", 32, 8),
    ("default", "Recommended: small batch-normalised CNN", 128, 4),
]
# Appends [time, text] to window.progressLog whenever the progress line changes.
RECORD_PROGRESS = """
window.progressLog = [];
new MutationObserver(() => {
  const bar = document.querySelector(".train-progress");
  const text = bar ? bar.textContent : null;  // innerText would lay the page out
  const log = window.progressLog;
  if (text && text.includes('batch') && (!log.length || log[log.length - 1][1] !== text)) {
    log.push([Date.now() / 1000, text]);
  }
}).observe(document.body, {subtree: true, childList: true, characterData: true});
"""
TICK = os.sysconf("SC_CLK_TCK")
RUNNING = ("queued", "running")  # a run's status in its metrics.json until the training ends


def throughput(epoch_seconds: list[float], samples: int) -> float:
    """Digits per second in the median epoch after the first."""
    return samples / statistics.median(epoch_seconds[1:])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process has gone
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def chromium_pids() -> list[int]:
    """The Chromium processes this process started (not another session's browser on the machine:
    counting those once made the browser's CPU negative when one ended during a run)."""
    parents, chromium = {}, []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                parents[int(proc.name)] = int(proc_fields(proc)[1])
            except (OSError, IndexError, ValueError):
                continue  # the process has gone
            if b"chromium" in _cmdline(proc):
                chromium.append(int(proc.name))
    mine = []
    for pid in chromium:
        ancestor = parents.get(pid)
        while ancestor and ancestor != os.getpid():
            ancestor = parents.get(ancestor)
        if ancestor:
            mine.append(pid)
    return mine


def proc_fields(proc: Path) -> list[str]:
    """The fields of /proc/PID/stat after the (name), from the state on."""
    return (proc / "stat").read_text().rsplit(")", 1)[1].split()


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def plain_fit(preset: str, batch_size: int, epochs: int, *flags: str) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-m", "bench.plain_fit", preset, str(DIGITS), str(epochs), str(batch_size),
         *flags],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"throughput": throughput(result["epoch_seconds"], DIGITS), "cpu_s": cpu}


def wait_until_ended(runs_dir: Path, before: set[Path]) -> Path:
    """The run that appeared since `before`, once its training has ended (read from its files)."""
    while not (new := set(runs_dir.glob("*/*")) - before):
        time.sleep(0.5)
    metrics = next(iter(new)) / "metrics.json"
    while not metrics.exists() or json.loads(metrics.read_text())["status"] in RUNNING:
        time.sleep(0.5)
    return metrics.parent


def train_in_app(page: Page, url: str, case: tuple, runs_dir: Path, server_pid: int) -> dict:
    """Build and train a preset through the UI, watching the live view; return measurements."""
    _, title, _, epochs = case
    build_preset(page, url, title)
    go_to(page, "Train")
    before = set(runs_dir.glob("*/*"))
    page.evaluate(RECORD_PROGRESS)
    browser_cpu, server_cpu = cpu_seconds(chromium_pids()), cpu_seconds([server_pid])
    clicked = time.time()
    start_training(page, "all 60,000", epochs, validation="none")
    run = wait_until_ended(runs_dir, before)
    expect(page.get_by_text("Training finished")).to_be_visible(timeout=30_000)
    browser_cpu = cpu_seconds(chromium_pids()) - browser_cpu
    server_cpu = cpu_seconds([server_pid]) - server_cpu
    updates = [t for t, _ in page.evaluate("window.progressLog")]
    history = json.loads((run / "history.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    gaps = sorted(b - a for a, b in zip(updates, updates[1:], strict=False))
    return {
        "throughput": throughput(history["epochs"]["epoch_seconds"], DIGITS),
        "first_batch_s": metrics["first_batch_at"] - clicked,
        "wall_s": metrics["wall_seconds"],
        "browser_cpu_s": browser_cpu,
        "server_cpu_s": server_cpu,
        "updates": len(updates),
        "p95_gap_s": gaps[int(0.95 * (len(gaps) - 1))] if gaps else float("nan"),
        "max_gap_s": gaps[-1] if gaps else float("nan"),
    }


def train_unwatched(page: Page, url: str, case: tuple, runs_dir: Path) -> dict:
    """The same training through the UI, the page left for a blank one once the first batch has
    shown: the server's own cost of a training, without a browser redrawing the live view."""
    _, title, _, epochs = case
    build_preset(page, url, title)
    go_to(page, "Train")
    before = set(runs_dir.glob("*/*"))
    start_training(page, "all 60,000", epochs, validation="none")
    expect(page.locator(".train-progress")).to_contain_text("batch", timeout=120_000)
    page.goto("about:blank")
    run = wait_until_ended(runs_dir, before)
    history = json.loads((run / "history.json").read_text())
    return {"throughput": throughput(history["epochs"]["epoch_seconds"], DIGITS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brackets", type=int, default=BRACKETS)
    parser.add_argument("--presets", nargs="+", default=[case[0] for case in CASES])
    parser.add_argument(
        "--unwatched", action="store_true",
        help="also train each bracket once more with the page closed after the first batch",
    )  # fmt: skip
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="bench-runs-")) / "runs"
    runs_dir.parent.mkdir(exist_ok=True)
    port = free_port()
    server = start_app(port, runs_dir)
    url = f"http://127.0.0.1:{port}"
    ratios = {}
    try:
        wait_healthy(url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            for case in (case for case in CASES if case[0] in args.presets):
                preset, _, batch_size, epochs = case
                ratios[preset], noise = [], []
                before = plain_fit(preset, batch_size, epochs)
                for bracket in range(args.brackets):
                    app = train_in_app(page, url, case, runs_dir, server.pid)
                    after = plain_fit(preset, batch_size, epochs)
                    plain = math.sqrt(before["throughput"] * after["throughput"])
                    ratios[preset].append(app["throughput"] / plain)
                    noise.append(after["throughput"] / before["throughput"])
                    if args.unwatched:
                        alone = train_unwatched(page, url, case, runs_dir)
                        print(
                            f"{preset} bracket {bracket + 1}: app unwatched "
                            f"{alone['throughput']:,.0f} digits/s; watched / unwatched "
                            f"{app['throughput'] / alone['throughput']:.3f}",
                            flush=True,
                        )
                    print(
                        f"{preset} bracket {bracket + 1}: app {app['throughput']:,.0f} digits/s, "
                        f"plain {before['throughput']:,.0f} before and {after['throughput']:,.0f} "
                        f"after, ratio {ratios[preset][-1]:.3f} (plain after / before "
                        f"{noise[-1]:.3f}); CPU s: server {app['server_cpu_s']:.1f} (plain process "
                        f"{after['cpu_s']:.1f}), browser {app['browser_cpu_s']:.1f} "
                        f"in {app['wall_s']:.0f} s; first batch {app['first_batch_s']:.2f} s "
                        f"after the click; {app['updates']} live-view updates, "
                        f"gap p95 {app['p95_gap_s']:.2f} s, max {app['max_gap_s']:.2f} s",
                        flush=True,
                    )
                    before = after  # the next bracket opens with this one's closing run
                arrays = plain_fit(preset, batch_size, epochs, "--arrays")
                spread = max(abs(math.log(r)) for r in noise)
                print(
                    f"{preset}: median ratio {statistics.median(ratios[preset]):.3f} "
                    f"(brackets {', '.join(f'{r:.3f}' for r in ratios[preset])}); the bench's "
                    f"noise, plain after / before: {', '.join(f'{r:.3f}' for r in noise)} "
                    f"(up to {math.exp(spread) - 1:.0%}); fit on the arrays as in the tutorials "
                    f"{arrays['throughput']:,.0f} digits/s",
                    flush=True,
                )
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    medians = {preset: statistics.median(r) for preset, r in ratios.items()}
    worst = min(medians, key=medians.get)
    print(f"worse ratio (app watched / plain fit), {worst}: {medians[worst]:.3f}")


if __name__ == "__main__":
    main()
