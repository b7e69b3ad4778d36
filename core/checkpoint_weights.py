"""Put a checked TF checkpoint's variables into a Keras 3 model, layer by layer.

tf.keras names each variable in a checkpoint by its path in the model's object graph:
`layer_with_weights-2/kernel/.ATTRIBUTES/VARIABLE_VALUE` is the kernel of the third layer that
has weights. The arrays are sliced from the data files with NumPy at the offsets the inspector
checked; TensorFlow never parses the uploaded bytes.
"""

from __future__ import annotations

import re

import keras
import numpy as np

from core.i18n import msg
from core.inspect import UploadRefused
from core.inspect.shapes import fmt_shape

LAYER_KEY = re.compile(r"^(.*?)layer_with_weights-(\d+)/([A-Za-z_]+)/\.ATTRIBUTES/VARIABLE_VALUE$")
# Keras 3 models in a tf.train.Checkpoint: every operation (InputLayer, Dropout ...) is numbered.
OPERATION_KEY = re.compile(r"^(.*?)_operations/(\d+)/_?([A-Za-z_]+)/\.ATTRIBUTES/VARIABLE_VALUE$")


def checkpoint_arrays(variables: dict[str, list], shards: list[bytes]) -> dict[str, np.ndarray]:
    """Each checked variable as an array, read from its data shard at the checked offset."""
    arrays = {}
    for name, (dtype, shape, shard, offset, size) in variables.items():
        buffer = shards[shard][offset : offset + size]
        arrays[name] = np.frombuffer(buffer, dtype=dtype).reshape(shape).copy()
    return arrays


def layer_weights(arrays: dict[str, np.ndarray]) -> dict[int, dict[str, np.ndarray]]:
    """Arrays of the model's own layers ("layer_with_weights-N"), by N and variable name."""
    by_layer: dict[int, dict[str, np.ndarray]] = {}
    prefixes = set()
    for name, array in arrays.items():
        match = LAYER_KEY.match(name)
        if match and "optimizer/" not in match.group(1) and "keras_api/" not in match.group(1):
            prefixes.add(match.group(1))
            by_layer.setdefault(int(match.group(2)), {})[match.group(3)] = array
    if len(prefixes) > 1:  # e.g. "model/" and "model/other/": only the shortest is the model
        keep = min(prefixes, key=len)
        return layer_weights({k: v for k, v in arrays.items() if k.startswith(keep)})
    return by_layer or _operation_weights(arrays)


def _operation_weights(arrays: dict[str, np.ndarray]) -> dict[int, dict[str, np.ndarray]]:
    """Keras 3 checkpoints number all operations: renumber those with weights from 0."""
    by_operation: dict[int, dict[str, np.ndarray]] = {}
    for name, array in arrays.items():
        match = OPERATION_KEY.match(name)
        if match and "optimizer" not in match.group(1):
            by_operation.setdefault(int(match.group(2)), {})[match.group(3)] = array
    return {i: by_operation[op] for i, op in enumerate(sorted(by_operation))}


def assign_checkpoint(model: keras.Model, arrays: dict[str, np.ndarray], file: str) -> None:
    """Set every weighted layer from the checkpoint; refuse naming the layer on any mismatch."""
    saved = layer_weights(arrays)
    layers = [layer for layer in model.layers if layer.weights]
    plan = []
    for index, layer in enumerate(layers):
        found = saved.get(index, {})
        variables = layer.weights
        names = [variable.name.split("/")[-1].split(":")[0] for variable in variables]
        expected = ", ".join(fmt_shape(tuple(v.shape)) for v in variables)
        ordered = [found[n] for n in names if n in found] + [
            a for n, a in found.items() if n not in names
        ]
        found_shapes = ", ".join(fmt_shape(a.shape) for a in ordered) or "-"
        if set(names) != set(found) or any(
            tuple(v.shape) != found[n].shape for v, n in zip(variables, names, strict=True)
        ):
            raise UploadRefused(
                msg(
                    "upload.weights_layer_shapes",
                    file=file,
                    layer=layer.name,
                    expected=expected,
                    saved=f"layer_with_weights-{index}",
                    found=found_shapes,
                )
            )
        plan.extend((v, found[n]) for v, n in zip(variables, names, strict=True))
    if sorted(saved) != list(range(len(layers))):
        raise UploadRefused(
            msg("upload.weights_layer_count", file=file, found=len(saved), expected=len(layers))
        )
    for variable, array in plan:  # only once everything fits: a refusal changes nothing
        variable.assign(array.astype(variable.dtype))
