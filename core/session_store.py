"""A session's durable state in its owner's folder: what a refresh (or another app server) finds again."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.runs import MODEL_FILE as RUN_MODEL
from core.runs import InvalidIdError, RunStore, check_id, write_json_atomic

if TYPE_CHECKING:
    import keras

SESSION_FILE = "session.json"  # in an owner's folder, beside profile.json and the run folders
MODEL_FILE = "session-model.keras"  # the active model when no run holds it (built or uploaded)
SOURCES = ("built", "trained", "uploaded")
Plain = str | int | float | bool | None  # what a page setting may be to be kept


@dataclass(frozen=True)
class SavedModel:
    """Where the active model is kept and what the sidebar says about it."""

    name: str
    source: str  # "built", "trained" or "uploaded"
    uid: str  # the ActiveModel's uid, so that settings kept for it still match
    run_id: str | None = None  # a run's model: loaded from that run's folder; else MODEL_FILE
    spec: dict[str, Any] | None = None  # NetworkSpec.to_dict(); None for uploaded models
    test_accuracy: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SavedModel:
        """Inverse of asdict; ValueError for a source or run id that is not one."""
        saved = cls(
            name=str(data["name"]),
            source=str(data["source"]),
            uid=str(data["uid"]),
            run_id=None if data.get("run_id") is None else str(data["run_id"]),
            spec=dict(data["spec"]) if data.get("spec") else None,
            test_accuracy=None
            if data.get("test_accuracy") is None
            else float(data["test_accuracy"]),
        )
        if saved.source not in SOURCES:
            raise ValueError(f"Unknown model source {saved.source!r}.")
        if saved.run_id is not None:
            check_id(saved.run_id, "run id")
        return saved


@dataclass
class SessionRecord:
    """Everything a session keeps beyond server memory: its active model and its pages' settings."""

    model: SavedModel | None = None
    settings: dict[str, Plain] = field(default_factory=dict)  # widget key -> value
    layers: list[dict[str, Plain]] = field(default_factory=list)  # Build's editor: LayerSpec dicts

    def to_dict(self) -> dict[str, Any]:
        model = asdict(self.model) if self.model else None
        return {"model": model, "settings": self.settings, "layers": self.layers}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionRecord:
        """The record a file holds; parts that are damaged are left out, never guessed."""
        try:
            model = SavedModel.from_dict(data["model"]) if data.get("model") else None
        except (KeyError, TypeError, ValueError):
            model = None
        settings = data.get("settings")
        plain = settings.items() if isinstance(settings, dict) else ()
        layers = data.get("layers")
        layers = layers if isinstance(layers, list) and all(map(_plain_dict, layers)) else []
        return cls(model, {str(k): v for k, v in plain if is_plain(v)}, layers)


def _plain_dict(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and is_plain(v) for k, v in value.items()
    )


def is_plain(value: object) -> bool:
    """True for what JSON keeps as it is: str, int, float, bool or None."""
    return value is None or isinstance(value, str | int | float | bool)


class SessionStore:
    """One session.json (and at most one model file) per owner, in the runs store's owner folder."""

    def __init__(self, runs: RunStore) -> None:
        self.runs = runs

    def load(self, owner: str) -> SessionRecord:
        """The owner's record; an empty one when there is none or it cannot be read."""
        try:
            data = json.loads((self.runs.owner_dir(owner) / SESSION_FILE).read_text())
        except (OSError, ValueError):
            return SessionRecord()
        return SessionRecord.from_dict(data) if isinstance(data, dict) else SessionRecord()

    def save(self, owner: str, record: SessionRecord) -> None:
        """Write the record atomically (a reader, on this server or another, never sees half); a
        model file the record no longer points to goes."""
        base = self.runs.owner_dir(owner)
        base.mkdir(parents=True, exist_ok=True)
        write_json_atomic(base / SESSION_FILE, record.to_dict())
        if record.model is None or record.model.run_id is not None:
            (base / MODEL_FILE).unlink(missing_ok=True)

    def save_model(self, owner: str, model: keras.Model) -> None:
        """Keep a model that no run holds as the owner's MODEL_FILE (written, then renamed)."""
        base = self.runs.owner_dir(owner)
        base.mkdir(parents=True, exist_ok=True)
        tmp = base / f".{secrets.token_hex(4)}.{MODEL_FILE}"  # Keras wants the .keras ending
        try:
            model.save(tmp)
            os.replace(tmp, base / MODEL_FILE)
        finally:
            tmp.unlink(missing_ok=True)

    def load_model(self, owner: str, saved: SavedModel) -> keras.Model:
        """The saved active model: from its run's folder, or the owner's MODEL_FILE (safe_mode on)."""
        if saved.run_id is not None:
            return self.runs.load_model(owner, saved.run_id)
        import keras

        path = self.runs.owner_dir(owner) / MODEL_FILE
        if not path.exists():
            raise FileNotFoundError("The session's model file is gone.")
        return keras.saving.load_model(path, safe_mode=True)

    def run_id_of(self, owner: str, run_dir: str | Path | None) -> str | None:
        """The id of the owner's run in this folder if it saved its model; else None (another
        owner's run, a training stopped before it began, any other path)."""
        if run_dir is None:
            return None
        try:
            run_id = check_id(Path(run_dir).name, "run id")
            path = self.runs.run_dir(owner, run_id)
        except InvalidIdError:
            return None
        return run_id if path == Path(run_dir).resolve() and (path / RUN_MODEL).exists() else None
