"""The runs directory: one folder per training run, grouped by owner token."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.i18n import Message, MessageError, msg

if TYPE_CHECKING:
    import keras

SPEC_FILE = "spec.json"  # spec_dict + training config + name, written when a run starts
HISTORY_FILE = "history.json"  # per-epoch metrics and sampled batch losses
METRICS_FILE = "metrics.json"  # status "running" while a job trains; its summary once it ends
MODEL_FILE = "model.keras"  # the whole model (architecture, weights, optimizer state), saved
# after every completed epoch and when the job ends
START_MODEL_FILE = "start.keras"  # an uploaded model the run's first job started from
BEST_WEIGHTS_FILE = "best.weights.h5"  # weights of the best epoch (ModelCheckpoint)
PROFILE_FILE = "profile.json"  # in an owner's folder: the nickname the learner chose
NICKNAME_MAX = 24  # characters; fits a column of the class board

# Owner tokens and run ids come from URL query parameters: only this alphabet may reach a path.
_ID_RE = re.compile(r"[a-z0-9-]{1,64}")
# What new_owner_token makes: a URL may only bring back a token of this shape, never a guessable one.
_TOKEN_RE = re.compile(r"[0-9a-f]{16}")
# Nicknames: letters of any script, digits, spaces and a little punctuation; nothing that renders.
_NICKNAME_PUNCTUATION = frozenset(" -_.'")


class InvalidIdError(ValueError):
    """An owner token or run id that is not a safe directory name."""


def check_id(value: str, what: str = "id") -> str:
    """Return value if it matches [a-z0-9-]{1,64}, else raise InvalidIdError."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value) or set(value) == {"-"}:
        raise InvalidIdError(f"Invalid {what}: {value!r} (allowed: a-z, 0-9 and '-', 1-64 chars).")
    return value


def new_owner_token() -> str:
    """A fresh, unguessable owner token for a browser session."""
    return secrets.token_hex(8)


def is_owner_token(value: object) -> bool:
    """True for a string shaped like new_owner_token's (16 hex digits, 64 random bits)."""
    return isinstance(value, str) and _TOKEN_RE.fullmatch(value) is not None


class NicknameError(MessageError):
    """A nickname that is empty, too long or has characters a nickname may not have."""


def check_nickname(value: object) -> str:
    """The nickname tidied (NFC, single spaces), or NicknameError saying what is wrong."""
    if not isinstance(value, str):
        raise NicknameError(msg("class.nickname_empty"))
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if not text:
        raise NicknameError(msg("class.nickname_empty"))
    if len(text) > NICKNAME_MAX:
        raise NicknameError(msg("class.nickname_too_long", limit=NICKNAME_MAX))
    if not all(ch.isalnum() or ch in _NICKNAME_PUNCTUATION for ch in text):
        raise NicknameError(msg("class.nickname_characters"))
    return text


def new_run_id() -> str:
    """A run id that sorts by creation time, e.g. 20261122-101530-ab12."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON via a temporary file so that readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(data, indent=1, allow_nan=True))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class RunRecord:
    """What the Runs page shows about one run (read from its files)."""

    run_id: str
    name: str
    status: str  # finished, stopped, failed; running (an engine trains it now); interrupted
    # (its process died: it continues from its last saved epoch); incomplete: none of these is
    # known (no engine was asked, or a run made before status "running" was written)
    message: Message | str  # why it failed (a Message when the job wrote one), empty otherwise
    created: str  # ISO local time the run started
    epochs: int  # epochs completed (a stopped run's last epoch may be partial)
    final: dict[str, float]  # metrics of the last completed epoch
    best: dict[str, float]  # metrics of the best epoch
    best_epoch: int | None  # 1-based
    best_monitor: str | None  # the metric that chose the best epoch
    test_loss: float | None  # of the saved model on the 10k test set
    test_accuracy: float | None
    wall_seconds: float | None
    history: dict[str, list[float]] = field(repr=False)  # per-epoch curves for overlays
    spec: dict[str, Any] = field(repr=False)  # the network spec dict
    config: dict[str, Any] = field(repr=False)  # the TrainConfig as a dict
    path: Path = field(repr=False)
    has_model: bool = False  # model.keras exists
    has_best_weights: bool = False  # best.weights.h5 exists
    train_seconds: float | None = None  # inside model.fit, of the run's latest job
    epochs_planned: int | None = None  # the epoch the latest job was to end with


class RunStore:
    """Runs under root/<owner>/<run_id>/; every id is validated before it touches a path."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def owner_dir(self, owner: str) -> Path:
        """The folder of one owner's runs (not created)."""
        path = (self.root / check_id(owner, "owner token")).resolve()
        # Belt and braces: the regex already forbids '/' and '..'.
        if not path.is_relative_to(self.root.resolve()):
            raise InvalidIdError(f"Invalid owner token: {owner!r}.")
        return path

    def run_dir(self, owner: str, run_id: str) -> Path:
        """The folder of one run (not created)."""
        return self.owner_dir(owner) / check_id(run_id, "run id")

    def new_run_dir(self, owner: str) -> Path:
        """Create and return an empty folder for a new run."""
        base = self.owner_dir(owner)
        base.mkdir(parents=True, exist_ok=True)
        while True:
            path = base / new_run_id()
            try:
                path.mkdir()
                return path
            except FileExistsError:
                continue

    def list_runs(
        self, owner: str, training: Collection[str | Path] | None = None
    ) -> list[RunRecord]:
        """The owner's runs, newest first; folders without spec.json are skipped.

        training: the run folders an engine trains now (TrainingEngine.active_job); a run whose
        job never ended is "running" if listed there, else "interrupted". None: not asked.
        """
        base = self.owner_dir(owner)
        if not base.is_dir():
            return []
        active = _resolved(training)
        records = []
        for path in sorted(base.iterdir(), reverse=True):
            if path.is_dir() and _ID_RE.fullmatch(path.name) and (path / SPEC_FILE).exists():
                records.append(_read_record(path, active))
        return records

    def has_models(self, owner: str) -> bool:
        """Whether one of the owner's runs saved a model (cheap: reads no file)."""
        base = self.owner_dir(owner)
        return base.is_dir() and any(
            _ID_RE.fullmatch(p.name) and (p / MODEL_FILE).exists() for p in base.iterdir()
        )

    def load_run(
        self, owner: str, run_id: str, training: Collection[str | Path] | None = None
    ) -> RunRecord:
        """One run's record (training: as for list_runs); FileNotFoundError if there is none."""
        path = self.run_dir(owner, run_id)
        if not (path / SPEC_FILE).exists():
            raise FileNotFoundError(f"No run {run_id!r}.")
        return _read_record(path, _resolved(training))

    def load_model(self, owner: str, run_id: str) -> keras.Model:
        """The run's saved model, loaded with safe_mode on."""
        import keras

        path = self.run_dir(owner, run_id) / MODEL_FILE
        if not path.exists():
            raise FileNotFoundError(f"Run {run_id!r} has no saved model (did it fail?).")
        return keras.saving.load_model(path, safe_mode=True)

    def best_weights_path(self, owner: str, run_id: str) -> Path | None:
        """Path of the run's best.weights.h5, or None if it kept none."""
        path = self.run_dir(owner, run_id) / BEST_WEIGHTS_FILE
        return path if path.exists() else None

    def owners(self) -> list[str]:
        """Every owner with a folder here (for the teacher's class board, never for a learner)."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and _ID_RE.fullmatch(p.name)
        )

    def save_nickname(self, owner: str, nickname: str) -> str:
        """Keep the owner's nickname beside their runs; returns it tidied (NicknameError if bad)."""
        nickname = check_nickname(nickname)
        base = self.owner_dir(owner)
        base.mkdir(parents=True, exist_ok=True)
        write_json_atomic(base / PROFILE_FILE, {"nickname": nickname})
        return nickname

    def nickname(self, owner: str) -> str | None:
        """The owner's nickname, or None if they chose none (or the file is damaged)."""
        try:
            return check_nickname(_read_json(self.owner_dir(owner) / PROFILE_FILE).get("nickname"))
        except NicknameError:
            return None

    def delete_run(self, owner: str, run_id: str) -> None:
        """Remove a run's folder."""
        path = self.run_dir(owner, run_id)
        if path.is_dir():
            shutil.rmtree(path)


def _message(stored: Any) -> Message | str:
    """A stored message: a Message's dict (see Message.to_dict) or plain text."""
    if isinstance(stored, dict) and set(stored) == {"key", "params"}:
        return Message.from_dict(stored)
    return str(stored or "")


def _resolved(paths: Collection[str | Path] | None) -> set[Path] | None:
    return None if paths is None else {Path(p).resolve() for p in paths}


def _status(stored: Any, path: Path, training: set[Path] | None) -> str:
    """A job writes "running" when it starts and its end status when it ends: a run that still
    says "running" but that no engine trains was interrupted (its process died)."""
    if stored != "running":
        return str(stored or "incomplete")  # no metrics.json: a run older than "running"
    if training is None:
        return "incomplete"  # training or interrupted: nobody asked the engine
    return "running" if path.resolve() in training else "interrupted"


def _read_record(path: Path, training: set[Path] | None = None) -> RunRecord:
    spec = _read_json(path / SPEC_FILE)
    history = _read_json(path / HISTORY_FILE)
    metrics = _read_json(path / METRICS_FILE)
    epochs = history.get("epochs", {})
    status = _status(metrics.get("status"), path, training)
    # An interrupted or running job has no summary yet: its last saved epoch is its final one.
    last = {k: v[-1] for k, v in epochs.items() if isinstance(v, list) and v}
    return RunRecord(
        run_id=path.name,
        name=spec.get("name", path.name),
        status=status,
        message=_message(metrics.get("message", "")),
        created=spec.get("created", ""),
        epochs=len(epochs.get("loss", [])),
        final=metrics.get("final", last),
        best=metrics.get("best", {}),
        best_epoch=metrics.get("best_epoch"),
        best_monitor=metrics.get("best_monitor"),
        test_loss=metrics.get("test_loss"),
        test_accuracy=metrics.get("test_accuracy"),
        wall_seconds=metrics.get("wall_seconds"),
        history=epochs,
        spec=spec.get("spec", {}),
        config=spec.get("config", {}),
        path=path,
        has_model=(path / MODEL_FILE).exists(),
        has_best_weights=(path / BEST_WEIGHTS_FILE).exists(),
        train_seconds=metrics.get("train_seconds"),
        epochs_planned=spec.get("epochs_planned"),
    )
