"""The worker's side: tell a file's format from its bytes and hand it to that format's checks."""

from __future__ import annotations

import json
import os

from core.i18n import msg
from core.inspect.allowlists import HDF5_MAGIC, MAX_CONFIG_MB, MAX_UPLOAD_MB, ZIP_MAGICS
from core.inspect.archive import check_members, open_zip
from core.inspect.bundle import FOOTER_SIZE, TABLE_MAGIC
from core.inspect.checkpoint import inspect_checkpoint
from core.inspect.config import check_model_config
from core.inspect.savedmodel import inspect_savedmodel_zip, savedmodel_root
from core.inspect.verdict import Refusal, parse_json, refuse


def inspect_path(path: str, companions: list[str] | None = None) -> dict:
    """Check a file (with a checkpoint's data files) and return a JSON-able verdict; or Refusal."""
    size = os.path.getsize(path)
    if size == 0:
        raise refuse("empty_file")
    if size > MAX_UPLOAD_MB * 1024 * 1024:
        raise refuse("file_too_big", limit=MAX_UPLOAD_MB)
    with open(path, "rb") as f:
        head = f.read(1024)
    if head.startswith(ZIP_MAGICS):
        return _inspect_zip(path)
    if head.startswith(HDF5_MAGIC):
        from core.inspect.hdf5 import inspect_h5_file  # h5py and NumPy: ~0.2 s to import

        return inspect_h5_file(path)
    if head.lstrip()[:1] == b"{":
        if size > MAX_CONFIG_MB * 1024 * 1024:
            raise refuse("config_too_big", limit=MAX_CONFIG_MB)
        with open(path, "rb") as f:
            config = parse_json(f.read(), "JSON")
        return {"ok": True, "kind": "json", **check_model_config(config)}
    if is_bundle_index(path):
        return inspect_checkpoint(path, companions or [])
    raise refuse("unknown_format")


def is_bundle_index(path: str) -> bool:
    """Whether a file ends like a TensorFlow checkpoint index (a sorted table's magic number)."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() < FOOTER_SIZE:
            return False
        f.seek(-8, os.SEEK_END)
        return int.from_bytes(f.read(8), "little") == TABLE_MAGIC


def _inspect_zip(path: str) -> dict:
    with open_zip(path) as archive:
        names = check_members(archive)
        if "config.json" in names or "model.weights.h5" in names:
            from core.inspect.keras_zip import inspect_keras_zip

            return inspect_keras_zip(archive, names)
        root = savedmodel_root(names)
        if root is not None:
            return inspect_savedmodel_zip(archive, names, root)
        raise refuse("zip_not_a_model")


def main(argv: list[str]) -> int:
    """Entry point of the worker process: print one JSON verdict line."""
    try:
        verdict = inspect_path(argv[0], argv[1:])
    except Refusal as refusal:
        verdict = {"ok": False, "reason": refusal.message.to_dict()}
    except MemoryError:
        verdict = {"ok": False, "reason": msg("upload.out_of_memory").to_dict()}
    except RecursionError:
        verdict = {"ok": False, "reason": msg("upload.too_deep").to_dict()}
    except Exception as error:  # noqa: BLE001 - any other failure means a damaged file
        reason = msg("upload.unreadable", error=type(error).__name__)
        verdict = {"ok": False, "reason": reason.to_dict()}
    print(json.dumps(verdict))
    return 0
