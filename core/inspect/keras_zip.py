"""`.keras` archives, from Keras 3 and from Keras 2.12-2.15 (told apart by metadata.json)."""

from __future__ import annotations

import io
import zipfile

import h5py

from core.inspect.allowlists import KERAS_ZIP_MEMBERS, MAX_CONFIG_MB
from core.inspect.archive import read_member
from core.inspect.config import check_model_config
from core.inspect.hdf5 import check_h5_tree
from core.inspect.verdict import parse_json, refuse


def inspect_keras_zip(archive: zipfile.ZipFile, names: list[str]) -> dict:
    """Check a .keras archive whose members were already checked by check_members."""
    extra = [n for n in names if n not in KERAS_ZIP_MEMBERS and n not in ("assets/", "assets")]
    if extra:
        raise refuse("keras_extra_members", names=", ".join(f"'{n}'" for n in extra[:5]))
    for required in ("config.json", "model.weights.h5"):
        if required not in names:
            raise refuse("keras_missing_member", name=required)
    if archive.getinfo("config.json").file_size > MAX_CONFIG_MB * 1024 * 1024:
        raise refuse("config_too_big", limit=MAX_CONFIG_MB)
    config = parse_json(read_member(archive, "config.json"), "config.json")
    metadata_raw = read_member(archive, "metadata.json") if "metadata.json" in names else b"{}"
    metadata = parse_json(metadata_raw, "metadata.json")
    if not isinstance(metadata, dict):
        raise refuse("metadata_not_object")
    summary = check_model_config(config)
    try:
        h5 = h5py.File(io.BytesIO(read_member(archive, "model.weights.h5")), "r")
    except OSError:
        raise refuse("keras_bad_weights") from None
    with h5:
        check_h5_tree(h5)
    version = str(metadata.get("keras_version", ""))
    return {"ok": True, "kind": "keras2" if version.startswith("2.") else "keras", **summary}
