"""A session's lesson progress on disk, beside its runs: events, uploads, best step results."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.lessons.facts import RANK, TODO, EvaluationFacts, StepResult
from core.runs import write_json_atomic


@dataclass
class Progress:
    """A session's lesson progress: events, evaluated uploads, and every step's best result."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    evaluations: dict[str, EvaluationFacts] = field(default_factory=dict)  # by name and kind
    steps: dict[str, StepResult] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "evaluations": {k: e.to_dict() for k, e in self.evaluations.items()},
            "steps": {k: r.to_dict() for k, r in self.steps.items()},
        }

    def keep(self, results: Mapping[str, StepResult]) -> dict[str, StepResult]:
        """Merge new results in (a step never falls back); return every step's kept result."""
        for key, result in results.items():
            kept = self.steps.get(key, TODO)
            if RANK[result.status] >= RANK[kept.status] and result.status != "todo":
                self.steps[key] = result
        return {key: self.steps.get(key, results[key]) for key in results}


def load_progress(path: Path) -> Progress:
    """The progress saved at path; an empty one if it is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text())
        return Progress(
            events={str(k): dict(v) for k, v in data.get("events", {}).items()},
            evaluations={
                str(k): EvaluationFacts.from_dict(v) for k, v in data.get("evaluations", {}).items()
            },
            steps={str(k): StepResult.from_dict(v) for k, v in data.get("steps", {}).items()},
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return Progress()


def save_progress(path: Path, progress: Progress) -> None:
    """Write the progress next to the session's runs (atomically: a reader never sees half)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, progress.to_dict())
