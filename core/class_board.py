"""The teacher's class board: every session's runs with the learner's nickname, ranked."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace

from core.runs import RunRecord, RunStore
from core.spec import NetworkSpec, analyze


@dataclass(frozen=True)
class BoardRow:
    """One run on the board; `owner` is for loading the run and must never be shown."""

    rank: int | None  # 1 = best; None while the run has no test accuracy
    key: str  # stable and safe to show: a hash of the owner plus the run id
    owner: str  # the learner's session token (a credential: never render it)
    run_id: str
    nickname: str | None
    network: str  # the network's name
    layers: str  # e.g. "Conv2D(32, 3×3, valid) · MaxPooling2D(2×2) · Dense(10, softmax)"
    parameters: int | None  # None for a network without a spec (an uploaded model)
    train_seconds: float | None
    test_accuracy: float | None
    status: str
    epochs: int
    created: str
    has_model: bool


def learner_key(owner: str) -> str:
    """A short name for an owner that reveals nothing of the token (for keys and labels)."""
    return hashlib.sha256(owner.encode()).hexdigest()[:8]


def _network(record: RunRecord) -> tuple[str, int | None]:
    """The layer stack in short and the parameter count, from the run's spec (no Keras)."""
    try:
        spec = NetworkSpec.from_dict(record.spec)
    except (KeyError, TypeError, ValueError):
        return "", None
    analysis = analyze(spec)
    layers = " · ".join(layer.describe() for layer in spec.layers)
    return layers, analysis.total_params if analysis.ok else None


def _row(owner: str, nickname: str | None, record: RunRecord) -> BoardRow:
    layers, parameters = _network(record)
    return BoardRow(
        rank=None,
        key=f"{learner_key(owner)}-{record.run_id}",
        owner=owner,
        run_id=record.run_id,
        nickname=nickname,
        network=record.name,
        layers=layers,
        parameters=parameters,
        train_seconds=record.train_seconds
        if record.train_seconds is not None
        else record.wall_seconds,
        test_accuracy=record.test_accuracy,
        status=record.status,
        epochs=record.epochs,
        created=record.created,
        has_model=record.has_model,
    )


def rank_key(row: BoardRow) -> tuple[float, float, float, str]:
    """Higher test accuracy first; on a tie, fewer parameters, then less training time, then earlier."""
    accuracy = row.test_accuracy if row.test_accuracy is not None else -math.inf
    return (
        -accuracy,
        row.parameters if row.parameters is not None else math.inf,
        row.train_seconds if row.train_seconds is not None else math.inf,
        row.created,
    )


def rank(rows: list[BoardRow]) -> list[BoardRow]:
    """The rows sorted by rank_key and numbered; rows without a test accuracy come last, unranked."""
    ordered = sorted(rows, key=rank_key)
    ranked, number = [], 0
    for row in ordered:
        if row.test_accuracy is None:
            ranked.append(row)
            continue
        number += 1
        ranked.append(replace(row, rank=number))
    return ranked


def best_per_learner(rows: list[BoardRow]) -> list[BoardRow]:
    """Each learner's best run only (the first of theirs in rank order), numbered again."""
    seen: set[str] = set()
    best = []
    for row in sorted(rows, key=rank_key):
        if row.owner not in seen:
            seen.add(row.owner)
            best.append(row)
    return rank(best)


def class_board(store: RunStore, best_only: bool = False) -> list[BoardRow]:
    """Every run of every owner in the store, ranked (or each learner's best run only)."""
    rows = [
        _row(owner, store.nickname(owner), record)
        for owner in store.owners()
        for record in store.list_runs(owner)
    ]
    return best_per_learner(rows) if best_only else rank(rows)


def find_row(rows: list[BoardRow], key: str) -> BoardRow | None:
    """The row with this key, if it is on the board."""
    return next((row for row in rows if row.key == key), None)
