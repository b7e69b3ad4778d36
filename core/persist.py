"""Save a model to bytes in every download format; load uploaded files safely."""

from __future__ import annotations

import copy
import inspect
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import keras
import numpy as np

from core.data import to_model_input
from core.inspector import (
    ACCEPTED_INPUT_SHAPES,
    MAX_UPLOAD_MB,
    MODELS,
    NUM_CLASSES,
    UploadRefused,
    Verdict,
    inspect_upload,
)

__all__ = [
    "FORMATS",
    "MAX_UPLOAD_MB",
    "LoadedModel",
    "UploadRefused",
    "download_filename",
    "group_uploads",
    "input_for_model",
    "load_h5_for_training",
    "load_instructions",
    "load_uploaded_model",
    "model_to_bytes",
]

# Download formats: file suffix and what the file holds.
FORMATS = {
    "keras": ".keras",  # Keras 3 archive: architecture, weights, optimizer state
    "h5": ".h5",  # legacy HDF5: architecture, weights, optimizer state
    "weights": ".weights.h5",  # weights only
    "json": ".json",  # architecture only (model.to_json())
}
WEIGHT_SUFFIXES = (".weights.h5", ".h5", ".hdf5")
# Keyword arguments every Keras layer accepts besides those of its own constructor.
BASE_LAYER_KWARGS = {"name", "trainable", "dtype", "autocast", "input_shape", "input_dim"}


def model_to_bytes(model: keras.Model, fmt: str) -> bytes:
    """The model saved in one of FORMATS, as bytes."""
    if fmt == "json":
        return model.to_json().encode("utf-8")
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; expected one of {sorted(FORMATS)}.")
    with tempfile.TemporaryDirectory(prefix="digitlab-save-") as folder:
        path = Path(folder) / f"model{FORMATS[fmt]}"
        if fmt == "weights":
            model.save_weights(path)
        elif fmt == "h5":
            _save_legacy_h5(model, path)
        else:
            model.save(path)
        return path.read_bytes()


def _save_legacy_h5(model: keras.Model, path: Path) -> None:
    # Keras 3.15's legacy saver pops "optimizer" from the model's own compile config, after
    # which a .keras download would silently lose the optimizer: keep a copy and put it back.
    compile_config = getattr(model, "_compile_config", None)
    kept = copy.deepcopy(compile_config.config) if compile_config is not None else None
    try:
        model.save(path)  # ".h5" writes the legacy HDF5 format, optimizer state included
    finally:
        if compile_config is not None:
            compile_config.config = kept


def download_filename(model_name: str, fmt: str, accuracy: float | None) -> str:
    """A safe, descriptive file name such as mnist-cnn-acc0.991.keras."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", model_name).strip("-").lower() or "model"
    if not stem.startswith("mnist"):
        stem = f"mnist-{stem}"
    if accuracy is not None:
        stem += f"-acc{accuracy:.3f}"
    return stem + FORMATS[fmt]


def load_instructions(fmt: str, file_name: str | None = None) -> str:
    """One line of plain Keras that loads a downloaded file back."""
    name = file_name or f"model{FORMATS[fmt]}"
    return {
        "keras": f'model = keras.models.load_model("{name}")',
        "h5": f'model = keras.models.load_model("{name}")',
        "weights": f'model.load_weights("{name}")  # model: the same architecture',
        "json": f'model = keras.models.model_from_json(open("{name}").read())',
    }[fmt]


def load_h5_for_training(path: str | Path) -> keras.Model:
    """Load a trusted legacy .h5 (e.g. our own download) ready to continue training.

    Keras 3.15's legacy loader builds the optimizer before the model's variables are known, so
    `fit` then fails with "Unknown variable"; rebuild the optimizer and restore its state.
    Only for files this app wrote: uploads go through load_uploaded_model.
    """
    model = keras.models.load_model(path, safe_mode=True)
    model.compile_from_config(model.get_compile_config())
    model.optimizer.build(model.trainable_variables)
    with h5py.File(path, "r") as f:
        if "optimizer_weights" in f:
            group = f["optimizer_weights"]
            model.optimizer.set_weights(
                [np.asarray(group[name]) for name in _h5_names(group, "weight_names")]
            )
    return model


@dataclass
class LoadedModel:
    """An uploaded model that passed inspection and loaded."""

    model: keras.Model
    name: str  # display name (the uploaded file names)
    kind: str  # "keras", "h5", "json+weights" or "weights"
    input_shape: tuple[int, ...]  # per-example input shape, one of ACCEPTED_INPUT_SHAPES
    outputs_logits: bool  # True when the last layer gives logits rather than probabilities
    source_files: list[str]


def group_uploads(files: list[tuple[str, bytes]]) -> list[list[tuple[str, bytes]]]:
    """Group uploaded files into models: a .json with the weights file of its stem, else the next."""
    remaining = list(files)
    groups = []
    while remaining:
        name, data = remaining.pop(0)
        if not name.lower().endswith(".json"):
            groups.append([(name, data)])
            continue
        stem = _stem(name)
        weights = [i for i, (other, _) in enumerate(remaining) if _is_weights_name(other)]
        same_stem = [i for i in weights if _stem(remaining[i][0]) == stem]
        if same_stem:
            groups.append([(name, data), remaining.pop(same_stem[0])])
        elif remaining and _is_weights_name(remaining[0][0]):
            groups.append([(name, data), remaining.pop(0)])
        else:
            groups.append([(name, data)])
    return groups


def _is_weights_name(name: str) -> bool:
    return name.lower().endswith(WEIGHT_SUFFIXES)


def _stem(name: str) -> str:
    lower = Path(name).name.lower()
    for suffix in (".json", *WEIGHT_SUFFIXES):
        if lower.endswith(suffix):
            return lower[: -len(suffix)]
    return lower


def input_for_model(model: keras.Model, images_uint8: np.ndarray) -> np.ndarray:
    """Images scaled to 0-1 and shaped for the model's input: (784,), (28, 28) or (28, 28, 1)."""
    return to_model_input(images_uint8, _model_input_shape(model, "the model"))


def load_uploaded_model(
    files: list[tuple[str, bytes]], architecture: keras.Model | None = None
) -> LoadedModel:
    """Inspect uploaded files in isolation, then load them; raise UploadRefused with the reason.

    files: one whole model (.keras, .h5), an architecture .json plus its weights file, or a
    weights file alone, which is loaded into a fresh copy of `architecture`.
    """
    if not files:
        raise UploadRefused("No file was uploaded.")
    if len(files) > 2:
        raise UploadRefused("Upload one model at a time: a model file, or a .json and weights.")
    names = [name for name, _ in files]
    display = " + ".join(Path(n).name for n in names)
    with tempfile.TemporaryDirectory(prefix="digitlab-upload-") as folder:
        verdicts = [
            _inspect_bytes(Path(folder), i, name, data) for i, (name, data) in enumerate(files)
        ]
        kinds = [v.kind for v, _ in verdicts]
        if len(files) == 2:
            order = sorted(range(2), key=lambda i: kinds[i] != "json")
            (arch, _), (weights, weights_path) = (verdicts[i] for i in order)
            if arch.kind != "json" or weights.kind not in ("weights", "h5_weights"):
                raise UploadRefused(
                    f"{display}: two files make one model only as an architecture .json plus a "
                    "weights file (.weights.h5 or .h5)."
                )
            model = _model_from_config(arch.config, names[order[0]])
            _load_weights(model, weights, weights_path, names[order[1]])
            kind = "json+weights"
        else:
            verdict, path = verdicts[0]
            if verdict.kind == "keras":
                model = _load_keras_zip(path, names[0])
                kind = "keras"
            elif verdict.kind == "h5_model":
                model = _model_from_config(verdict.config, names[0])
                with h5py.File(path, "r") as f:
                    _load_legacy_weights(model, f["model_weights"], names[0])
                kind = "h5"
            elif verdict.kind == "json":
                raise UploadRefused(
                    f"{display} is an architecture without weights: upload its weights file "
                    "together with it."
                )
            else:
                if architecture is None:
                    raise UploadRefused(
                        f"{display} holds only weights: build or choose the matching "
                        "architecture first, or upload its architecture .json with it."
                    )
                model = _fresh_copy(architecture)
                _load_weights(model, verdict, path, names[0])
                kind = "weights"
    input_shape = _model_input_shape(model, display)
    _check_outputs(model, display)
    return LoadedModel(model, display, kind, input_shape, _outputs_logits(model), names)


def _inspect_bytes(folder: Path, index: int, name: str, data: bytes) -> tuple[Verdict, Path]:
    if not data:
        raise UploadRefused(f"{Path(name).name} was refused: the file is empty.")
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise UploadRefused(
            f"{Path(name).name} was refused: it is {len(data) / 2**20:.0f} MB, more than the "
            f"{MAX_UPLOAD_MB} MB allowed."
        )
    # Never use the uploaded name as a path: it could point anywhere.
    path = folder / f"upload{index}.bin"
    path.write_bytes(data)
    verdict = inspect_upload(path, Path(name).name)
    # Keras picks its loader by suffix: give the file the one its content deserves.
    suffix = {"keras": ".keras", "weights": ".weights.h5"}.get(verdict.kind, ".h5")
    return verdict, path.rename(path.with_suffix(suffix))


def _load_keras_zip(path: Path, name: str) -> keras.Model:
    try:
        # safe_mode=True: Keras refuses lambdas itself too (defence in depth).
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:
        raise UploadRefused(f"{Path(name).name} could not be loaded: {_short(error)}") from None


def _model_from_config(config: dict, name: str) -> keras.Model:
    """Build a model from a checked config, translating Keras 2 conventions to Keras 3."""
    try:
        model = keras.saving.deserialize_keras_object(keras3_config(config), safe_mode=True)
    except Exception as error:
        raise UploadRefused(
            f"{Path(name).name} could not be turned into a model: {_short(error)}"
        ) from None
    if not isinstance(model, keras.Model):
        raise UploadRefused(f"{Path(name).name} does not describe a model.")
    return model


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
            else:
                cfg["batch_input_shape"] = batch_input_shape  # functional: the legacy path reads it
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
    if class_name == "InputLayer":
        accepted |= {"batch_input_shape"}
    return {k: v for k, v in cfg.items() if k in accepted or k == "batch_input_shape"}


def _load_weights(model: keras.Model, verdict: Verdict, path: Path, name: str) -> None:
    if verdict.kind == "h5_weights":
        with h5py.File(path, "r") as f:
            _load_legacy_weights(model, f, name)
        return
    try:
        model.load_weights(path)
    except Exception as error:
        raise UploadRefused(
            f"The weights in {Path(name).name} do not fit this architecture: {_short(error)}"
        ) from None


def _load_legacy_weights(model: keras.Model, group: h5py.Group, name: str) -> None:
    """Set weights from a Keras 2 / legacy HDF5 group, layer by layer in order, checking shapes."""
    file_name = Path(name).name
    saved = []
    for layer_name in _h5_names(group, "layer_names"):
        layer_group = group[layer_name]
        arrays = [np.asarray(layer_group[w]) for w in _h5_names(layer_group, "weight_names")]
        if arrays:
            saved.append((layer_name, arrays))
    layers = [layer for layer in model.layers if layer.weights]
    if len(saved) != len(layers):
        raise UploadRefused(
            f"The weights in {file_name} do not fit this architecture: the file has weights "
            f"for {len(saved)} layers, the architecture has {len(layers)} layers with weights."
        )
    for layer, (saved_name, arrays) in zip(layers, saved, strict=True):
        # Legacy files store trainable weights first, then the others (e.g. BatchNorm moments).
        variables = layer.trainable_weights + layer.non_trainable_weights
        expected = [tuple(v.shape) for v in variables]
        found = [a.shape for a in arrays]
        if expected != found:
            raise UploadRefused(
                f"The weights in {file_name} do not fit this architecture: layer "
                f"'{layer.name}' needs weights of shapes {expected}, the file's layer "
                f"'{saved_name}' has {found}."
            )
    for layer, (_, arrays) in zip(layers, saved, strict=True):
        for variable, array in zip(
            layer.trainable_weights + layer.non_trainable_weights, arrays, strict=True
        ):
            variable.assign(array)


def _h5_names(group: h5py.Group, attr: str) -> list[str]:
    if attr in group.attrs:
        values = list(group.attrs[attr])
    else:  # long lists are split over attr0, attr1, ...
        values, i = [], 0
        while f"{attr}{i}" in group.attrs:
            values.extend(group.attrs[f"{attr}{i}"])
            i += 1
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _fresh_copy(architecture: keras.Model) -> keras.Model:
    # A clone, so a failed load never touches the caller's model.
    clone = keras.models.clone_model(architecture)
    if not clone.built:
        clone.build((None, *architecture.input_shape[1:]))
    return clone


def _model_input_shape(model: keras.Model, name: str) -> tuple[int, ...]:
    try:
        shape = tuple(model.input_shape[1:])
    except (AttributeError, ValueError):
        raise UploadRefused(f"{name}: the model does not say what input it expects.") from None
    if shape not in ACCEPTED_INPUT_SHAPES:
        raise UploadRefused(
            f"{name} was refused: it expects inputs of shape {shape}, but Digit Lab feeds "
            "28x28 grey digits as (784,), (28, 28) or (28, 28, 1): it was made for other data."
        )
    return shape


def _check_outputs(model: keras.Model, name: str) -> None:
    shape = tuple(model.output_shape[1:]) if not isinstance(model.output_shape, list) else None
    if shape != (NUM_CLASSES,):
        raise UploadRefused(
            f"{name} was refused: it has outputs of shape {shape}, but MNIST has "
            f"{NUM_CLASSES} classes: it was made for other data."
        )


def _outputs_logits(model: keras.Model) -> bool:
    """Whether the last layer ends without a softmax (so outputs are logits)."""
    last = model.layers[-1]
    while isinstance(last, keras.Model):
        last = last.layers[-1]
    if isinstance(last, keras.layers.Softmax):
        return False
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", "") != "softmax"


def _short(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text[:300] + ("..." if len(text) > 300 else "")
