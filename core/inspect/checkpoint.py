"""TF checkpoints uploaded as files: the `.index` read as data, checked against its data files."""

from __future__ import annotations

import os

from core.inspect.bundle import OBJECT_GRAPH_KEY, BundleEntry, check_entries, read_index
from core.inspect.verdict import refuse


def variables_table(entries: dict[str, BundleEntry]) -> dict[str, list]:
    """The numeric variables as JSON-able [dtype, shape, shard, offset, size] rows."""
    return {
        name: [e.dtype, list(e.shape), e.shard, e.offset, e.size]
        for name, e in entries.items()
        if e.dtype != "string" and name != OBJECT_GRAPH_KEY
    }


def inspect_checkpoint(index_path: str, data_paths: list[str]) -> dict:
    """Check a checkpoint's index against the data files uploaded with it."""
    with open(index_path, "rb") as f:
        shards, entries = read_index(f.read())
    if len(data_paths) != shards:
        raise refuse("checkpoint_data_missing", count=shards)
    check_entries(entries, [os.path.getsize(p) for p in data_paths])
    return {"ok": True, "kind": "checkpoint", "variables": variables_table(entries)}
