"""SavedModel folders uploaded as one zip: Keras-made ones rebuilt from metadata, others checked.

A Keras-made SavedModel (tf.keras 2.x `model.save(dir)`) carries keras_metadata.pb, whose root
entry holds the model's config as JSON: that config is checked like any other and the weights
come from variables/ (a tensor bundle read as data). The stored graph (saved_model.pb) never runs.
Others (model.export, tf.saved_model.save) are checked op by op in core.inspect.graph.
"""

from __future__ import annotations

import json
import math
import posixpath
import re
import zipfile
from typing import Any

from core.inspect.allowlists import MAX_GRAPH_MB
from core.inspect.archive import read_member
from core.inspect.bundle import BundleEntry, check_entries, proto_fields, read_index
from core.inspect.checkpoint import variables_table
from core.inspect.config import check_model_config
from core.inspect.graph import inspect_graph
from core.inspect.verdict import refuse

DATA_MEMBER = re.compile(r"variables/variables\.data-(\d{5})-of-(\d{5})")
KNOWN_MEMBERS = {"saved_model.pb", "saved_model.pbtxt", "keras_metadata.pb", "fingerprint.pb"}


def savedmodel_root(names: list[str]) -> str | None:
    """The folder inside the zip that holds saved_model.pb ('' for the zip's top), if any."""
    roots = [posixpath.dirname(n) for n in names if posixpath.basename(n) == "saved_model.pb"]
    if not roots:
        return None
    if len(roots) > 1:
        raise refuse("savedmodel_several")
    return roots[0]


def _relative_members(names: list[str], root: str) -> list[str]:
    prefix = f"{root}/" if root else ""
    relative = []
    for name in names:
        if not name.startswith(prefix):
            raise refuse("savedmodel_outside_folder", name=name)
        rest = name[len(prefix) :]
        if rest and not rest.endswith("/"):
            relative.append(rest)
    return relative


def inspect_savedmodel_zip(archive: zipfile.ZipFile, names: list[str], root: str) -> dict:
    """Check a zipped SavedModel folder; Keras-made ones give their config and variables."""
    relative = _relative_members(names, root)
    for name in relative:
        known = name in KNOWN_MEMBERS or name == "variables/variables.index"
        if not (known or name.startswith("assets/") or DATA_MEMBER.fullmatch(name)):
            raise refuse("savedmodel_unexpected", name=name)
    if "variables/variables.index" not in relative:
        raise refuse("savedmodel_no_variables")
    prefix = f"{root}/" if root else ""
    shards, entries = read_index(read_member(archive, f"{prefix}variables/variables.index"))
    if "keras_metadata.pb" in relative:
        config = _root_config(read_member(archive, f"{prefix}keras_metadata.pb"))
        summary = {"kind": "savedmodel_keras", **check_model_config(plain_tuples(config))}
    else:
        summary = _graph_summary(archive, prefix, relative, entries)
    sizes = []
    for shard in range(shards):
        member = f"{prefix}variables/variables.data-{shard:05d}-of-{shards:05d}"
        if member not in names:
            raise refuse("savedmodel_no_variables")
        sizes.append(archive.getinfo(member).file_size)
    check_entries(entries, sizes)
    return {
        "ok": True,
        "variables": variables_table(entries),
        "folder": prefix,
        "shards": shards,
        **summary,
    }


def _graph_summary(
    archive: zipfile.ZipFile, prefix: str, relative: list[str], entries: dict[str, BundleEntry]
) -> dict:
    """A SavedModel without Keras metadata: its graph checked op by op (core.inspect.graph)."""
    if any(name.startswith("assets/") for name in relative):
        raise refuse("graph_assets")
    if archive.getinfo(f"{prefix}saved_model.pb").file_size > MAX_GRAPH_MB * 1024 * 1024:
        raise refuse("graph_too_big", limit=MAX_GRAPH_MB)
    params = sum(math.prod(e.shape) for e in entries.values() if e.dtype != "string")
    return inspect_graph(read_member(archive, f"{prefix}saved_model.pb"), params)


def _root_config(metadata: bytes) -> dict:
    """The model config of the root object in keras_metadata.pb (a SavedMetadata proto)."""
    for number, node in proto_fields(metadata):
        if number != 1 or not isinstance(node, bytes):
            continue
        fields = dict(proto_fields(node))
        if fields.get(3) == b"root":
            try:
                root = json.loads(fields.get(5, b"{}").decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise refuse("bad_json", what="keras_metadata.pb") from None
            config = root.get("model_config") if isinstance(root, dict) else None
            if isinstance(config, dict):
                return config
    raise refuse("savedmodel_no_config")


def plain_tuples(node: Any) -> Any:
    """tf.keras writes tuples as {"class_name": "__tuple__", "items": [...]}: make them lists."""
    if isinstance(node, dict):
        if node.get("class_name") == "__tuple__" and isinstance(node.get("items"), list):
            return [plain_tuples(item) for item in node["items"]]
        return {key: plain_tuples(value) for key, value in node.items()}
    if isinstance(node, list):
        return [plain_tuples(item) for item in node]
    return node
