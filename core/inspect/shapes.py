"""Work out a config's input and output shapes and parameter count, layer by layer, as data."""

from __future__ import annotations

import json
import math
from typing import Any

from core.inspect.allowlists import MODELS
from core.inspect.verdict import refuse


def fmt_shape(shape: list | tuple) -> str:
    """(784,) or (28, 28, 1), as Python writes tuples."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def layer_list(config: dict) -> list[dict]:
    """The layer entries of a Sequential or Functional config (old bare lists too)."""
    inner = config["config"]
    layers = inner if isinstance(inner, list) else inner.get("layers", [])
    if not isinstance(layers, list) or not all(isinstance(x, dict) for x in layers):
        raise refuse("malformed_layers")
    return layers


def infer_shapes(config: dict) -> tuple[list | None, list | None, int | None]:
    """Per-example input and output shapes and parameter count; None where unknown."""
    layers = layer_list(config)
    if not layers:
        raise refuse("no_layers")
    functional = config["class_name"] != "Sequential"
    outputs: dict[str, list] = {}
    shape: list | None = None
    first_input: list | None = None
    params = 0
    for layer in layers:
        cfg = layer.get("config") or {}
        declared = _declared_input(layer)
        if functional:
            source = _inbound_name(layer)
            shape = outputs.get(source) if source else declared
        elif declared is not None and (shape is None or layer.get("class_name") == "InputLayer"):
            shape = declared
        if shape is None:
            return None, None, None
        if first_input is None:
            first_input = shape
        out, count = _layer_shape(layer.get("class_name"), cfg, shape)
        params += count
        outputs[str(cfg.get("name", layer.get("name")))] = out
        shape = out
    return first_input, shape, params


def _declared_input(layer: dict) -> list | None:
    cfg = layer.get("config") or {}
    for key in ("batch_shape", "batch_input_shape"):
        if isinstance(cfg.get(key), list):
            return list(cfg[key][1:])
    if isinstance(cfg.get("shape"), list):
        return list(cfg["shape"])
    if isinstance(cfg.get("input_shape"), list):
        return list(cfg["input_shape"])
    build = layer.get("build_config") or {}
    if isinstance(build.get("input_shape"), list):
        return list(build["input_shape"][1:])
    return None


def _inbound_name(layer: dict) -> str | None:
    nodes = layer.get("inbound_nodes") or []
    # Keras 3: {"keras_history": [name, 0, 0]}; Keras 2: [[[name, 0, 0, {}]]].
    if "keras_history" in json.dumps(nodes):
        return _find_history(nodes)
    try:
        return nodes[0][0][0]
    except (IndexError, KeyError, TypeError):
        return None


def _find_history(node: Any) -> str | None:
    if isinstance(node, dict):
        if "keras_history" in node:
            return node["keras_history"][0]
        values = node.values()
    elif isinstance(node, list):
        values = node
    else:
        return None
    for value in values:
        found = _find_history(value)
        if found:
            return found
    return None


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value[0], value[1]
    raise refuse("not_a_size", value=repr(value))


def _spatial(size: int | None, kernel: int, stride: int, padding: str, dilation: int = 1):
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    return max(0, (size - dilation * (kernel - 1) - 1) // stride + 1)


def _layer_shape(class_name: str, cfg: dict, shape: list) -> tuple[list, int]:
    """Output shape and parameter count of one allow-listed layer (per example)."""
    if class_name in MODELS:
        _, out, params = infer_shapes({"class_name": class_name, "config": cfg})
        if out is None:
            raise refuse("nested_shapes_unknown")
        return out, params or 0
    if any(not isinstance(d, int) for d in shape):
        return shape, 0
    channels_first = cfg.get("data_format") == "channels_first"
    if class_name == "Dense":
        units = int(cfg.get("units", 0))
        return [*shape[:-1], units], shape[-1] * units + (units if cfg.get("use_bias", True) else 0)
    if class_name in ("Conv2D", "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D"):
        if len(shape) != 3:
            raise refuse("layer_on_wrong_shape", layer=class_name, shape=fmt_shape(shape))
        h, w, c = (shape[1], shape[2], shape[0]) if channels_first else shape
        padding = cfg.get("padding", "valid")
        if class_name == "Conv2D":
            kh, kw = _pair(cfg.get("kernel_size"))
            sh, sw = _pair(cfg.get("strides", 1))
            dh, dw = _pair(cfg.get("dilation_rate", 1))
            filters = int(cfg.get("filters", 0))
            groups = int(cfg.get("groups", 1) or 1)
            params = kh * kw * (c // groups) * filters + (
                filters if cfg.get("use_bias", True) else 0
            )
            out_c = filters
        else:
            kh, kw = _pair(cfg.get("pool_size", 2))
            sh, sw = _pair(cfg.get("strides") or [kh, kw])
            dh = dw = 1
            params, out_c = 0, c
        oh, ow = _spatial(h, kh, sh, padding, dh), _spatial(w, kw, sw, padding, dw)
        return ([out_c, oh, ow] if channels_first else [oh, ow, out_c]), params
    if class_name == "Flatten":
        return [math.prod(shape)], 0
    if class_name == "Reshape":
        target = list(cfg.get("target_shape") or [])
        if -1 in target:
            known = math.prod(d for d in target if d != -1) or 1
            target[target.index(-1)] = math.prod(shape) // known
        return target, 0
    if class_name in ("GlobalAveragePooling2D", "GlobalAvgPool2D"):
        c = shape[0] if channels_first else shape[-1]
        return ([1, 1, c] if cfg.get("keepdims") else [c]), 0
    if class_name == "BatchNormalization":
        axis = cfg.get("axis", -1)
        axis = axis[0] if isinstance(axis, list) else axis
        return shape, 4 * shape[axis if axis < 0 else axis - 1]
    return shape, 0  # InputLayer, Dropout, activations: shape unchanged, no weights
