"""The first layer's weights as pictures: filters, hidden units' 28x28 inputs, class templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import keras
import numpy as np

from core.digit_shape import IMAGE_SIZE
from core.inside.layers import readable_layers

MAX_PICTURES = 64  # a wide first layer shows its first 64 units
PIXELS = IMAGE_SIZE * IMAGE_SIZE
WeightKind = Literal["filters", "units", "templates"]


@dataclass(frozen=True)
class FirstWeights:
    """Pictures of the first weighted layer's weights, one per filter or unit."""

    kind: WeightKind  # conv filters, hidden units' inputs, or the class templates of a 1-layer net
    layer: str
    pictures: np.ndarray  # (n, h, w) float32
    total: int  # filters or units in the layer (pictures may show fewer)


def first_weighted(model: keras.Model) -> tuple[keras.layers.Layer, bool] | None:
    """The first Conv2D or Dense layer, and whether it is the only weighted layer."""
    weighted = [
        layer
        for layer in readable_layers(model)
        if type(layer).__name__ in {"Conv2D", "Dense"} and layer.get_weights()
    ]
    return (weighted[0], len(weighted) == 1) if weighted else None


def first_weights(model: keras.Model, limit: int = MAX_PICTURES) -> FirstWeights | None:
    """The first layer's weights as pictures, or None when they are not images of the input."""
    found = first_weighted(model)
    if found is None:
        return None
    layer, only = found
    kernel = np.asarray(layer.get_weights()[0], np.float32)
    if type(layer).__name__ == "Conv2D":
        # (kh, kw, in, filters); the first convolution of a digit model reads one channel.
        pictures = np.moveaxis(kernel.mean(axis=2), -1, 0)
        return FirstWeights("filters", layer.name, pictures[:limit], kernel.shape[-1])
    if kernel.shape[0] != PIXELS:
        return None
    pictures = kernel.T.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    kind: WeightKind = "templates" if only else "units"
    return FirstWeights(kind, layer.name, pictures[:limit], kernel.shape[1])


def filter_of(model: keras.Model, layer_name: str, channel: int) -> np.ndarray | None:
    """The (kh, kw) kernel that made one channel of a convolution (averaged over its inputs)."""
    layer = model.get_layer(layer_name)
    if type(layer).__name__ != "Conv2D":
        return None
    kernel = np.asarray(layer.get_weights()[0], np.float32)
    return kernel[:, :, :, channel].mean(axis=2)
