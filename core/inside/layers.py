"""What each layer of a model is, in the terms the Look inside page draws it with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import keras

LayerView = Literal["maps", "vector", "none"]  # a grid of feature maps, bars, or one line only
PASS_THROUGH = {"Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "InputLayer"}


@dataclass(frozen=True)
class LayerInfo:
    """One layer: its name, class, output shape per digit and how it can be pictured."""

    index: int  # position among the layers the probe reads
    name: str
    kind: str  # the Keras class name, e.g. Conv2D
    shape: tuple[int, ...]  # output shape without the batch axis
    view: LayerView

    @property
    def is_conv(self) -> bool:
        return self.view == "maps" and "Conv" in self.kind


def output_shape(layer: keras.layers.Layer) -> tuple[int, ...] | None:
    """The per-digit output shape of a layer with one fixed-size output, else None."""
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return None
    if not isinstance(shape, tuple) or any(n is None for n in shape[1:]):
        return None
    return tuple(int(n) for n in shape[1:])


def view_for(shape: tuple[int, ...] | None) -> LayerView:
    """Feature maps for (H, W, C) outputs, bars for vectors, nothing otherwise."""
    if shape is None:
        return "none"
    if len(shape) == 3:
        return "maps"
    if len(shape) == 1:
        return "vector"
    return "none"


def readable_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers in order, without its input layer."""
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def layer_graph(model: keras.Model) -> tuple[Any, list[Any], Any]:
    """The model's input, every readable layer's output and the final output, in one graph.

    A Sequential model is chained again on a fresh Input: after loading (a Keras 2 file for one)
    `layer.output` may belong to an earlier build of the layers, a branch that computes the same
    numbers but that the final output does not depend on, so its gradients would be missing.
    """
    if isinstance(model, keras.Sequential):
        inputs = keras.Input(model.input_shape[1:], name="digit")
        outputs, x = [], inputs
        for layer in readable_layers(model):
            x = layer(x)
            outputs.append(x)
        return inputs, outputs, x
    return model.inputs[0], [layer.output for layer in readable_layers(model)], model.outputs[0]


def describe(model: keras.Model) -> list[LayerInfo]:
    """Every readable layer of a model, in model order."""
    infos = []
    for index, layer in enumerate(readable_layers(model)):
        shape = output_shape(layer)
        infos.append(
            LayerInfo(index, layer.name, type(layer).__name__, shape or (), view_for(shape))
        )
    return infos


def last_conv(infos: list[LayerInfo]) -> LayerInfo | None:
    """The last convolution with a spatial output (where Grad-CAM looks), if any."""
    convs = [info for info in infos if info.is_conv]
    return convs[-1] if convs else None


def feature_layer(infos: list[LayerInfo]) -> LayerInfo | None:
    """The last hidden layer: what the final classifying layer reads (None: the pixels)."""
    weighted = [i for i, info in enumerate(infos) if info.kind in {"Dense", "Conv2D"}]
    if not weighted:
        return None
    before = weighted[-1] - 1
    # Dropout and the like only repeat their input at prediction time: read the layer they copy.
    while before >= 0 and infos[before].kind in PASS_THROUGH:
        before -= 1
    return infos[before] if before >= 0 else None
