"""Save a model to bytes in every download format; loading uploads lives in core.loading."""

from __future__ import annotations

import copy
import re
import tempfile
from pathlib import Path

import h5py
import keras
import numpy as np

from core.i18n import code_comments
from core.inspect import MAX_UPLOAD_MB, UploadRefused
from core.keras2 import h5_names
from core.loading import (
    LoadedModel,
    group_uploads,
    input_for_model,
    load_uploaded_model,
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


def load_instructions(fmt: str, file_name: str | None = None, language: str = "en") -> str:
    """One line of plain Keras that loads a downloaded file back (its comment in a language)."""
    name = file_name or f"model{FORMATS[fmt]}"
    line = {
        "keras": f'model = keras.models.load_model("{name}")',
        "h5": f'model = keras.models.load_model("{name}")',
        "weights": f'model.load_weights("{name}")  #: save.code_same_architecture',
        "json": f'model = keras.models.model_from_json(open("{name}").read())',
    }[fmt]
    return code_comments(line, language)


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
                [np.asarray(group[name]) for name in h5_names(group, "weight_names")]
            )
    return model
