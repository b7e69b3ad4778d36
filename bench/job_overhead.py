"""The app's training path without the app: `TrainingJob` through the threads engine against plain
`model.fit` of the same model and pipeline, alternating in one process (so that both share the
process, its TensorFlow threads and the machine's drift), no server and no browser.

Tells the cost of the job's own work (its callbacks: the cosine schedule, the live progress,
Look inside's snapshots, the stop at an epoch's end; its saved epochs) from what `train_overhead`
measures on top (the app server's process, the browser). Throughput is digits per second in the
median epoch after the first, on all 60,000 digits.

Run from the repository root: .venv/bin/python -m bench.job_overhead [--preset default]
[--rounds 4] [--epochs 4] [--without EpochSnapshots CosineDecayPerBatch ...] (--without: also
a job without each of these callbacks, to see what each costs)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench.plain_fit import EpochTimer
from core.build import build_model
from core.data import Mnist, batches, labels_for_loss, load_mnist
from core.engine import TrainingRequest
from core.engine.threads import ThreadEngine
from core.presets import PRESETS, Preset
from core.runs import RunStore
from core.training.job import TrainingJob

# The job's own callback list; app_job swaps it in and out for --without (the app never does).
ALL_CALLBACKS = TrainingJob._callbacks


def plain_fit(preset: Preset, mnist: Mnist, epochs: int) -> list[float]:
    spec = preset.spec
    y = labels_for_loss(mnist.y_train, spec.compile.loss)
    data = batches(mnist.x_train, y, spec.input_shape, preset.batch_size, shuffle=True)
    timer = EpochTimer()
    build_model(spec).fit(data, epochs=epochs, verbose=0, callbacks=[timer])
    return timer.seconds


def app_job(
    preset: Preset, engine: ThreadEngine, store: RunStore, epochs: int, without: str = ""
) -> list[float]:
    """The job's epoch seconds; without: the name of a callback class it trains without."""
    TrainingJob._callbacks = lambda job: [
        callback for callback in ALL_CALLBACKS(job) if type(callback).__name__ != without
    ]
    config = preset.train_config(epochs=epochs, validation="none")
    run_dir = str(store.new_run_dir("bench"))
    request = TrainingRequest("bench", run_dir, "job", config, spec=preset.spec.to_dict())
    handle = engine.submit(request)
    if not handle.wait(900) or handle.status != "finished":
        raise RuntimeError(f"the job did not finish: {handle.snapshot().message}")
    return list(handle.snapshot().history["epoch_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS))
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--without", nargs="*", default=[], metavar="CALLBACK")
    args = parser.parse_args()
    preset, mnist = PRESETS[args.preset], load_mnist()
    engine = ThreadEngine(lambda: mnist)
    store = RunStore(Path(tempfile.mkdtemp(prefix="bench-runs-")))
    runs = {
        "plain": lambda: plain_fit(preset, mnist, args.epochs),
        "job": lambda: app_job(preset, engine, store, args.epochs),
    } | {
        f"job without {name}": lambda name=name: app_job(preset, engine, store, args.epochs, name)
        for name in args.without
    }
    speeds: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(args.rounds):
        for name in list(runs) if round_ % 2 == 0 else list(runs)[::-1]:
            seconds = runs[name]()
            speeds[name].append(len(mnist.x_train) / statistics.median(seconds[1:]))
            print(f"round {round_ + 1} {name}: {speeds[name][-1]:,.0f} digits/s", flush=True)
    plain = speeds.pop("plain")
    for name, speed in speeds.items():
        ratios = [job / fit for job, fit in zip(speed, plain, strict=True)]
        print(
            f"{args.preset}, {name} / plain fit per round {', '.join(f'{r:.3f}' for r in ratios)}; "
            f"medians {statistics.median(speed):,.0f} / {statistics.median(plain):,.0f} digits/s, "
            f"ratio {statistics.median(speed) / statistics.median(plain):.3f}"
        )


if __name__ == "__main__":
    main()
