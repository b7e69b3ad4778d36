"""Training seconds to 99.0% test accuracy: the recommended preset against the keras.io convnet.

The preset trains with TrainingJob (the app's code path, without Streamlit, its live-progress
callback included). The reference is the keras.io "Simple MNIST convnet" recipe (Conv2D 32 3x3
relu, MaxPool 2, Conv2D 64 3x3 relu, MaxPool 2, Flatten, Dropout 0.5, Dense 10 softmax; Adam with
its defaults; batch 128; categorical cross-entropy), trained with plain `model.fit` on the same
60k digits through the same data pipeline, so the reference pays no callback the app adds. Both
evaluate the 10k test set after every epoch with the training clock paused and stop once they
reach the target (--no-stop: run all epochs). The last line is `ratio N`: the preset's training
time over the reference's; the line before it compares the CPU seconds the process spent, which
other programs on the same cores disturb less.

    .venv/bin/python bench/time_to_99.py                     # both, in this order
    .venv/bin/python bench/time_to_99.py --reference-epochs 0 --epochs 5   # the preset alone
    .venv/bin/python bench/time_to_99.py --reference-first --reference-epochs 15
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
from core.data import batches, labels_for_loss, load_mnist, to_model_input  # noqa: E402
from core.engine.scheduler import TrainingScheduler  # noqa: E402
from core.presets import PRESETS  # noqa: E402
from core.runs import RunStore  # noqa: E402
from core.spec import CompileSpec, NetworkSpec, conv, dense, layer  # noqa: E402
from core.training import TrainConfig, TrainingJob, seed_everything  # noqa: E402

PRESET = PRESETS["default"]
# The bench measures training time alone: no validation pass inside fit (it checks the test set
# itself after each epoch, off the clock), and a fixed seed.
BENCH_CONFIG = PRESET.train_config(validation="none", seed=0)

TARGET = 0.99

# https://keras.io/examples/vision/mnist_convnet/ (its validation_split is left out: all 60k train)
REFERENCE = NetworkSpec(
    name="keras.io Simple MNIST convnet",
    layers=(
        conv(32),
        layer("MaxPooling2D", pool_size=2),
        conv(64),
        layer("MaxPooling2D", pool_size=2),
        layer("Flatten"),
        layer("Dropout", rate=0.5),
        dense(10, "softmax"),
    ),
    compile=CompileSpec("adam", 0.001, 0.0, "categorical_crossentropy"),
)
REFERENCE_BATCH = 128


class TestClock(keras.callbacks.Callback):
    """Evaluates the test set after each epoch; the evaluation time is kept off the clock."""

    def __init__(self, x_test, y_test, stop_at_target: bool = True) -> None:
        super().__init__()
        self.x_test, self.y_test = x_test, y_test
        self.stop_at_target = stop_at_target
        # (epoch, training seconds, test accuracy, CPU seconds of this process while training)
        self.rows: list[tuple[int, float, float, float]] = []

    def on_train_begin(self, logs=None) -> None:
        self.t0, self.cpu0 = time.perf_counter(), time.process_time()
        self.paused = self.cpu_paused = 0.0

    def on_epoch_end(self, epoch, logs=None) -> None:
        t_pause, cpu_pause = time.perf_counter(), time.process_time()
        train_seconds = t_pause - self.t0 - self.paused
        cpu_seconds = cpu_pause - self.cpu0 - self.cpu_paused
        _, accuracy = self.model.evaluate(self.x_test, self.y_test, batch_size=1000, verbose=0)
        self.rows.append((epoch + 1, train_seconds, accuracy, cpu_seconds))
        print(
            f"  epoch {epoch + 1}: {train_seconds:6.1f} s training ({cpu_seconds:6.1f} CPU-s),"
            f" test accuracy {accuracy:.4f} (load {os.getloadavg()[0]:.2f})",
            flush=True,
        )
        if self.stop_at_target and accuracy >= TARGET:
            self.model.stop_training = True
        self.paused += time.perf_counter() - t_pause
        self.cpu_paused += time.process_time() - cpu_pause

    def first_hit(self) -> tuple[int, float, float, float] | None:
        """The row of the epoch whose test accuracy first reached the target, None if none did."""
        return next((row for row in self.rows if row[2] >= TARGET), None)


def test_clock(model: keras.Model, loss: str, stop_at_target: bool) -> TestClock:
    """A TestClock on the 10k test digits, labelled as the model's loss wants them."""
    mnist = load_mnist()
    x_test = to_model_input(mnist.x_test, model.input_shape[1:])
    return TestClock(x_test, labels_for_loss(mnist.y_test, loss), stop_at_target)


def time_to_target(model: keras.Model, config: TrainConfig, stop: bool = True) -> TestClock:
    """Train model the app's way on all 60k digits with config; return the per-epoch clock."""
    mnist = load_mnist()
    clock = test_clock(model, PRESET.spec.compile.loss, stop)
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


def reference_time(epochs: int, seed: int | None, stop: bool = True) -> TestClock:
    """Train the keras.io convnet with plain `model.fit` on all 60k digits; its per-epoch clock."""
    seed_everything(seed)
    model = build_model(REFERENCE)
    mnist = load_mnist()
    loss = REFERENCE.compile.loss
    y = labels_for_loss(mnist.y_train, loss)
    data = batches(mnist.x_train, y, REFERENCE.input_shape, REFERENCE_BATCH, True, seed)
    clock = test_clock(model, loss, stop)
    model.fit(data, epochs=epochs, verbose=0, callbacks=[clock])
    return clock


def report(name: str, clock: TestClock) -> tuple[float, float] | None:
    """Print when the target was reached; return (seconds, CPU seconds), None if not reached."""
    hit = clock.first_hit()
    if hit is None:
        epoch, seconds = clock.rows[-1][:2]
        print(f"{name}: did not reach {TARGET:.1%} in {epoch} epochs ({seconds:.1f} s)")
        return None
    epoch, seconds, accuracy, cpu_seconds = hit
    print(
        f"{name}: reached {TARGET:.1%} after epoch {epoch} at {seconds:.1f} s of training"
        f" ({cpu_seconds:.1f} CPU-s), test accuracy {accuracy:.4f}"
    )
    return seconds, cpu_seconds


def main() -> None:
    """Train the preset, then the reference (or the other way round); print both and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=BENCH_CONFIG.epochs, help="preset epochs")
    parser.add_argument("--batch-size", type=int, default=BENCH_CONFIG.batch_size)
    parser.add_argument("--lr", type=float, default=PRESET.spec.compile.learning_rate)
    parser.add_argument("--seed", type=int, default=BENCH_CONFIG.seed)
    parser.add_argument(
        "--reference-epochs",
        type=int,
        default=15,
        help="cap for the reference (keras.io: 15; 0: skip)",
    )
    parser.add_argument("--reference-first", action="store_true", help="train the reference first")
    parser.add_argument("--no-stop", action="store_true", help="train all epochs, past the target")
    args = parser.parse_args()
    stop = not args.no_stop
    config = dataclasses.replace(
        BENCH_CONFIG, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed
    )
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cpus; {config}", flush=True)

    def run_preset() -> tuple[float, float] | None:
        print(f"preset {PRESET.spec.name} (lr {args.lr}), the app's TrainingJob:", flush=True)
        seed_everything(config.seed)
        compile_settings = dataclasses.replace(PRESET.spec.compile, learning_rate=args.lr)
        model = build_model(dataclasses.replace(PRESET.spec, compile=compile_settings))
        return report("preset", time_to_target(model, config, stop))

    def run_reference() -> tuple[float, float] | None:
        print(f"reference {REFERENCE.name}, plain model.fit, batch {REFERENCE_BATCH}:", flush=True)
        return report("reference", reference_time(args.reference_epochs, args.seed, stop))

    if args.reference_epochs < 1:
        run_preset()
        return
    if args.reference_first:
        reference, preset = run_reference(), run_preset()
    else:
        preset, reference = run_preset(), run_reference()
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if preset is None or reference is None:
        print("ratio n/a")
    else:
        # CPU seconds suffer less from other programs on the same cores than wall-clock seconds.
        print(f"CPU-seconds ratio {preset[1] / reference[1]:.3f}")
        print(f"ratio {preset[0] / reference[0]:.3f}")


if __name__ == "__main__":
    main()
