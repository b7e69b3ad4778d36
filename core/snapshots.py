"""Per-epoch snapshots of a training run: first-layer weights and the map of 500 fixed digits.

Written into the run's folder as `snapshots/epoch-NNN.npz` at the end of each epoch; read back by
the Look inside page to show the filters and the map taking shape. Cheap by design: the 500 digits
go through the model once per epoch (eagerly, so nothing is traced) and PCA runs on 500 rows.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from core.data import Mnist
from core.inside.layers import describe, feature_layer, layer_graph
from core.inside.projection import SNAPSHOT_SIZE, align_to, map_indices, pca_2d
from core.inside.weights import first_weights

SNAPSHOT_DIR = "snapshots"
_FILE_RE = re.compile(r"epoch-(\d{3,})\.npz")


@dataclass(frozen=True)
class Snapshot:
    """One epoch's end: the first layer's weight pictures and the 500 digits' 2-D positions."""

    epoch: int  # 1-based
    weight_kind: str  # "filters", "units", "templates" or "" when the first layer has none
    weights: np.ndarray  # (n, h, w)
    positions: np.ndarray  # (500, 2)
    indices: np.ndarray  # (500,) test indices
    true: np.ndarray  # (500,)
    predicted: np.ndarray  # (500,)


def snapshot_path(run_dir: Path, epoch: int) -> Path:
    return Path(run_dir) / SNAPSHOT_DIR / f"epoch-{epoch:03d}.npz"


class EpochSnapshots(keras.callbacks.Callback):
    """Saves a Snapshot at every epoch end; never fails the training it watches."""

    def __init__(self, run_dir: Path, mnist: Mnist) -> None:
        super().__init__()
        self.run_dir = Path(run_dir)
        self.indices = map_indices()[:SNAPSHOT_SIZE]
        self.true = np.asarray(mnist.y_test[self.indices])
        self.images = np.divide(mnist.x_test[self.indices], np.float32(255))
        self._reader: keras.Model | None = None
        self._previous: np.ndarray | None = None
        self.disabled = False
        self.seconds: list[float] = []  # time spent per epoch, for the benchmark

    def on_train_begin(self, logs: dict | None = None) -> None:
        try:
            infos = describe(self.model)
            feature = feature_layer(infos)
            inputs, outputs, final = layer_graph(self.model)
            hidden = outputs[feature.index] if feature else inputs
            self._reader = keras.Model(inputs, [hidden, final])
            self.images = self.images.reshape((len(self.images), *self.model.input_shape[1:]))
            self._previous = latest_positions(self.run_dir)
        except (AttributeError, ValueError, TypeError):
            self.disabled = True  # a model without a readable graph trains without snapshots

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.disabled or self._reader is None:
            return
        start = time.perf_counter()
        try:
            self._save(epoch + 1)
        except (OSError, ValueError, TypeError):
            self.disabled = True  # a full disk or an odd model loses the snapshots, not the run
        self.seconds.append(time.perf_counter() - start)

    def _save(self, epoch: int) -> None:
        hidden, outputs = self._reader(self.images, training=False)
        features = np.asarray(hidden).reshape(len(self.images), -1)
        positions = align_to(self._previous, pca_2d(features))
        self._previous = positions
        weights = first_weights(self.model)
        path = snapshot_path(self.run_dir, epoch)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as file:
            np.savez_compressed(
                file,
                weight_kind=np.array(weights.kind if weights else ""),
                weights=(weights.pictures if weights else np.zeros((0, 1, 1))).astype(np.float16),
                positions=positions.astype(np.float32),
                indices=self.indices,
                true=self.true,
                predicted=np.asarray(outputs).reshape(len(self.images), -1).argmax(axis=1),
            )
        tmp.replace(path)


def read_snapshots(run_dir: Path) -> list[Snapshot]:
    """Every snapshot of a run, by epoch; empty for runs made before snapshots existed."""
    folder = Path(run_dir) / SNAPSHOT_DIR
    found = []
    for path in sorted(folder.glob("epoch-*.npz")) if folder.is_dir() else []:
        match = _FILE_RE.fullmatch(path.name)
        if not match:
            continue
        with np.load(path, allow_pickle=False) as data:
            found.append(
                Snapshot(
                    epoch=int(match.group(1)),
                    weight_kind=str(data["weight_kind"]),
                    weights=data["weights"].astype(np.float32),
                    positions=data["positions"],
                    indices=data["indices"],
                    true=data["true"],
                    predicted=data["predicted"],
                )
            )
    return sorted(found, key=lambda s: s.epoch)


def latest_positions(run_dir: Path) -> np.ndarray | None:
    """The last saved positions (a continued training keeps the map's orientation)."""
    snapshots = read_snapshots(run_dir)
    return snapshots[-1].positions if snapshots else None
