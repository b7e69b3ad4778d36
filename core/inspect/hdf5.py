"""HDF5 files (.h5 / .hdf5 / .weights.h5): links, data types and sizes checked before any read."""

from __future__ import annotations

import math
from typing import Any

import h5py

from core.inspect.allowlists import MAX_UNPACKED_MB
from core.inspect.config import check_model_config
from core.inspect.verdict import parse_json, refuse


def inspect_h5_file(path: str) -> dict:
    """A whole legacy model (model_config + model_weights) or a weights file, either layout."""
    try:
        h5 = h5py.File(path, "r")
    except OSError:
        raise refuse("bad_hdf5") from None
    with h5:
        check_h5_tree(h5)
        attrs = h5.attrs
        if "model_config" in attrs:
            config = parse_json(_attr_bytes(attrs["model_config"]), "model_config")
            summary = check_model_config(config)
            # training_config (optimizer, loss, metrics) is never read: uploads are not compiled.
            if "model_weights" not in h5:
                raise refuse("no_model_weights")
            return {"ok": True, "kind": "h5_model", **summary}
        if "layer_names" in attrs or "layer_names0" in attrs:
            return {"ok": True, "kind": "h5_weights"}
        if "layers" in h5 or "vars" in h5:
            return {"ok": True, "kind": "weights"}
    raise refuse("hdf5_not_keras")


def _attr_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise refuse("config_not_text")


def check_h5_tree(h5: Any) -> None:
    """Refuse links and non-numeric data, bound the declared size, then read every dataset."""
    datasets = []

    def visit(group: Any, prefix: str) -> None:
        for name in group:
            link = group.get(name, getlink=True)
            if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                raise refuse("hdf5_link", name=f"{prefix}{name}")
            item = group[name]
            if isinstance(item, h5py.Group):
                visit(item, f"{prefix}{name}/")
            elif isinstance(item, h5py.Dataset):
                datasets.append((f"{prefix}{name}", item))
            else:
                raise refuse("hdf5_odd_object", name=f"{prefix}{name}")

    visit(h5, "")
    declared = 0
    for name, ds in datasets:
        if ds.dtype.kind not in "fiub":
            raise refuse("hdf5_not_numbers", name=name, dtype=str(ds.dtype))
        if ds.is_virtual or ds.external:
            raise refuse("hdf5_external", name=name)
        declared += math.prod(ds.shape or ()) * ds.dtype.itemsize
    if declared > MAX_UNPACKED_MB * 1024 * 1024:
        raise refuse("weights_too_big", size_mb=declared / 2**20, limit=MAX_UNPACKED_MB)
    for name, ds in datasets:
        try:
            ds[()]
        except OSError:
            raise refuse("hdf5_unreadable", name=name) from None
