"""What the inspector answers: a Verdict for a file that passed, a Refusal (with its Message) else."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.i18n import MessageError, msg


class UploadRefused(MessageError):
    """A file was not loaded; the message names the file and says why, in plain language."""


class Refusal(MessageError):
    """Why the worker refuses a file (the caller adds the file name)."""


def refuse(key: str, **params: Any) -> Refusal:
    """A Refusal with the catalog message `upload.<key>`."""
    return Refusal(msg(f"upload.{key}", **params))


def parse_json(raw: bytes, what: str) -> Any:
    """JSON from bytes, or a refusal naming what was not JSON."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise refuse("bad_json", what=what) from None


@dataclass(frozen=True)
class Verdict:
    """What the worker found in a file that passed."""

    # "keras" (Keras 3 archive), "keras2" (Keras 2.12-2.15 archive), "h5_model",
    # "h5_weights" (Keras 2 layout), "weights" (Keras 3 layout), "json", "checkpoint",
    # "savedmodel_keras" (a zipped tf.keras SavedModel folder), "savedmodel_graph" (one without
    # Keras metadata, evaluated through its checked serving signature)
    kind: str
    config: (
        dict | None
    )  # the checked model config (kinds keras, keras2, h5_model, json, savedmodel_keras)
    input_shape: tuple[int, ...] | None  # per-example input shape, when the config says
    num_params: int | None
    variables: dict[str, list] | None = (
        None  # checkpoint name -> [dtype, shape, shard, offset, size]
    )
    folder: str = ""  # the SavedModel folder inside the zip
    shards: int = 1  # how many variables.data-* files the SavedModel has
    # graph-only SavedModels: [signature name, its input's name, its output's name]
    signature: list[str] | None = None
