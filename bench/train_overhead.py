"""What watching costs: training through the app, watched live in Chromium, vs a plain `model.fit`.

Starts the app server, opens the Train page in headless Chromium, trains a preset through the page
and keeps the live view open until the run ends; then runs a plain `model.fit` of the same model,
data and batch size in a separate process. Pairs alternate, three per preset. Throughput is digits
per second over whole epochs, leaving out the first epoch of each (tracing). Also reports how long
the first batch took after the click and the longest gap between two refreshes of the live view.

Run from the repository root: .venv/bin/python -m bench.train_overhead
Goal: the worse ratio (printed last) at least 0.97.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

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

PAIRS = 3
EPOCHS = 3
# (preset key, title in the picker, training digits option, batch size)
CASES = [
    ("mlp_sgd", "Tutorial MLP 784-64-10 (SGD)", 60_000, 32),
    ("default", "Recommended: small batch-normalised CNN", 10_000, 128),
]
DIGIT_LABELS = {10_000: "10,000", 60_000: "all 60,000"}


def throughput(epoch_seconds: list[float], samples: int) -> float:
    """Digits per second over whole epochs after the first."""
    return samples * (len(epoch_seconds) - 1) / sum(epoch_seconds[1:])


def plain_fit(preset: str, digits: int, batch_size: int) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "bench.plain_fit", preset, str(digits), str(EPOCHS), str(batch_size)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return throughput(result["epoch_seconds"], result["samples"])


def train_in_app(page: Page, url: str, title: str, digits: int, runs_dir: Path) -> dict:
    """Build and train a preset through the UI, watching the live view; return measurements."""
    build_preset(page, url, title)
    go_to(page, "Train")
    before = set(runs_dir.glob("*/*"))
    start_training(page, DIGIT_LABELS[digits], EPOCHS, validation="none")
    # Watch: sample the progress line ten times a second and note when it changes.
    changes, last_text = [], None
    while not page.get_by_text("Training finished").count():
        progress = page.get_by_test_id("stProgress")
        text = progress.inner_text() if progress.count() else None
        if text and "batch" in text and text != last_text:
            changes.append(time.time())
            last_text = text
        page.wait_for_timeout(100)
    run = next(iter(set(runs_dir.glob("*/*")) - before))
    history = json.loads((run / "history.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    gaps = [b - a for a, b in zip(changes, changes[1:], strict=False)]
    return {
        "throughput": throughput(history["epochs"]["epoch_seconds"], digits),
        "first_batch_s": metrics["first_batch_seconds"],
        "max_refresh_gap_s": max(gaps) if gaps else float("nan"),
    }


def main() -> None:
    runs_dir = Path(tempfile.mkdtemp(prefix="bench-runs-"))
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
            for preset, title, digits, batch_size in CASES:
                app_runs, plain_runs = [], []
                for pair in range(PAIRS):
                    app = train_in_app(page, url, title, digits, runs_dir)
                    plain = plain_fit(preset, digits, batch_size)
                    app_runs.append(app)
                    plain_runs.append(plain)
                    print(
                        f"{preset} pair {pair + 1}: app {app['throughput']:,.0f} digits/s, "
                        f"plain {plain:,.0f} digits/s; first batch {app['first_batch_s']:.2f} s "
                        f"after the job was created; longest gap between live-view refreshes "
                        f"{app['max_refresh_gap_s']:.2f} s",
                        flush=True,
                    )
                app_median = statistics.median(r["throughput"] for r in app_runs)
                plain_median = statistics.median(plain_runs)
                ratios[preset] = app_median / plain_median
                print(
                    f"{preset}: median app {app_median:,.0f} vs plain {plain_median:,.0f} digits/s, "
                    f"ratio {ratios[preset]:.3f}",
                    flush=True,
                )
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    worst = min(ratios, key=ratios.get)
    print(f"worse ratio (app watched / plain fit), {worst}: {ratios[worst]:.3f}")


if __name__ == "__main__":
    main()
