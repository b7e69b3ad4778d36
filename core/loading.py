"""Load uploaded model files safely: each file is inspected in isolation before Keras reads it."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import keras
import numpy as np

from core.checkpoint_weights import assign_checkpoint, checkpoint_arrays
from core.data import to_model_input
from core.graph_model import is_graph_model, load_graph_savedmodel
from core.i18n import msg
from core.inspect import (
    ACCEPTED_INPUT_SHAPES,
    MAX_UPLOAD_MB,
    NUM_CLASSES,
    UploadRefused,
    Verdict,
    inspect_upload,
)
from core.inspect.shapes import fmt_shape
from core.keras2 import h5_names, keras2_archive_weights, keras3_config, snake_case

WEIGHT_SUFFIXES = (".weights.h5", ".h5", ".hdf5")
# cp.ckpt.index, cp.ckpt.data-00000-of-00001: the parts of one TF checkpoint share a prefix.
CHECKPOINT_PART = re.compile(r"^(.+)\.(index|data-(\d{5})-of-(\d{5}))$")


@dataclass
class LoadedModel:
    """An uploaded model that passed inspection and loaded."""

    model: keras.Model
    name: str  # display name (the uploaded file names)
    kind: str  # "keras", "keras2", "h5", "json+weights", "weights", "checkpoint", "savedmodel"
    # or "savedmodel_graph" (no Keras architecture: core.graph_model)
    input_shape: tuple[int, ...]  # per-example input shape, one of ACCEPTED_INPUT_SHAPES
    outputs_logits: bool  # True when the last layer gives logits rather than probabilities
    source_files: list[str]


def group_uploads(files: list[tuple[str, bytes]]) -> list[list[tuple[str, bytes]]]:
    """Group uploaded files into models.

    A .json goes with the weights file of its stem, else the next weights file; the parts of a TF
    checkpoint (.index, .data-...) go together, with a .json that found no weights file.
    """
    checkpoints: dict[str, list[tuple[str, bytes]]] = {}
    remaining = []
    for name, data in files:
        part = CHECKPOINT_PART.match(Path(name).name)
        if part:
            checkpoints.setdefault(part.group(1), []).append((name, data))
        else:
            remaining.append((name, data))
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
    for parts in checkpoints.values():
        parts.sort(key=lambda file: (not file[0].endswith(".index"), file[0]))
        lone_json = next((g for g in groups if len(g) == 1 and _is_json(g[0][0])), None)
        if lone_json is not None:
            groups.remove(lone_json)
            parts.insert(0, lone_json[0])
        groups.append(parts)
    return groups


def _is_json(name: str) -> bool:
    return name.lower().endswith(".json")


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
        raise UploadRefused(msg("upload.nothing"))
    names = [Path(name).name for name, _ in files]
    display = " + ".join(names)
    if any(CHECKPOINT_PART.match(name) for name in names):
        model = _load_checkpoint_group(files, names, architecture)
        input_shape = _model_input_shape(model, display)
        _check_outputs(model, display)
        return LoadedModel(model, display, "checkpoint", input_shape, _outputs_logits(model), names)
    if len(files) > 2:
        raise UploadRefused(msg("upload.one_at_a_time"))
    with tempfile.TemporaryDirectory(prefix="digitlab-upload-") as folder:
        verdicts = [
            _inspect_bytes(Path(folder), i, name, data) for i, (name, data) in enumerate(files)
        ]
        if len(files) == 2:
            model = _load_pair(verdicts, names, display)
            kind = "json+weights"
        else:
            verdict, path = verdicts[0]
            model = _load_single(verdict, path, names[0], architecture)
            kinds = {
                "h5_model": "h5",
                "h5_weights": "weights",
                "savedmodel_keras": "savedmodel",
                "savedmodel_graph": "savedmodel_graph",
            }
            kind = kinds.get(verdict.kind, verdict.kind)
    input_shape = _model_input_shape(model, display)
    _check_outputs(model, display)
    return LoadedModel(model, display, kind, input_shape, _outputs_logits(model), names)


def _load_pair(verdicts: list[tuple[Verdict, Path]], names: list[str], display: str):
    kinds = [v.kind for v, _ in verdicts]
    order = sorted(range(2), key=lambda i: kinds[i] != "json")
    (arch, _), (weights, weights_path) = (verdicts[i] for i in order)
    if arch.kind != "json" or weights.kind not in ("weights", "h5_weights"):
        raise UploadRefused(msg("upload.pair_mismatch", files=display))
    model = _model_from_config(arch.config, names[order[0]])
    _load_weights(model, weights, weights_path, names[order[1]])
    return model


def _load_single(verdict: Verdict, path: Path, name: str, architecture: keras.Model | None):
    if verdict.kind == "keras":
        return _load_keras_zip(path, name)
    if verdict.kind == "keras2":
        return _load_keras2_zip(verdict, path, name)
    if verdict.kind == "savedmodel_keras":
        return _load_keras_savedmodel(verdict, path, name)
    if verdict.kind == "savedmodel_graph":
        return load_graph_savedmodel(verdict, path, name)
    if verdict.kind == "h5_model":
        model = _model_from_config(verdict.config, name)
        with h5py.File(path, "r") as f:
            _load_legacy_weights(model, f["model_weights"], name)
        return model
    if verdict.kind == "json":
        raise UploadRefused(msg("upload.json_without_weights", file=name))
    if architecture is None:
        raise UploadRefused(msg("upload.weights_without_architecture", file=name))
    model = _fresh_copy(architecture)
    _load_weights(model, verdict, path, name)
    return model


def _load_checkpoint_group(
    files: list[tuple[str, bytes]], names: list[str], architecture: keras.Model | None
) -> keras.Model:
    """A checkpoint's .index and .data files, with an architecture .json or the active model."""
    parts = {i: CHECKPOINT_PART.match(name) for i, name in enumerate(names)}
    indexes = [i for i, part in parts.items() if part and part.group(2) == "index"]
    data = sorted((i for i, part in parts.items() if part and part.group(3)), key=names.__getitem__)
    jsons = [i for i in parts if _is_json(names[i])]
    if len(indexes) != 1:
        what = "upload.checkpoint_index_missing" if not indexes else "upload.one_at_a_time"
        raise UploadRefused(msg(what, file=names[data[0]] if data else names[0]))
    if len(jsons) > 1 or len(indexes) + len(data) + len(jsons) != len(files):
        raise UploadRefused(msg("upload.one_at_a_time"))
    index_name = names[indexes[0]]
    with tempfile.TemporaryDirectory(prefix="digitlab-upload-") as folder:
        data_paths = []
        for position, i in enumerate(data):
            path = Path(folder) / f"upload-data{position}.bin"
            path.write_bytes(files[i][1])
            data_paths.append(path)
        config = None
        if jsons:
            arch, _ = _inspect_bytes(Path(folder), 0, names[jsons[0]], files[jsons[0]][1])
            if arch.kind != "json":
                raise UploadRefused(msg("upload.pair_mismatch", files=" + ".join(names)))
            config = arch.config
        verdict, _ = _inspect_bytes(Path(folder), 1, index_name, files[indexes[0]][1], data_paths)
        shards = [path.read_bytes() for path in data_paths]
    if config is not None:
        model = _model_from_config(config, names[jsons[0]])
    elif architecture is not None:
        model = _fresh_copy(architecture)
    else:
        raise UploadRefused(msg("upload.checkpoint_needs_architecture", file=index_name))
    assign_checkpoint(model, checkpoint_arrays(verdict.variables or {}, shards), index_name)
    return model


def _load_keras_savedmodel(verdict: Verdict, path: Path, name: str) -> keras.Model:
    """A tf.keras SavedModel: rebuilt from its checked config, variables read as data."""
    model = _model_from_config(verdict.config, name)
    data = f"{verdict.folder}variables/variables.data-{{:05d}}-of-{verdict.shards:05d}"
    with zipfile.ZipFile(path) as archive:
        shards = [archive.read(data.format(i)) for i in range(verdict.shards)]
    assign_checkpoint(model, checkpoint_arrays(verdict.variables or {}, shards), name)
    return model


def _inspect_bytes(
    folder: Path, index: int, name: str, data: bytes, companions: list[Path] | None = None
) -> tuple[Verdict, Path]:
    file_name = Path(name).name
    if not data:
        raise UploadRefused(msg("upload.refused", file=file_name, reason=msg("upload.empty_file")))
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        reason = msg("upload.too_big", size_mb=len(data) / 2**20, limit=MAX_UPLOAD_MB)
        raise UploadRefused(msg("upload.refused", file=file_name, reason=reason))
    # Never use the uploaded name as a path: it could point anywhere.
    path = folder / f"upload{index}.bin"
    path.write_bytes(data)
    verdict = inspect_upload(path, file_name, tuple(companions or ()))
    # Keras picks its loader by suffix: give the file the one its content deserves.
    suffixes = {"keras": ".keras", "weights": ".weights.h5", "h5_model": ".h5", "h5_weights": ".h5"}
    suffix = suffixes.get(verdict.kind, ".zip")
    return verdict, path.rename(path.with_suffix(suffix))


def _load_keras_zip(path: Path, name: str) -> keras.Model:
    try:
        # safe_mode=True: Keras refuses lambdas itself too (defence in depth).
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception:
        raise UploadRefused(msg("upload.load_failed", file=name)) from None


def _load_keras2_zip(verdict: Verdict, path: Path, name: str) -> keras.Model:
    """A Keras 2.12-2.15 archive: its checked config translated, its weights matched by class."""
    model = _model_from_config(verdict.config, name)
    with zipfile.ZipFile(path) as archive:
        weights = archive.read("model.weights.h5")
    with h5py.File(io.BytesIO(weights), "r") as f:
        saved = keras2_archive_weights(f)
    plan = []
    for layer in (layer for layer in model.layers if layer.weights):
        queue = saved.get(snake_case(type(layer).__name__)) or [[]]
        arrays = queue.pop(0)
        _check_layer_shapes(name, layer, layer.weights, arrays, snake_case(type(layer).__name__))
        plan.extend(zip(layer.weights, arrays, strict=True))
    for variable, array in plan:
        variable.assign(array)
    return model


def _model_from_config(config: dict, name: str) -> keras.Model:
    """Build a model from a checked config, translating Keras 2 conventions to Keras 3."""
    config = {k: v for k, v in config.items() if k not in ("compile_config", "training_config")}
    try:
        model = keras.saving.deserialize_keras_object(keras3_config(config), safe_mode=True)
    except Exception:
        raise UploadRefused(msg("upload.not_buildable", file=name)) from None
    if not isinstance(model, keras.Model):
        raise UploadRefused(msg("upload.not_a_model_object", file=name))
    return model


def _load_weights(model: keras.Model, verdict: Verdict, path: Path, name: str) -> None:
    if verdict.kind == "h5_weights":
        with h5py.File(path, "r") as f:
            _load_legacy_weights(model, f, name)
        return
    try:
        model.load_weights(path)
    except Exception:
        raise UploadRefused(msg("upload.weights_do_not_fit", file=name)) from None


def _load_legacy_weights(model: keras.Model, group: h5py.Group, name: str) -> None:
    """Set weights from a Keras 2 / legacy HDF5 group, layer by layer in order, checking shapes."""
    saved = []
    for layer_name in h5_names(group, "layer_names"):
        layer_group = group[layer_name]
        arrays = [np.asarray(layer_group[w]) for w in h5_names(layer_group, "weight_names")]
        if arrays:
            saved.append((layer_name, arrays))
    layers = [layer for layer in model.layers if layer.weights]
    if len(saved) != len(layers):
        raise UploadRefused(
            msg("upload.weights_layer_count", file=name, found=len(saved), expected=len(layers))
        )
    for layer, (saved_name, arrays) in zip(layers, saved, strict=True):
        # Legacy files store trainable weights first, then the others (e.g. BatchNorm moments).
        variables = layer.trainable_weights + layer.non_trainable_weights
        _check_layer_shapes(name, layer, variables, arrays, saved_name)
    for layer, (_, arrays) in zip(layers, saved, strict=True):
        for variable, array in zip(
            layer.trainable_weights + layer.non_trainable_weights, arrays, strict=True
        ):
            variable.assign(array)


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
        raise UploadRefused(msg("upload.no_input_shape", file=name)) from None
    if shape not in ACCEPTED_INPUT_SHAPES:
        reason = msg("upload.wrong_input", shape=fmt_shape(shape))
        raise UploadRefused(msg("upload.refused", file=name, reason=reason))
    return shape


def _check_outputs(model: keras.Model, name: str) -> None:
    shape = tuple(model.output_shape[1:]) if not isinstance(model.output_shape, list) else ()
    if shape != (NUM_CLASSES,):
        reason = msg("upload.wrong_output", shape=fmt_shape(shape), classes=NUM_CLASSES)
        raise UploadRefused(msg("upload.refused", file=name, reason=reason))


def _outputs_logits(model: keras.Model) -> bool:
    """Whether the last layer ends without a softmax (so outputs are logits)."""
    if is_graph_model(model):
        return model.outputs_logits
    last = model.layers[-1]
    while isinstance(last, keras.Model):
        last = last.layers[-1]
    if isinstance(last, keras.layers.Softmax):
        return False
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", "") != "softmax"


def _check_layer_shapes(name: str, layer, variables, arrays, saved: str) -> None:
    """Refuse, naming the layer and both shapes, when saved arrays do not fit a layer's variables."""
    expected = [tuple(v.shape) for v in variables]
    found = [tuple(a.shape) for a in arrays]
    if expected != found:
        raise UploadRefused(
            msg(
                "upload.weights_layer_shapes",
                file=name,
                layer=layer.name,
                expected=", ".join(map(fmt_shape, expected)),
                saved=saved,
                found=", ".join(map(fmt_shape, found)) or "-",
            )
        )
