"""Judge an untrusted model file in an isolated, resource-limited process before Keras sees it.

This module must never import TensorFlow or Keras: the worker process imports it to do the
checks, and it has to start fast and stay small.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_UPLOAD_MB = 50  # largest accepted upload; the page sets the same in .streamlit/config.toml
MAX_UNPACKED_MB = 200  # largest total of weights a file may declare (zip members, HDF5 datasets)
MAX_CONFIG_MB = 2  # largest architecture JSON
MAX_PARAMS = 20_000_000  # far above any MNIST model; stops configs that would exhaust memory
MAX_LAYERS = 500
INSPECT_TIMEOUT_S = 20.0
INSPECT_MEMORY_MB = 1024
ROOT = Path(__file__).resolve().parent.parent

# Input shapes Digit Lab can feed (28x28 grey digits) and the number of MNIST classes.
ACCEPTED_INPUT_SHAPES = ((784,), (28, 28), (28, 28, 1))
NUM_CLASSES = 10

LAYERS = {
    "InputLayer", "Dense", "Conv2D", "MaxPooling2D", "MaxPool2D", "AveragePooling2D",
    "AvgPool2D", "Dropout", "Flatten", "Reshape", "BatchNormalization", "Activation", "ReLU",
    "LeakyReLU", "Softmax", "GlobalAveragePooling2D", "GlobalAvgPool2D",
}  # fmt: skip
MODELS = {"Sequential", "Functional", "Model"}
NESTED_OBJECTS = {
    # initializers
    "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform",
    "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "Orthogonal", "OrthogonalInitializer", "Identity", "IdentityInitializer",
    # regularizers and constraints
    "L1", "L2", "L1L2", "OrthogonalRegularizer", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm",
    # dtype policies
    "DTypePolicy", "FloatDTypePolicy", "Policy",
    # optimizers and learning-rate schedules (compile settings; never compiled from uploads)
    "Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl", "Lion",
    "Adafactor", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
    "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts",
    # losses and metrics
    "SparseCategoricalCrossentropy", "CategoricalCrossentropy", "BinaryCrossentropy",
    "MeanSquaredError", "MeanAbsoluteError", "KLDivergence", "Huber", "Hinge",
    "CategoricalHinge", "SparseCategoricalAccuracy", "CategoricalAccuracy", "Accuracy", "Mean",
    "MeanMetricWrapper", "SparseTopKCategoricalAccuracy", "TopKCategoricalAccuracy",
    # plain data containers
    "__tuple__",
}  # fmt: skip
ACTIVATIONS = {
    "relu", "sigmoid", "softmax", "tanh", "linear", "elu", "selu", "softplus", "softsign",
    "swish", "silu", "gelu", "exponential", "hard_sigmoid", "hard_silu", "hard_swish",
    "leaky_relu", "relu6", "log_softmax", "mish",
}  # fmt: skip
# Functions Keras may serialize as {"class_name": "function"} in losses and metrics.
FUNCTION_NAMES = ACTIVATIONS | {
    "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
    "mean_squared_error", "mean_absolute_error", "sparse_categorical_accuracy",
    "categorical_accuracy", "accuracy",
}  # fmt: skip
NAMED_OBJECTS = {
    "_initializer": {
        "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
        "lecun_uniform", "zeros", "ones", "random_normal", "random_uniform", "truncated_normal",
        "orthogonal", "identity", "variance_scaling", "constant",
    },
    "_regularizer": {"l1", "l2", "l1_l2", "orthogonal_regularizer"},
    "_constraint": {"max_norm", "non_neg", "nonneg", "unit_norm", "min_max_norm"},
}  # fmt: skip
CODE_KEYS = {"function", "function_type", "__lambda__", "__python_function__", "fn_code"}

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
KERAS_ZIP_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}


class UploadRefused(Exception):
    """A file was not loaded; the message says which file and why, in plain language."""


class Refusal(Exception):
    """Why the worker refuses a file (the caller adds the file name)."""


@dataclass(frozen=True)
class Verdict:
    """What the worker found in a file that passed."""

    kind: str  # "keras", "h5_model", "h5_weights" (Keras 2 layout), "weights" (Keras 3), "json"
    config: dict | None  # the checked model config (kind keras, h5_model, json)
    input_shape: tuple[int, ...] | None  # per-example input shape, when the config says
    num_params: int | None


def inspect_upload(
    path: Path,
    display_name: str,
    timeout_s: float = INSPECT_TIMEOUT_S,
    memory_mb: int = INSPECT_MEMORY_MB,
) -> Verdict:
    """Inspect a file in a separate, memory- and time-limited process; raise UploadRefused."""

    def limit_memory() -> None:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    # One BLAS thread: each extra thread reserves address space that counts against the limit.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "core._inspect_worker", str(path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=timeout_s,
            preexec_fn=limit_memory,
        )
    except subprocess.TimeoutExpired:
        raise UploadRefused(
            f"{display_name} was refused: checking it took longer than {timeout_s:g} s, "
            "which a genuine MNIST model never needs."
        ) from None
    try:
        verdict = json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise UploadRefused(
            f"{display_name} was refused: checking it needed more than {memory_mb} MB of "
            f"memory or crashed the checker (exit status {done.returncode})."
        ) from None
    if not verdict.get("ok"):
        raise UploadRefused(f"{display_name} was refused: {verdict['reason']}")
    shape = verdict.get("input_shape")
    return Verdict(
        kind=verdict["kind"],
        config=verdict.get("config"),
        input_shape=tuple(shape) if shape else None,
        num_params=verdict.get("num_params"),
    )


def inspect_path(path: str) -> dict:
    """Check a file and return the verdict as a JSON-able dict; raise Refusal."""
    size = os.path.getsize(path)
    if size == 0:
        raise Refusal("the file is empty.")
    if size > MAX_UPLOAD_MB * 1024 * 1024:
        raise Refusal(f"the file is larger than {MAX_UPLOAD_MB} MB.")
    with open(path, "rb") as f:
        head = f.read(1024)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _inspect_keras_zip(path)
    if head.startswith(HDF5_MAGIC):
        return _inspect_h5_file(path)
    if head.lstrip()[:1] == b"{":
        if size > MAX_CONFIG_MB * 1024 * 1024:
            raise Refusal(f"the architecture JSON is larger than {MAX_CONFIG_MB} MB.")
        with open(path, "rb") as f:
            config = _parse_json(f.read(), "the file")
        return {"ok": True, "kind": "json", **check_model_config(config)}
    raise Refusal(
        "it is not a Keras model, weights or architecture file "
        "(expected .keras, .h5, .hdf5, .weights.h5 or .json)."
    )


def _parse_json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refusal(f"{what} is not valid JSON (it may be truncated or damaged).") from None


def _inspect_keras_zip(path: str) -> dict:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise Refusal("it looks like a .keras archive but is damaged or truncated.") from None
    with archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        for name in names:
            if name.startswith(("/", "\\")) or ".." in name.split("/") or "\\" in name:
                raise Refusal(f"the archive has a member with a path outside it ('{name}').")
        extra = [n for n in names if n not in KERAS_ZIP_MEMBERS and n not in ("assets/", "assets")]
        if extra:
            listed = ", ".join(f"'{n}'" for n in extra[:5])
            raise Refusal(
                f"the .keras archive holds unexpected members ({listed}); a Keras model "
                "archive holds only config.json, metadata.json and model.weights.h5."
            )
        if len(set(names)) != len(names):
            raise Refusal("the .keras archive lists the same member twice.")
        if any(info.flag_bits & 0x1 for info in infos):
            raise Refusal("the .keras archive is encrypted.")
        unpacked = sum(info.file_size for info in infos)
        if unpacked > MAX_UNPACKED_MB * 1024 * 1024:
            raise Refusal(
                f"the .keras archive would unpack to {unpacked / 2**20:,.0f} MB, more than "
                f"the {MAX_UNPACKED_MB} MB allowed (a zip bomb or not an MNIST model)."
            )
        for required in ("config.json", "model.weights.h5"):
            if required not in names:
                raise Refusal(f"the .keras archive has no {required}.")
        if archive.getinfo("config.json").file_size > MAX_CONFIG_MB * 1024 * 1024:
            raise Refusal(f"config.json is larger than {MAX_CONFIG_MB} MB.")
        try:
            config_raw = archive.read("config.json")
            metadata_raw = archive.read("metadata.json") if "metadata.json" in names else b"{}"
            weights_raw = archive.read("model.weights.h5")
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            raise Refusal("the .keras archive is damaged (a member cannot be read).") from None
    config = _parse_json(config_raw, "config.json")
    if not isinstance(_parse_json(metadata_raw, "metadata.json"), dict):
        raise Refusal("metadata.json is not a JSON object.")
    summary = check_model_config(config)
    import h5py

    try:
        h5 = h5py.File(io.BytesIO(weights_raw), "r")
    except OSError:
        raise Refusal("model.weights.h5 inside the archive is not a readable HDF5 file.") from None
    with h5:
        _check_h5_tree(h5)
    return {"ok": True, "kind": "keras", **summary}


def _inspect_h5_file(path: str) -> dict:
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except OSError:
        raise Refusal("it is not a readable HDF5 file (it may be truncated or damaged).") from None
    with h5:
        _check_h5_tree(h5)
        attrs = h5.attrs
        if "model_config" in attrs:
            config = _parse_json(_attr_bytes(attrs["model_config"]), "the model_config")
            summary = check_model_config(config)
            if "training_config" in attrs:
                check_objects(_parse_json(_attr_bytes(attrs["training_config"]), "the config"))
            if "model_weights" not in h5:
                raise Refusal("the file has an architecture but no model_weights.")
            return {"ok": True, "kind": "h5_model", **summary}
        if "layer_names" in attrs or "layer_names0" in attrs:
            return {"ok": True, "kind": "h5_weights"}
        if "layers" in h5 or "vars" in h5:
            return {"ok": True, "kind": "weights"}
    raise Refusal("it is an HDF5 file but holds neither a Keras model nor Keras weights.")


def _attr_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise Refusal("the model_config attribute is not text.")


def _check_h5_tree(h5: Any) -> None:
    """Refuse links and non-numeric data, bound the declared size, then read every dataset."""
    import h5py

    datasets = []

    def visit(group: Any, prefix: str) -> None:
        for name in group:
            link = group.get(name, getlink=True)
            if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                raise Refusal(f"the HDF5 file holds a link ('{prefix}{name}') to elsewhere.")
            item = group[name]
            if isinstance(item, h5py.Group):
                visit(item, f"{prefix}{name}/")
            elif isinstance(item, h5py.Dataset):
                datasets.append((f"{prefix}{name}", item))
            else:
                raise Refusal(f"the HDF5 file holds an unexpected object '{prefix}{name}'.")

    visit(h5, "")
    declared = 0
    for name, ds in datasets:
        if ds.dtype.kind not in "fiub":
            raise Refusal(f"the HDF5 dataset '{name}' does not hold numbers ({ds.dtype}).")
        if ds.is_virtual or ds.external:
            raise Refusal(f"the HDF5 dataset '{name}' points to data in other files.")
        declared += math.prod(ds.shape or ()) * ds.dtype.itemsize
    if declared > MAX_UNPACKED_MB * 1024 * 1024:
        raise Refusal(
            f"its weights declare {declared / 2**20:,.0f} MB of numbers, more than the "
            f"{MAX_UNPACKED_MB} MB allowed for an MNIST model."
        )
    for name, ds in datasets:
        try:
            ds[()]
        except OSError:
            raise Refusal(f"the HDF5 dataset '{name}' cannot be read (damaged file).") from None


def check_objects(node: Any, depth: int = 0) -> None:
    """Refuse anything in a config that Keras would turn into code or a non-Keras object."""
    if depth > 60:
        raise Refusal("its configuration is nested too deeply to be a Keras model.")
    if isinstance(node, list):
        for item in node:
            check_objects(item, depth + 1)
        return
    if not isinstance(node, dict):
        return
    code_keys = CODE_KEYS & node.keys()
    if code_keys:
        raise Refusal(
            f"its configuration holds serialized Python code ('{sorted(code_keys)[0]}'), "
            "which Digit Lab never runs."
        )
    if "class_name" in node:
        _check_class(node)
    for key, value in node.items():
        if isinstance(value, str):
            _check_named_object(key, value)
        else:
            check_objects(value, depth + 1)


def _check_class(node: dict) -> None:
    class_name = node["class_name"]
    module = node.get("module")
    registered = node.get("registered_name")
    layer_name = (
        (node.get("config") or {}).get("name") if isinstance(node.get("config"), dict) else None
    )
    named = f" named '{layer_name}'" if layer_name else ""
    if not isinstance(class_name, str):
        raise Refusal("its configuration has a class_name that is not text.")
    if class_name == "Lambda":
        raise Refusal(
            f"it contains a Lambda layer{named}, which runs Python code stored in the file. "
            "Only standard Keras layers are accepted."
        )
    if class_name.startswith("__") and class_name != "__tuple__":
        raise Refusal(
            f"its configuration holds a serialized Python object ('{class_name}'), "
            "which Digit Lab never loads."
        )
    if module is not None and not (
        isinstance(module, str) and (module == "keras" or module.startswith("keras."))
    ):
        raise Refusal(
            f"it refers to '{class_name}' from the module '{module}', outside Keras; "
            "only standard Keras objects are accepted."
        )
    if class_name == "function":
        config = node.get("config")
        if not (
            isinstance(config, str)
            and config in FUNCTION_NAMES
            and registered in (None, config)
            and module is not None
        ):
            raise Refusal(
                f"it refers to a Python function ('{registered or config}') that is not a "
                "standard Keras activation, loss or metric."
            )
        return
    if registered is not None and registered != class_name:
        raise Refusal(
            f"it uses the registered custom object '{registered}'; custom code is not "
            "accepted, only standard Keras layers."
        )
    if class_name not in LAYERS | MODELS | NESTED_OBJECTS:
        raise Refusal(
            f"it uses '{class_name}'{named}, which is not on Digit Lab's list of standard "
            f"layers ({', '.join(sorted(LAYERS - {'MaxPool2D', 'AvgPool2D', 'GlobalAvgPool2D'}))})."
        )


def _check_named_object(key: str, value: str) -> None:
    if key in ("activation", "recurrent_activation") and value not in ACTIVATIONS:
        raise Refusal(f"it uses the activation '{value}', which is not a standard Keras one.")
    for suffix, names in NAMED_OBJECTS.items():
        if key.endswith(suffix) and value.lower() not in names:
            raise Refusal(f"its {key} is '{value}', which is not a standard Keras one.")


def check_model_config(config: Any) -> dict:
    """Check a model config and infer its input shape and size; return a verdict summary."""
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise Refusal(
            "it is JSON but not a Keras model architecture (no class_name/config at the top)."
        )
    if config["class_name"] not in MODELS:
        check_objects(config)
        raise Refusal(
            f"its top level is a '{config['class_name']}', not a Sequential or Functional model."
        )
    check_objects(config)
    layers = _layer_list(config)
    if len(layers) > MAX_LAYERS:
        raise Refusal(f"it has {len(layers)} layers, more than the {MAX_LAYERS} allowed.")
    input_shape, output_shape, params = _infer_shapes(config)
    if input_shape is not None and tuple(input_shape) not in ACCEPTED_INPUT_SHAPES:
        raise Refusal(
            f"it expects inputs of shape {_fmt(input_shape)}, but Digit Lab feeds 28x28 grey "
            "digits as (784,), (28, 28) or (28, 28, 1): it was made for other data."
        )
    if output_shape is not None and tuple(output_shape) != (NUM_CLASSES,):
        raise Refusal(
            f"it has outputs of shape {_fmt(output_shape)}, but MNIST has {NUM_CLASSES} "
            "classes: it was made for other data."
        )
    if params is not None and params > MAX_PARAMS:
        raise Refusal(
            f"its architecture has {params:,} parameters, more than the {MAX_PARAMS:,} "
            "allowed for an MNIST model."
        )
    return {"config": config, "input_shape": input_shape, "num_params": params}


def _fmt(shape: list) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _layer_list(config: dict) -> list[dict]:
    inner = config["config"]
    layers = inner if isinstance(inner, list) else inner.get("layers", [])
    if not isinstance(layers, list) or not all(isinstance(x, dict) for x in layers):
        raise Refusal("its list of layers is malformed.")
    return layers


def _infer_shapes(config: dict) -> tuple[list | None, list | None, int | None]:
    """Per-example input and output shapes and parameter count; None where unknown."""
    layers = _layer_list(config)
    if not layers:
        raise Refusal("the model has no layers.")
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
    text = json.dumps(nodes)
    # Keras 3: {"keras_history": [name, 0, 0]}; Keras 2: [[[name, 0, 0, {}]]].
    if "keras_history" in text:
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
    raise Refusal(f"it has a layer setting that is not a size: {value!r}.")


def _spatial(size: int | None, kernel: int, stride: int, padding: str, dilation: int = 1):
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    return max(0, (size - dilation * (kernel - 1) - 1) // stride + 1)


def _layer_shape(class_name: str, cfg: dict, shape: list) -> tuple[list, int]:
    """Output shape and parameter count of one allow-listed layer (per example)."""
    if class_name in MODELS:
        _, out, params = _infer_shapes({"class_name": class_name, "config": cfg})
        if out is None:
            raise Refusal("it nests a model whose shapes cannot be worked out.")
        return out, params or 0
    if any(not isinstance(d, int) for d in shape):
        return shape, 0
    channels_first = cfg.get("data_format") == "channels_first"
    if class_name == "Dense":
        units = int(cfg.get("units", 0))
        return [*shape[:-1], units], shape[-1] * units + (units if cfg.get("use_bias", True) else 0)
    if class_name in ("Conv2D", "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D"):
        if len(shape) != 3:
            raise Refusal(f"it has a {class_name} layer on inputs of shape {_fmt(shape)}.")
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
    if class_name == "InputLayer":
        return shape, 0
    return shape, 0  # Dropout, activations: shape unchanged, no weights


def main(argv: list[str]) -> int:
    """Entry point of the worker process: print one JSON verdict line."""
    try:
        verdict = inspect_path(argv[0])
    except Refusal as refusal:
        verdict = {"ok": False, "reason": str(refusal)}
    except MemoryError:
        verdict = {"ok": False, "reason": "checking it needed more memory than allowed."}
    except RecursionError:
        verdict = {"ok": False, "reason": "its structure is nested too deeply."}
    except Exception as error:  # noqa: BLE001 - any other failure means a damaged file
        verdict = {
            "ok": False,
            "reason": f"it could not be read as a model file ({type(error).__name__}).",
        }
    print(json.dumps(verdict))
    return 0
