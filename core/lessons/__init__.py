"""The five tutorials as lessons: steps, the tutorials' own figures, and checks of a learner's results.

Pure Python: the UI gathers a `LearnerResults` snapshot (models, runs, evaluations, events) and every
step's check compares it with the tutorial's numbers. Texts are catalog keys under `lessons.`:
`lessons.<lesson>.title|intro|differ` and `lessons.<lesson>.<step>.title|do|tutorial|note`.
"""

from core.lessons.facts import (
    EvaluationFacts,
    LearnerResults,
    ModelFacts,
    RunFacts,
    StepResult,
)
from core.lessons.progress import Progress, load_progress, save_progress
from core.lessons.tutorials import LESSONS, LESSONS_BY_KEY, Lesson, Step, check_lesson

__all__ = [
    "LESSONS",
    "LESSONS_BY_KEY",
    "EvaluationFacts",
    "LearnerResults",
    "Lesson",
    "ModelFacts",
    "Progress",
    "RunFacts",
    "Step",
    "StepResult",
    "check_lesson",
    "load_progress",
    "save_progress",
]
