"""Server-side cost of the Look inside page, against one plain `model.predict` of the same digit.

Run from the repository root: .venv/bin/python -m bench.look_inside
For the default CNN and the tutorial MLP: everything the page computes for one digit (every layer's
activation, the probabilities, saliency and Grad-CAM in one compiled call) over 200 test digits;
occlusion separately; the 2,000-digit map (features, PCA, t-SNE); the per-epoch snapshot against
an epoch of plain `fit`. Weights do not change the cost, so the models are used as built.
Goals: p95 <= 100 ms per digit, occlusion p95 <= 300 ms, the map <= 10 s, snapshots < 2% of an
epoch. The last line prints the worse model's per-digit p95 as `p95 N ms`.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from bench.draw_latency import percentiles_ms
from core.build import build_model
from core.data import Mnist, load_mnist, to_model_input
from core.inside.attribution import occlusion_map
from core.inside.probe import Probe
from core.inside.projection import build_map, tsne_2d
from core.presets import PRESETS
from core.snapshots import EpochSnapshots

DIGITS = 200
FIT_DIGITS = 10_000  # one epoch of plain fit on these, scaled to 60,000, for the snapshot ratio


def measure(key: str, mnist: Mnist) -> float:
    """Print every figure for one preset; return its per-digit p95 in ms."""
    images = mnist.x_test[:DIGITS] / np.float32(255)
    spec = PRESETS[key].spec
    model = build_model(spec)
    shape = spec.input_shape
    start = time.perf_counter()
    probe = Probe(model)
    probe.read(images[0])
    built = time.perf_counter() - start
    plain = percentiles_ms(lambda i: model.predict(images[i].reshape(1, *shape), verbose=0), DIGITS)
    inside = percentiles_ms(lambda i: probe.read(images[i], i % 10), DIGITS)
    occlusion = percentiles_ms(lambda i: occlusion_map(probe, images[i], i % 10), DIGITS)
    print(f"{spec.name}: probe built and traced in {built:.2f} s (once per model)")
    print(f"  plain model.predict, one digit: p50 {plain[0]:.1f} ms, p95 {plain[1]:.1f} ms")
    print(
        f"  everything for one digit: p50 {inside[0]:.1f} ms, p95 {inside[1]:.1f} ms "
        f"(ratio to predict p95: {inside[1] / plain[1]:.2f})"
    )
    print(
        f"  occlusion (144 patches, one batch): p50 {occlusion[0]:.1f} ms, p95 {occlusion[1]:.1f} ms"
    )
    start = time.perf_counter()
    digit_map, features = build_map(probe, mnist.x_test, mnist.y_test)
    pca_seconds = time.perf_counter() - start
    tsne_2d(features)
    map_seconds = time.perf_counter() - start
    print(
        f"  map of 2,000 digits: features + PCA {pca_seconds:.2f} s, with t-SNE {map_seconds:.2f} s"
    )

    x = to_model_input(mnist.x_train[:FIT_DIGITS], shape)
    y = mnist.y_train[:FIT_DIGITS]
    if spec.compile.loss == "categorical_crossentropy":
        y = np.eye(10, dtype="float32")[y]
    model.fit(x[:256], y[:256], epochs=1, batch_size=PRESETS[key].batch_size, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=PRESETS[key].batch_size, verbose=0)
    epoch_seconds = (time.perf_counter() - start) * 60_000 / FIT_DIGITS
    with tempfile.TemporaryDirectory() as folder:
        snapshots = EpochSnapshots(folder, mnist)
        snapshots.set_model(model)
        snapshots.on_train_begin()
        for epoch in range(4):
            snapshots.on_epoch_end(epoch)
    snapshot_seconds = float(np.median(snapshots.seconds[1:]))
    print(
        f"  snapshot per epoch {snapshot_seconds * 1000:.0f} ms vs a 60k epoch of plain fit "
        f"{epoch_seconds:.1f} s: {snapshot_seconds / epoch_seconds:.2%} (first {snapshots.seconds[0] * 1000:.0f} ms)"
    )
    return inside[1]


def main() -> None:
    mnist = load_mnist()
    worst = max(measure(key, mnist) for key in ("default", "mlp_sgd"))
    print(f"p95 {worst:.0f} ms")


if __name__ == "__main__":
    main()
