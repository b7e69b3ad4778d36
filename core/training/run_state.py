"""What a run folder holds to continue from: its last completed epoch's history and settings.

A run is continued from its folder alone (in this process, another app server's or a Ray
worker's), so that Continue and an interrupted run take the same path. No TensorFlow here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.runs import BEST_WEIGHTS_FILE, HISTORY_FILE, MODEL_FILE, SPEC_FILE


class NothingToResumeError(FileNotFoundError):
    """The run folder has no saved model (or no spec.json) to continue from."""


@dataclass(frozen=True)
class RunState:
    """A run as it was saved after its last completed epoch (model.keras holds the weights)."""

    owner: str
    name: str
    created: str  # ISO local time the run started
    spec: dict[str, Any]  # NetworkSpec.to_dict(), or {} for an uploaded model
    base_lr: float | None  # the compiled learning rate schedules start from
    epochs: int  # epochs completed
    history: dict[str, list[float]]  # per-epoch metrics
    batch_losses: list[tuple[int, float]]  # (global batch number, mean loss)
    has_best_weights: bool  # best.weights.h5 kept by an earlier job

    def best_value(self, monitor: str) -> float | None:
        """The best value of monitor so far, which a kept checkpoint must beat to be replaced."""
        values = [v for v in self.history.get(monitor, []) if math.isfinite(v)]
        if not self.has_best_weights or not values:
            return None
        return max(values) if "accuracy" in monitor else min(values)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} is damaged.")
    return data


def read_run_state(run_dir: Path) -> RunState:
    """The state to continue the run in run_dir from; NothingToResumeError if it saved no model."""
    run_dir = Path(run_dir)
    spec = _read(run_dir / SPEC_FILE)
    if not spec or not (run_dir / MODEL_FILE).exists():
        raise NothingToResumeError(f"Run {run_dir.name!r} saved no model to continue from.")
    saved = _read(run_dir / HISTORY_FILE)
    history = {k: [float(x) for x in v] for k, v in saved.get("epochs", {}).items()}
    base_lr = spec.get("base_lr")
    return RunState(
        owner=str(spec.get("owner", "")),
        name=str(spec.get("name", run_dir.name)),
        created=str(spec.get("created", "")),
        spec=dict(spec.get("spec") or {}),
        base_lr=float(base_lr) if isinstance(base_lr, (int, float)) else None,
        epochs=max((len(v) for v in history.values()), default=0),
        history=history,
        batch_losses=[(int(b), float(loss)) for b, loss in saved.get("batch_losses", [])],
        has_best_weights=(run_dir / BEST_WEIGHTS_FILE).exists(),
    )
