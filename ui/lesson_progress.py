"""The learner's results for the Lessons, gathered from the session and kept beside its runs.

What the learner does is kept under the lesson open at the time (Keys.LESSON): nothing before the
first visit to the Lessons page, and nothing done for one lesson, ticks another lesson's steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

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
from ui.state import Keys, active_model

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


def current_lesson() -> str | None:
    """The lesson the learner has open (last chosen on the Lessons page), None before any."""
    return st.session_state.get(Keys.LESSON)


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
    """Note, for the open lesson, that the learner did something no state shows (a download)."""
    lesson = current_lesson()
    if lesson is None:
        return
    facts = _active_facts()
    entry = details | ({"model": facts.to_dict()} if facts else {})

    def change(progress: Progress) -> bool:
        events = progress.events.setdefault(lesson, {})
        if events.get(name) == entry:
            return False
        events[name] = entry
        return True

    _update(change)


def record_evaluations(evaluated: list[Any]) -> None:
    """Keep, for the open lesson, the uploads the Evaluate page has evaluated (ui.uploads results)."""
    lesson = current_lesson()
    if lesson is None:
        return
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
        evaluations = progress.evaluations.setdefault(lesson, {})
        before = dict(evaluations)
        for fact in facts:
            key = f"{fact.model.name}|{fact.kind}"
            evaluations.pop(key, None)  # re-inserted last: newest last
            evaluations[key] = fact
        return list(evaluations.items()) != list(before.items())

    _update(change)


def record_run(run_id: str) -> None:
    """Note that this run was started (or continued) for the open lesson."""
    lesson = current_lesson()
    if lesson is None:
        return

    def change(progress: Progress) -> bool:
        if progress.runs.get(run_id) == lesson:
            return False
        progress.runs[run_id] = lesson
        return True

    _update(change)


def learner_results(progress: Progress, lesson: str, records: list[RunRecord]) -> LearnerResults:
    """What the learner did for one lesson: the model made active, runs, uploads and events."""
    active = _active_facts()
    runs = tuple(
        facts
        for record in records
        if progress.runs.get(record.run_id) == lesson
        and (facts := _run_facts(record, active)) is not None
    )
    return LearnerResults(
        active=active if st.session_state.get(Keys.ACTIVE_LESSON) == lesson else None,
        runs=runs,
        evaluations=tuple(reversed(progress.evaluations.get(lesson, {}).values())),  # newest first
        events=progress.events.get(lesson, {}),
    )


def lesson_results(lessons: tuple[Lesson, ...]) -> tuple[dict[str, StepResult], bool]:
    """Every step's best result so far in this session, and whether the progress is kept on disk."""
    path = progress_path()
    progress = load_progress(path)
    records = run_store().list_runs(owner_token())
    current: dict[str, StepResult] = {}
    for lesson in lessons:
        current |= check_lesson(lesson, learner_results(progress, lesson.key, records))
    before = dict(progress.steps)
    kept = progress.keep(current)
    saved = _save(path, progress) if progress.steps != before else True
    return kept, saved
