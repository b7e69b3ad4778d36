"""The learner's results for the Lessons, gathered from the session and kept beside its runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.lessons import (
    EvaluationFacts,
    LearnerResults,
    Lesson,
    ModelFacts,
    Progress,
    RunFacts,
    StepResult,
    check_lesson,
    load_progress,
    save_progress,
)
from core.runs import RunRecord
from core.spec import NetworkSpec, analyze
from ui.resources import run_store
from ui.session import owner_token
from ui.state import active_model

PROGRESS_FILE = "lessons.json"  # in runs/<owner token>/, beside the session's run folders
FINISHED = ("finished", "stopped")


def progress_path() -> Path:
    """Where this session's lesson progress lives (found again after a refresh via ?session=)."""
    return run_store().owner_dir(owner_token()) / PROGRESS_FILE


def model_facts(model: Any, name: str) -> ModelFacts:
    """Parameter count and layer classes of a Keras model."""
    return ModelFacts(
        name, int(model.count_params()), tuple(type(x).__name__ for x in model.layers)
    )


def _spec_facts(spec: dict[str, Any], name: str) -> ModelFacts | None:
    try:
        network = NetworkSpec.from_dict(spec)
        return ModelFacts(
            name, analyze(network).total_params, tuple(x.kind for x in network.layers)
        )
    except (KeyError, TypeError, ValueError):
        return None  # an uploaded model trained further has no spec


def _run_facts(record: RunRecord, active: ModelFacts | None) -> RunFacts | None:
    model = _spec_facts(record.spec, record.name) if record.spec else None
    if model is None and active is not None and active.name == record.name:
        model = active
    if record.status not in FINISHED or model is None:
        return None
    config = record.config
    return RunFacts(
        model=model,
        epochs=record.epochs,
        batch_size=int(config.get("batch_size", 0)),
        subset_size=config.get("subset_size"),
        validation=str(config.get("validation", "none")),
        early_stopping=bool(config.get("early_stopping")),
        checkpoint_best=bool(config.get("checkpoint_best")),
        val_loss=tuple(float(v) for v in record.history.get("val_loss", [])),
        test_accuracy=record.test_accuracy,
    )


def _active_facts() -> ModelFacts | None:
    active = active_model()
    return model_facts(active.model, active.name) if active is not None else None


def _save(path: Path, progress: Progress) -> bool:
    """Save the progress; False if the runs folder cannot be written (the pages carry on)."""
    try:
        save_progress(path, progress)
    except OSError:
        return False
    return True


def _update(change: Any) -> None:
    """Load the progress, apply change(progress) -> bool (changed?), save only if it changed."""
    path = progress_path()
    progress = load_progress(path)
    if change(progress):
        _save(path, progress)


def record_event(name: str, **details: Any) -> None:
    """Note that the learner did something no state shows (a download, a page looked at)."""
    facts = _active_facts()
    entry = details | ({"model": facts.to_dict()} if facts else {})

    def change(progress: Progress) -> bool:
        if progress.events.get(name) == entry:
            return False
        progress.events[name] = entry
        return True

    _update(change)


def record_evaluations(evaluated: list[Any]) -> None:
    """Keep the facts of uploaded models the Evaluate page has evaluated (ui.uploads results)."""
    facts = []
    for upload in evaluated:
        per_class = upload.report.per_class
        recalls = per_class["recall"].iloc[:10]
        digit = int(recalls.astype(float).idxmin())
        facts.append(
            EvaluationFacts(
                model=model_facts(upload.loaded.model, upload.name),
                kind=upload.loaded.kind,
                accuracy=float(upload.report.accuracy),
                untrained_accuracy=float(upload.untrained.accuracy) if upload.untrained else None,
                macro_f1=float(per_class.loc["macro avg", "f1"]),
                lowest_recall=float(recalls.min()),
                lowest_recall_digit=digit,
            )
        )

    def change(progress: Progress) -> bool:
        before = dict(progress.evaluations)
        for fact in facts:
            key = f"{fact.model.name}|{fact.kind}"
            progress.evaluations.pop(key, None)  # re-inserted last: newest last
            progress.evaluations[key] = fact
        return list(progress.evaluations.items()) != list(before.items())

    _update(change)


def learner_results(progress: Progress) -> LearnerResults:
    """The session's results: active model, finished runs on disk, uploads and events."""
    active = _active_facts()
    records = run_store().list_runs(owner_token())
    runs = tuple(r for r in (_run_facts(record, active) for record in records) if r is not None)
    return LearnerResults(
        active=active,
        runs=runs,
        evaluations=tuple(reversed(progress.evaluations.values())),  # newest first
        events=progress.events,
    )


def lesson_results(lessons: tuple[Lesson, ...]) -> tuple[dict[str, StepResult], bool]:
    """Every step's best result so far in this session, and whether the progress is kept on disk."""
    path = progress_path()
    progress = load_progress(path)
    results = learner_results(progress)
    current: dict[str, StepResult] = {}
    for lesson in lessons:
        current |= check_lesson(lesson, results)
    before = dict(progress.steps)
    kept = progress.keep(current)
    saved = _save(path, progress) if progress.steps != before else True
    return kept, saved
