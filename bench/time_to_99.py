"""Training seconds until the default recipe first reaches 99.0% test accuracy on all 60k digits.

Trains with TrainingJob (the app's code path, without Streamlit), evaluates the 10k test set after
every epoch with the training clock paused, and prints when test accuracy first reached the target.

    .venv/bin/python bench/time_to_99.py            # the app's default preset
    .venv/bin/python bench/time_to_99.py --epochs 5 --batch-size 128 --lr 0.005
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402

from core.build import build_model  # noqa: E402
from core.data import load_mnist, to_model_input  # noqa: E402
from core.engine.scheduler import TrainingScheduler  # noqa: E402
from core.presets import PRESETS  # noqa: E402
from core.runs import RunStore  # noqa: E402
from core.training import TrainConfig, TrainingJob, seed_everything  # noqa: E402

PRESET = PRESETS["default"]
# The bench measures training time alone: no validation pass inside fit (it checks the test set
# itself after each epoch, off the clock), and a fixed seed.
BENCH_CONFIG = PRESET.train_config(validation="none", seed=0)

TARGET = 0.99


class TestClock(keras.callbacks.Callback):
    """Evaluates the test set after each epoch; the evaluation time is kept off the clock."""

    def __init__(self, x_test, y_test) -> None:
        super().__init__()
        self.x_test, self.y_test = x_test, y_test
        self.rows: list[tuple[int, float, float]] = []  # (epoch, training seconds, accuracy)

    def on_train_begin(self, logs=None) -> None:
        self.t0 = time.perf_counter()
        self.paused = 0.0

    def on_epoch_end(self, epoch, logs=None) -> None:
        t_pause = time.perf_counter()
        train_seconds = t_pause - self.t0 - self.paused
        _, accuracy = self.model.evaluate(self.x_test, self.y_test, batch_size=1000, verbose=0)
        self.rows.append((epoch + 1, train_seconds, accuracy))
        print(f"epoch {epoch + 1}: {train_seconds:6.1f} s training, test accuracy {accuracy:.4f}")
        self.paused += time.perf_counter() - t_pause


def time_to_target(model: keras.Model, config: TrainConfig) -> TestClock:
    """Train model on all 60k digits with config; return the per-epoch clock rows."""
    mnist = load_mnist()
    x_test = to_model_input(mnist.x_test, model.input_shape[1:])
    clock = TestClock(x_test, mnist.y_test.astype("int64"))
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp))
        job = TrainingJob(
            model, config, mnist, store.new_run_dir("bench"), {}, "bench", "bench", [clock]
        )
        TrainingScheduler(1).submit(job)
        job.wait()
        if job.status != "finished":
            raise SystemExit(f"training {job.status}: {job.snapshot().message}")
    return clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=BENCH_CONFIG.epochs)
    parser.add_argument("--batch-size", type=int, default=BENCH_CONFIG.batch_size)
    parser.add_argument("--lr", type=float, default=PRESET.spec.compile.learning_rate)
    parser.add_argument("--seed", type=int, default=BENCH_CONFIG.seed)
    args = parser.parse_args()
    config = dataclasses.replace(
        BENCH_CONFIG, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed
    )
    seed_everything(config.seed)
    compile_settings = dataclasses.replace(PRESET.spec.compile, learning_rate=args.lr)
    model = build_model(dataclasses.replace(PRESET.spec, compile=compile_settings))
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cpus; {config}")
    rows = time_to_target(model, config).rows
    hit = next((row for row in rows if row[2] >= TARGET), None)
    if hit:
        print(f"reached {TARGET:.1%} after epoch {hit[0]} at {hit[1]:.1f} s of training")
    else:
        print(f"did not reach {TARGET:.1%}")
    print(f"final test accuracy {rows[-1][2]:.4f} after {rows[-1][1]:.1f} s of training")


if __name__ == "__main__":
    main()
