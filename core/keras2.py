"""Translate model configs written by Keras 2 / tf.keras 2.x into ones Keras 3 builds, as data."""

from __future__ import annotations

import copy
import inspect
import re

import h5py
import keras

from core.inspect import MODELS

# Keyword arguments every Keras layer accepts besides those of its own constructor.
BASE_LAYER_KWARGS = {"name", "trainable", "dtype", "autocast", "input_shape", "input_dim"}


def keras3_config(config: dict) -> dict:
    """Translate a (possibly Keras 2) model config into one Keras 3 loads."""
    config = copy.deepcopy(config)
    class_name = config["class_name"]
    inner = config["config"]
    if isinstance(inner, list):  # very old Sequential configs are a bare list of layers
        inner = {"name": "sequential", "layers": inner}
    layers = []
    for layer in inner.get("layers", []):
        if layer["class_name"] in MODELS:
            nested = keras3_config({"class_name": layer["class_name"], "config": layer["config"]})
            layers.append({**layer, "config": nested["config"]})
            continue
        cfg = _clean_layer_config(layer["class_name"], dict(layer.get("config") or {}))
        batch_input_shape = cfg.pop("batch_input_shape", None)
        if batch_input_shape is not None:
            if layer["class_name"] == "InputLayer":
                cfg["batch_shape"] = batch_input_shape
            elif class_name == "Sequential" and not layers:
                # Keras 2 put the input shape on the first layer; Keras 3 wants an InputLayer.
                input_config = {"batch_shape": batch_input_shape, "name": f"{cfg['name']}_input"}
                layers.append({"class_name": "InputLayer", "config": input_config})
            elif class_name != "Sequential" and not layers:
                cfg["batch_input_shape"] = batch_input_shape  # a functional model's first layer
        layers.append({**layer, "config": cfg})
    inner = {**inner, "layers": layers}
    if class_name == "Sequential":
        return {"module": "keras", "class_name": "Sequential", "config": inner}
    # Keras 2 called functional models "Model" or "Functional".
    return {"module": "keras.src.models.functional", "class_name": "Functional", "config": inner}


def _clean_layer_config(class_name: str, cfg: dict) -> dict:
    """Drop settings Keras 3 does not know (Keras 2 leftovers) and fix renamed ones."""
    if isinstance(cfg.get("axis"), list) and len(cfg["axis"]) == 1:
        cfg["axis"] = int(cfg["axis"][0])
    dtype = cfg.get("dtype")
    if isinstance(dtype, dict) and dtype.get("class_name") == "Policy":
        cfg["dtype"] = (dtype.get("config") or {}).get("name", "float32")
    layer_class = getattr(keras.layers, class_name, None)
    if layer_class is None:
        return cfg
    accepted = set(inspect.signature(layer_class.__init__).parameters) | BASE_LAYER_KWARGS
    return {k: v for k, v in cfg.items() if k in accepted or k == "batch_input_shape"}


def h5_names(group: h5py.Group, attr: str) -> list[str]:
    """A name-list attribute of a legacy HDF5 group (long lists are split over attr0, attr1...)."""
    if attr in group.attrs:
        values = list(group.attrs[attr])
    else:
        values, i = [], 0
        while f"{attr}{i}" in group.attrs:
            values.extend(group.attrs[f"{attr}{i}"])
            i += 1
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def snake_case(class_name: str) -> str:
    """Keras's generic layer name for a class: MaxPooling2D -> max_pooling2d."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def keras2_archive_weights(weights: h5py.File) -> dict[str, list[list]]:
    """A Keras 2.12-2.15 model.weights.h5: each class's weighted layers' arrays, in model order.

    These archives name a layer's group after its class ("dense", "dense_1"; 2.13 also skips
    numbers), not after the layer, under "layers" (2.14-2.15) or
    "_layer_checkpoint_dependencies" (2.12-2.13).
    """
    container = weights.get("layers") or weights.get("_layer_checkpoint_dependencies")
    found: dict[str, list[tuple[int, list]]] = {}
    for key in container or {}:
        match = re.fullmatch(r"(.+?)(?:_(\d+))?", key)
        group = container[key].get("vars")
        arrays = [group[str(i)][()] for i in range(len(group))] if group is not None else []
        if arrays:
            found.setdefault(match.group(1), []).append((int(match.group(2) or 0), arrays))
    return {
        base: [arrays for _, arrays in sorted(items, key=lambda x: x[0])]
        for base, items in found.items()
    }
