"""Step checks: each compares a LearnerResults snapshot with the tutorial's figure."""

from __future__ import annotations

from collections.abc import Callable

from core.i18n import Message, msg
from core.lessons.facts import (
    TODO,
    Check,
    EvaluationFacts,
    LearnerResults,
    ModelFacts,
    RunFacts,
    StepResult,
)

TEST_DIGITS = 10_000
NEAR_CHANCE = 0.2  # an untrained 10-class model scores about 10%; above this it is not untrained


def _close(value: float, target: float, tolerance: float) -> bool:
    return abs(value - target) <= tolerance


def _params_yours(model: ModelFacts) -> Message:
    return msg("lessons.yours.params", count=model.params, name=model.name)


def built(kind: Callable[[ModelFacts], bool], params: int) -> Check:
    """Done when a network of this kind has exactly `params` parameters; differs for another count."""

    def check(results: LearnerResults) -> StepResult:
        candidates = [m for m in results.models() if kind(m)]
        exact = [m for m in candidates if m.params == params]
        if exact:
            return StepResult("done", _params_yours(exact[0]))
        return StepResult("differs", _params_yours(candidates[0])) if candidates else TODO

    return check


def inspected(kind: Callable[[ModelFacts], bool], params: int | None = None) -> Check:
    """Done when the Inspect page showed a network of this kind (with `params`, if given)."""

    def check(results: LearnerResults) -> StepResult:
        data = results.events.get("inspected", {}).get("model")
        model = ModelFacts.from_dict(data) if data else None
        if model is None or not kind(model):
            return TODO
        same = params is None or model.params == params
        return StepResult("done" if same else "differs", _params_yours(model))

    return check


def _run_yours(run: RunFacts) -> Message:
    return msg(
        "lessons.yours.run",
        accuracy=run.test_accuracy or 0.0,
        epochs=run.epochs,
        batch=run.batch_size,
        digits=run.subset_size or 60_000,
    )


def _runs(results: LearnerResults, kind: Callable[[ModelFacts], bool]) -> list[RunFacts]:
    return [r for r in results.runs if kind(r.model) and r.test_accuracy is not None]


def trained_with(
    kind: Callable[[ModelFacts], bool], epochs: int, batch_size: int, validation: bool = True
) -> Check:
    """Done when a run used the tutorial's epochs and batch size (and validation data)."""

    def check(results: LearnerResults) -> StepResult:
        runs = [r for r in _runs(results, kind) if r.validation != "none" or not validation]
        if not runs:
            return TODO
        same = [r for r in runs if r.epochs == epochs and r.batch_size == batch_size]
        return (
            StepResult("done", _run_yours(same[0]))
            if same
            else StepResult("differs", _run_yours(runs[0]))
        )

    return check


def trained_to(
    kind: Callable[[ModelFacts], bool],
    accuracy: float,
    tolerance: float,
    needs: Callable[[RunFacts], bool] = lambda run: True,
) -> Check:
    """Done when a run that fits `needs` reached the tutorial's test accuracy, within tolerance."""

    def check(results: LearnerResults) -> StepResult:
        runs = [r for r in _runs(results, kind) if needs(r)]
        if not runs:
            return TODO
        runs.sort(key=lambda r: abs((r.test_accuracy or 0.0) - accuracy))
        best = runs[0]
        close = _close(best.test_accuracy or 0.0, accuracy, tolerance)
        return StepResult("done" if close else "differs", _run_yours(best))

    return check


def curves_read(results: LearnerResults) -> StepResult:
    """Done when a run has validation loss over two epochs or more: the curves can be read."""
    runs = [r for r in results.runs if len(r.val_loss) >= 2]
    if not runs:
        return TODO
    run = runs[0]
    best = min(range(len(run.val_loss)), key=run.val_loss.__getitem__) + 1
    return StepResult("done", msg("lessons.yours.curves", best=best, epochs=len(run.val_loss)))


def callbacks_used(results: LearnerResults) -> StepResult:
    """Done when a run used both EarlyStopping and the best-only checkpoint; differs for one."""
    runs = [r for r in results.runs if r.early_stopping or r.checkpoint_best]
    if not runs:
        return TODO
    runs.sort(key=lambda r: r.early_stopping + r.checkpoint_best, reverse=True)
    run = runs[0]
    yours = msg(
        "lessons.yours.callbacks",
        early=msg("lessons.yes" if run.early_stopping else "lessons.no"),
        best=msg("lessons.yes" if run.checkpoint_best else "lessons.no"),
        epochs=run.epochs,
    )
    return StepResult("done" if run.early_stopping and run.checkpoint_best else "differs", yours)


def downloaded(*events: str) -> Check:
    """Done when every one of these downloads was clicked (any one of `a|b` counts)."""

    def check(results: LearnerResults) -> StepResult:
        names = []
        for event in events:
            found = [name for name in event.split("|") if name in results.events]
            if not found:
                return TODO
            names.append(str(results.events[found[0]].get("file", found[0])))
        return StepResult("done", msg("lessons.yours.downloaded", files=", ".join(names)))

    return check


def _evaluations(results: LearnerResults, kinds: str) -> list[EvaluationFacts]:
    return [e for e in results.evaluations if e.kind in kinds.split("|")]


def evaluated(kinds: str) -> Check:
    """Done when a model saved in one of these forms was uploaded and evaluated."""

    def check(results: LearnerResults) -> StepResult:
        found = _evaluations(results, kinds)
        if not found:
            return TODO
        best = found[0]
        return StepResult(
            "done", msg("lessons.yours.evaluated", accuracy=best.accuracy, name=best.model.name)
        )

    return check


def evaluated_to(
    kinds: str, accuracy: float, tolerance: float, kind: Callable[[ModelFacts], bool]
) -> Check:
    """Done when an upload in one of these forms scored the tutorial's accuracy, within tolerance."""

    def check(results: LearnerResults) -> StepResult:
        found = [e for e in _evaluations(results, kinds) if kind(e.model)]
        if not found:
            return TODO
        best = min(found, key=lambda e: abs(e.accuracy - accuracy))
        yours = msg("lessons.yours.evaluated", accuracy=best.accuracy, name=best.model.name)
        return StepResult(
            "done" if _close(best.accuracy, accuracy, tolerance) else "differs", yours
        )

    return check


def untrained_vs_restored(
    kinds: str, accuracy: float, tolerance: float, kind: Callable[[ModelFacts], bool]
) -> Check:
    """Done when an upload's untrained twin is near chance and the restored one near the tutorial."""

    def check(results: LearnerResults) -> StepResult:
        found = [
            e
            for e in _evaluations(results, kinds)
            if e.untrained_accuracy is not None and kind(e.model)
        ]
        if not found:
            return TODO
        found.sort(key=lambda e: abs(e.accuracy - accuracy))
        best = found[0]
        close = _close(best.accuracy, accuracy, tolerance) and (
            (best.untrained_accuracy or 0.0) <= NEAR_CHANCE
        )
        yours = msg(
            "lessons.yours.untrained",
            untrained=best.untrained_accuracy,
            restored=best.accuracy,
        )
        return StepResult("done" if close else "differs", yours)

    return check


def scores_read(results: LearnerResults) -> StepResult:
    """Done when any evaluated upload's precision, recall and F1 table was shown."""
    if not results.evaluations:
        return TODO
    best = results.evaluations[0]
    return StepResult(
        "done",
        msg(
            "lessons.yours.f1",
            f1=best.macro_f1,
            digit=best.lowest_recall_digit,
            recall=best.lowest_recall,
        ),
    )


def predicted(results: LearnerResults) -> StepResult:
    """Done when the random test digits were shown; differs when some were predicted wrong."""
    event = results.events.get("mistakes_viewed")
    if not event or not event.get("shown"):
        return TODO
    right, shown = int(event["right"]), int(event["shown"])
    yours = msg("lessons.yours.predicted", right=right, shown=shown)
    return StepResult("done" if right == shown else "differs", yours)


def mistakes_seen(kind: Callable[[ModelFacts], bool], mistakes: int, tolerance: int) -> Check:
    """Done when the Mistakes page showed this kind of model about as many mistakes as the tutorial."""

    def check(results: LearnerResults) -> StepResult:
        event = results.events.get("mistakes_viewed")
        model = event.get("model") if event else None
        if not model or not kind(ModelFacts.from_dict(model)):
            return TODO
        count = int(event["mistakes"])
        yours = msg("lessons.yours.mistakes", count=count, name=model["name"])
        return StepResult("done" if abs(count - mistakes) <= tolerance else "differs", yours)

    return check
