"""The map: last-hidden-layer features of fixed test digits projected to 2-D (PCA and t-SNE)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from core.inside.probe import Probe

MAP_SIZE = 2000  # test digits on the map
SNAPSHOT_SIZE = 500  # the first of them, kept per epoch while training
TSNE_ITERATIONS = (125, 375)  # early exaggeration, then the rest: enough for 2,000 points
PCA_FIRST = 50  # t-SNE reads the first 50 principal components, as usual
EVERY = 25  # t-SNE steps between progress reports


def map_indices(size: int = MAP_SIZE, total: int = 10_000, seed: int = 0) -> np.ndarray:
    """Fixed test indices, the same for every model so maps can be compared."""
    return np.sort(np.random.default_rng(seed).choice(total, size, replace=False))


@dataclass(frozen=True)
class DigitMap:
    """2-D positions of test digits, with their true and predicted classes."""

    indices: np.ndarray  # (n,) test indices
    pca: np.ndarray  # (n, 2)
    tsne: np.ndarray | None  # (n, 2), once computed
    true: np.ndarray  # (n,)
    predicted: np.ndarray  # (n,)


def pca_2d(features: np.ndarray, components: int = 2) -> np.ndarray:
    """The features' first principal components, as float32.

    Randomized SVD: a full one of 2,000 x 1,200 features took 50 s on the busy 2-core machine,
    this about one.
    """
    from sklearn.decomposition import PCA  # imported here: only the map needs it

    features = features.reshape(len(features), -1)
    components = min(components, *features.shape)
    pca = PCA(components, svd_solver="randomized", random_state=0)
    return pca.fit_transform(features).astype(np.float32)


def align_to(previous: np.ndarray | None, positions: np.ndarray) -> np.ndarray:
    """Flip axes that point the other way than last time (PCA's signs are arbitrary)."""
    if previous is None or previous.shape != positions.shape:
        return positions
    signs = np.where(np.sum(previous * positions, axis=0) < 0, -1.0, 1.0)
    return (positions * signs).astype(np.float32)


def tsne_2d(
    features: np.ndarray, progress: Callable[[float], None] | None = None, seed: int = 0
) -> np.ndarray:
    """A t-SNE embedding of the features; `progress` hears the fraction done now and then."""
    from openTSNE import TSNE  # imported here: only the map needs it

    early, rest = TSNE_ITERATIONS
    total = early + rest
    reduced = pca_2d(features, min(PCA_FIRST, *features.shape))

    calls = [0]

    def report(iteration: int, error: float, embedding: object) -> bool:
        # openTSNE restarts its count in each phase: count the calls (every EVERY steps) instead.
        calls[0] += 1
        if progress is not None:
            progress(min(1.0, calls[0] * EVERY / total))
        return False  # never ask openTSNE to stop early

    embedding = TSNE(
        n_components=2,
        perplexity=30,
        early_exaggeration_iter=early,
        n_iter=rest,
        negative_gradient_method="bh",
        n_jobs=2,
        random_state=seed,
        callbacks=report,
        callbacks_every_iters=EVERY,
    )
    return np.asarray(embedding.fit(reduced), np.float32)


def build_map(probe: Probe, images: np.ndarray, labels: np.ndarray) -> tuple[DigitMap, np.ndarray]:
    """The PCA map of fixed test digits and their features (kept for t-SNE)."""
    indices = map_indices(min(MAP_SIZE, len(images)), len(images))
    features, probabilities = probe.features(images[indices])
    digit_map = DigitMap(
        indices=indices,
        pca=pca_2d(features),
        tsne=None,
        true=np.asarray(labels[indices]),
        predicted=probabilities.argmax(axis=1),
    )
    return digit_map, features
