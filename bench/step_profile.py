"""Where a training step's time goes: per layer forward/backward, optimizer, Keras's loop, data, callbacks.

For one preset it times, on one fixed batch of real MNIST digits:

- each layer's forward pass and forward+backward pass alone (a tf.function per layer, inputs being
  the previous layer's real output), and the optimizer's update of all weights;
- a whole hand-written training step (forward, loss, gradients, Adam) in a tf.function, and
  `model.fit` on the same batch repeated (adds Keras's loop, metrics and Python);
- `model.fit` on the app's tf.data pipeline (adds the data pipeline), with the app's per-batch
  callbacks (cosine learning rate and a progress callback that reads the loss every batch);
- the pipeline alone (batches drawn per second).

Then digits/s of `fit` on the pipeline for each variant asked for: --jit (XLA), --batch-sizes,
--float-data (pre-scaled float32 in memory instead of uint8 gathered per batch). Thread settings
must be fixed before TensorFlow starts: run the script again with --intra/--inter.

    .venv/bin/python -m bench.step_profile default
    .venv/bin/python -m bench.step_profile cnn --batch-sizes 64,128,256 --jit
    .venv/bin/python -m bench.step_profile default --intra 1 --inter 1 --skip-layers
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", nargs="?", default="default")
    parser.add_argument("--batch-size", type=int, default=0, help="0: the preset's")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per measurement")
    parser.add_argument("--batch-sizes", default="", help="comma list: fit digits/s for each")
    parser.add_argument("--jit", action="store_true", help="also fit with jit_compile=True")
    parser.add_argument("--float-data", action="store_true", help="also fit on float32 in memory")
    parser.add_argument("--skip-layers", action="store_true", help="no per-layer table")
    parser.add_argument("--intra", type=int, default=0, help="intra-op threads (0: TF default)")
    parser.add_argument("--inter", type=int, default=0, help="inter-op threads (0: TF default)")
    return parser.parse_args()


ARGS = parse_args()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

if ARGS.intra:
    tf.config.threading.set_intra_op_parallelism_threads(ARGS.intra)
if ARGS.inter:
    tf.config.threading.set_inter_op_parallelism_threads(ARGS.inter)

from core.build import build_model  # noqa: E402
from core.data import batches, labels_for_loss, load_mnist, to_model_input  # noqa: E402
from core.presets import PRESETS  # noqa: E402
from core.training.callbacks import CosineDecayPerBatch  # noqa: E402


def best_of(fn, steps: int, repeats: int = 3) -> float:
    """Seconds per call of fn: after two warm-up calls, the best of `repeats` means of `steps`."""
    fn()
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            out = fn()
        if out is not None:
            np.asarray(tf.nest.flatten(out)[0])  # wait for the last result
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


def layer_table(model: keras.Model, x: tf.Tensor, steps: int) -> tuple[list, float, float]:
    """(name, forward s, forward+backward s) per layer, the optimizer update's seconds, and the
    cost of calling an empty tf.function (subtracted from every figure)."""

    @tf.function
    def empty(t=x):
        return t

    call = best_of(empty, steps)
    rows = []
    act = x
    for layer in model.layers:
        inp = tf.constant(act)
        out = layer(inp, training=True)
        upstream = tf.random.normal(out.shape)
        weights = layer.trainable_weights

        @tf.function
        def forward(t=inp, lyr=layer):
            return lyr(t, training=True)

        first = layer is model.layers[0]  # a training step needs no gradient of the digits

        @tf.function
        def forward_backward(t=inp, lyr=layer, up=upstream, ws=weights, first=first):
            with tf.GradientTape() as tape:
                if not first:
                    tape.watch(t)
                y = lyr(t, training=True)
                s = tf.reduce_sum(y * up)
            return tape.gradient(s, ws if first else [t, *ws])

        rows.append(
            (
                f"{layer.name} {tuple(out.shape[1:])}",
                max(0.0, best_of(forward, steps) - call),
                max(0.0, best_of(forward_backward, steps) - call),
            )
        )
        act = out
    grads = [tf.zeros_like(v) for v in model.trainable_variables]

    @tf.function
    def update():
        model.optimizer.apply(grads, model.trainable_variables)

    return rows, max(0.0, best_of(update, steps) - call), call


def raw_step_seconds(model: keras.Model, x: tf.Tensor, y: tf.Tensor, steps: int) -> float:
    """Seconds of one hand-written training step (forward, loss, gradients, update)."""
    loss_fn = model.loss

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply(grads, model.trainable_variables)
        return loss

    return best_of(step, steps)


class EpochClock(keras.callbacks.Callback):
    """Seconds of each epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._t0)


class ReadsLoss(keras.callbacks.Callback):
    """What the app's progress callback costs at least: a Python float of the loss every batch."""

    def on_train_batch_end(self, batch, logs=None):
        self.last = float(logs["loss"])


def fit_seconds(model, data, steps: int, callbacks=()) -> float:
    """Seconds per step of `fit` over `steps` batches (best of two epochs after a warm-up one)."""
    clock = EpochClock()
    model.fit(data, epochs=3, steps_per_epoch=steps, verbose=0, callbacks=[clock, *callbacks])
    return min(clock.seconds[1:]) / steps


def main() -> None:
    """Print the profile."""
    preset = PRESETS[ARGS.preset]
    spec = preset.spec
    batch = ARGS.batch_size or preset.batch_size
    steps = ARGS.steps
    mnist = load_mnist()
    y_all = labels_for_loss(mnist.y_train, spec.compile.loss)
    threads = (
        tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads(),
    )
    print(
        f"{ARGS.preset} ({spec.name}), batch {batch}, load average {os.getloadavg()[0]:.2f}, "
        f"{os.cpu_count()} cpus, intra/inter threads {threads} (0: TF default), "
        f"oneDNN {os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'default')}"
    )
    x = tf.constant(to_model_input(mnist.x_train[:batch], spec.input_shape))
    y = tf.constant(y_all[:batch])
    model = build_model(spec)
    model(x[:2])

    if not ARGS.skip_layers:
        rows, update, call = layer_table(model, x, steps)
        raw = raw_step_seconds(model, x, y, steps)
        total = sum(r[2] for r in rows) + update
        print(
            f"\nper layer, ms per batch of {batch} (share of the layers' sum + update), "
            f"less {call * 1e3:.2f} ms for calling an empty tf.function"
        )
        print(f"{'layer':<34}{'forward':>9}{'backward':>10}{'share':>8}")
        for name, fwd, both in rows:
            back = max(0.0, both - fwd)
            print(f"{name:<34}{fwd * 1e3:9.2f}{back * 1e3:10.2f}{both / total:8.1%}")
        print(f"{'optimizer update':<34}{'':9}{update * 1e3:10.2f}{update / total:8.1%}")
        print(f"{'sum':<34}{total * 1e3:19.2f}")
        print(f"{'hand-written step (one tf.function)':<43}{raw * 1e3:10.2f}")

    one_batch = tf.data.Dataset.from_tensors((x, y)).repeat()
    pipeline = batches(mnist.x_train, y_all, spec.input_shape, batch, shuffle=True, seed=0)

    def pipeline_only() -> float:
        it = iter(pipeline.repeat())
        next(it)
        t0 = time.perf_counter()
        for _ in range(steps):
            next(it)
        return (time.perf_counter() - t0) / steps

    fit_one = fit_seconds(model, one_batch, steps)
    fit_pipe = fit_seconds(model, pipeline.repeat(), steps)
    cosine = CosineDecayPerBatch(spec.compile.learning_rate, 10**6, lambda lr: None)
    fit_cos = fit_seconds(model, pipeline.repeat(), steps, [cosine])
    fit_cb = fit_seconds(model, pipeline.repeat(), steps, [cosine, ReadsLoss()])
    data = pipeline_only()
    print(f"\nms per step (batch {batch}); digits/s")
    for label, sec in (
        ("fit, one batch in memory", fit_one),
        ("fit, app's tf.data pipeline", fit_pipe),
        ("fit, pipeline + per-batch cosine callback", fit_cos),
        ("fit, pipeline + cosine + reading the loss", fit_cb),
        ("pipeline alone (draw a batch)", data),
    ):
        print(f"{label:<45}{sec * 1e3:8.2f}{batch / sec:10.0f}")

    variants = []
    if ARGS.jit:
        variants.append(("jit_compile=True", batch, True, False))
    if ARGS.float_data:
        variants.append(("float32 in memory", batch, False, True))
    for size in filter(None, ARGS.batch_sizes.split(",")):
        variants.append((f"batch {size}", int(size), False, False))
        if ARGS.jit:
            variants.append((f"batch {size}, jit", int(size), True, False))
    if variants:
        print("\nfit on the data with callbacks, digits/s")
    for label, size, jit, floats in variants:
        keras.backend.clear_session()
        model = build_model(spec)
        if jit:
            model.compile(
                optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"], jit_compile=True
            )
        if floats:
            xs = to_model_input(mnist.x_train, spec.input_shape)
            data = tf.data.Dataset.from_tensor_slices((xs, y_all)).shuffle(60000).batch(size)
        else:
            data = batches(mnist.x_train, y_all, spec.input_shape, size, shuffle=True, seed=0)
        cosine = CosineDecayPerBatch(spec.compile.learning_rate, 10**6, lambda lr: None)
        n = max(10, steps * batch // size)
        sec = fit_seconds(model, data.repeat(), n, [cosine, ReadsLoss()])
        print(f"{label:<45}{sec * 1e3:8.2f}{size / sec:10.0f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
