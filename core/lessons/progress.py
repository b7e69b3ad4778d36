"""A session's lesson progress on disk, beside its runs: what each lesson's steps saw, and their results.

Everything the learner does is kept under the lesson that was open when they did it (the lesson
last chosen on the Lessons page): a lesson's steps are checked against its own runs, uploads and
events only, never another lesson's or what came before any lesson was opened.
"""

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
    """A session's lesson progress: per lesson its events, uploads and runs; every step's result."""

    events: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # lesson -> name ->
    evaluations: dict[str, dict[str, EvaluationFacts]] = field(
        default_factory=dict
    )  # lesson -> key ->
    runs: dict[str, str] = field(default_factory=dict)  # run id -> the lesson it was started in
    steps: dict[str, StepResult] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lesson_events": self.events,
            "lesson_evaluations": {
                lesson: {k: e.to_dict() for k, e in kept.items()}
                for lesson, kept in self.evaluations.items()
            },
            "lesson_runs": self.runs,
            "steps": {k: r.to_dict() for k, r in self.steps.items()},
        }

    def keep(self, results: Mapping[str, StepResult]) -> dict[str, StepResult]:
        """Merge new results in and return every step's kept one. A step never falls back, and a
        done step keeps the result that did it (a later run of another step does not replace it)."""
        for key, result in results.items():
            kept = self.steps.get(key, TODO)
            better = RANK[result.status] > RANK[kept.status]
            if better or result.status == kept.status == "differs":
                self.steps[key] = result
        return {key: self.steps.get(key, results[key]) for key in results}


def load_progress(path: Path) -> Progress:
    """The progress saved at path; an empty one if it is missing or unreadable.

    Files written before lessons kept their own results have flat "events" and "evaluations",
    which no lesson can claim: only their step results are read.
    """
    try:
        data = json.loads(Path(path).read_text())
        return Progress(
            events={
                str(lesson): {str(k): dict(v) for k, v in kept.items()}
                for lesson, kept in data.get("lesson_events", {}).items()
            },
            evaluations={
                str(lesson): {str(k): EvaluationFacts.from_dict(v) for k, v in kept.items()}
                for lesson, kept in data.get("lesson_evaluations", {}).items()
            },
            runs={str(k): str(v) for k, v in data.get("lesson_runs", {}).items()},
            steps={str(k): StepResult.from_dict(v) for k, v in data.get("steps", {}).items()},
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return Progress()


def save_progress(path: Path, progress: Progress) -> None:
    """Write the progress next to the session's runs (atomically: a reader never sees half)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, progress.to_dict())
