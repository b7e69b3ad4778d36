"""Occlusion: how much a class's probability drops when a patch of the digit is covered."""

from __future__ import annotations

import numpy as np

from core.digit_shape import IMAGE_SIZE
from core.inside.probe import Probe

PATCH = 6  # pixels covered at a time: about one stroke's width in MNIST
STRIDE = 2


def occluded_copies(image28: np.ndarray, patch: int = PATCH, stride: int = STRIDE) -> np.ndarray:
    """The digit once per patch position, that patch set to the background (black)."""
    starts = range(0, IMAGE_SIZE - patch + 1, stride)
    copies = np.repeat(image28[None].astype(np.float32), len(starts) ** 2, axis=0)
    for k, (row, col) in enumerate((r, c) for r in starts for c in starts):
        copies[k, row : row + patch, col : col + patch] = 0.0
    return copies


def occlusion_map(
    probe: Probe, image28: np.ndarray, target: int, patch: int = PATCH, stride: int = STRIDE
) -> np.ndarray:
    """(28, 28) mean drop of probability[target] over the patches covering each pixel.

    Positive where covering the pixel lowers the class's probability (it speaks for the class),
    negative where covering it raises it. All patch positions go through the model in one batch.
    """
    copies = occluded_copies(image28, patch, stride)
    batch = np.concatenate([image28[None].astype(np.float32), copies])
    probabilities = probe.probabilities(batch)[:, target]
    drops = probabilities[0] - probabilities[1:]
    total = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    count = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    starts = range(0, IMAGE_SIZE - patch + 1, stride)
    for drop, (row, col) in zip(drops, ((r, c) for r in starts for c in starts), strict=True):
        total[row : row + patch, col : col + patch] += drop
        count[row : row + patch, col : col + patch] += 1
    return total / np.maximum(count, 1)
