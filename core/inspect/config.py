"""Check a Keras model config (any Keras 2 or 3 layout) without turning any of it into objects."""

from __future__ import annotations

from typing import Any

from core.inspect.allowlists import (
    ACCEPTED_INPUT_SHAPES,
    ACTIVATIONS,
    CODE_KEYS,
    FUNCTION_NAMES,
    IGNORED_CONFIG_KEYS,
    LAYERS,
    MAX_LAYERS,
    MAX_PARAMS,
    MODELS,
    NAMED_OBJECTS,
    NESTED_OBJECTS,
    NUM_CLASSES,
)
from core.inspect.shapes import fmt_shape, infer_shapes, layer_list
from core.inspect.verdict import refuse

MAX_DEPTH = 60
LISTED_LAYERS = ", ".join(sorted(LAYERS - {"MaxPool2D", "AvgPool2D", "GlobalAvgPool2D"}))


def check_objects(node: Any, depth: int = 0) -> None:
    """Refuse anything in a config that Keras would turn into code or a non-Keras object."""
    if depth > MAX_DEPTH:
        raise refuse("too_deep")
    if isinstance(node, list):
        for item in node:
            check_objects(item, depth + 1)
        return
    if not isinstance(node, dict):
        return
    code_keys = CODE_KEYS & node.keys()
    if code_keys:
        raise refuse("python_code", key=sorted(code_keys)[0])
    if "class_name" in node:
        _check_class(node)
    for key, value in node.items():
        if key in IGNORED_CONFIG_KEYS:
            continue
        if isinstance(value, str):
            _check_named_object(key, value)
        else:
            check_objects(value, depth + 1)


def _check_class(node: dict) -> None:
    class_name = node["class_name"]
    module = node.get("module")
    registered = node.get("registered_name")
    config = node.get("config")
    layer = config.get("name") if isinstance(config, dict) else None
    if not isinstance(class_name, str):
        raise refuse("class_not_text")
    if class_name == "Lambda":
        raise refuse("lambda_layer" if layer else "lambda_layer_unnamed", layer=layer)
    if class_name.startswith("__") and class_name != "__tuple__":
        raise refuse("python_object", name=class_name)
    if module is not None and not (
        isinstance(module, str) and (module == "keras" or module.startswith("keras."))
    ):
        raise refuse("outside_keras", name=class_name, module=str(module))
    if class_name == "function":
        if not (
            isinstance(config, str)
            and config in FUNCTION_NAMES
            and registered in (None, config)
            and module is not None
        ):
            raise refuse("python_function", name=str(registered or config))
        return
    if registered is not None and registered != class_name:
        raise refuse("custom_object", name=str(registered))
    if class_name not in LAYERS | MODELS | NESTED_OBJECTS:
        key = "unknown_class" if layer else "unknown_class_unnamed"
        raise refuse(key, name=class_name, layer=layer, allowed=LISTED_LAYERS)


def _check_named_object(key: str, value: str) -> None:
    if key in ("activation", "recurrent_activation") and value not in ACTIVATIONS:
        raise refuse("unknown_activation", name=value)
    for suffix, names in NAMED_OBJECTS.items():
        if key.endswith(suffix) and value.lower() not in names:
            raise refuse("unknown_setting", setting=key, name=value)


def check_model_config(config: Any) -> dict:
    """Check a model config and infer its input shape and size; return a verdict summary."""
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise refuse("not_architecture")
    if config["class_name"] not in MODELS:
        check_objects(config)
        raise refuse("not_a_model", name=str(config["class_name"]))
    check_objects(config)
    layers = layer_list(config)
    if len(layers) > MAX_LAYERS:
        raise refuse("too_many_layers", count=len(layers), limit=MAX_LAYERS)
    input_shape, output_shape, params = infer_shapes(config)
    if input_shape is not None and tuple(input_shape) not in ACCEPTED_INPUT_SHAPES:
        raise refuse("wrong_input", shape=fmt_shape(input_shape))
    if output_shape is not None and tuple(output_shape) != (NUM_CLASSES,):
        raise refuse("wrong_output", shape=fmt_shape(output_shape), classes=NUM_CLASSES)
    if params is not None and params > MAX_PARAMS:
        raise refuse("too_many_params", count=params, limit=MAX_PARAMS)
    return {"config": config, "input_shape": input_shape, "num_params": params}
