"""A plain snapshot of what a learner has done, and a step's result."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core.i18n import Message

Status = Literal["todo", "done", "differs"]
RANK: dict[str, int] = {"todo": 0, "differs": 1, "done": 2}  # a kept result never gets worse


@dataclass(frozen=True)
class ModelFacts:
    """What a lesson needs to know about a network."""

    name: str
    params: int
    layers: tuple[str, ...]  # Keras class names, e.g. ("Dense", "Dropout", "Dense")

    @property
    def is_cnn(self) -> bool:
        return "Conv2D" in self.layers

    @property
    def is_mlp(self) -> bool:
        return "Dense" in self.layers and not self.is_cnn

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.params, "layers": list(self.layers)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelFacts:
        return cls(str(data["name"]), int(data["params"]), tuple(data["layers"]))


@dataclass(frozen=True)
class RunFacts:
    """A finished (or stopped) training run of this session."""

    model: ModelFacts
    epochs: int  # epochs completed
    batch_size: int
    subset_size: int | None  # None: all 60,000 training digits
    validation: str  # "split", "test" or "none"
    early_stopping: bool
    checkpoint_best: bool
    val_loss: tuple[float, ...]  # per epoch; empty without validation
    test_accuracy: float | None


@dataclass(frozen=True)
class EvaluationFacts:
    """An uploaded model evaluated on the 10,000 test digits."""

    model: ModelFacts
    kind: str  # "keras", "h5", "json+weights" or "weights"
    accuracy: float
    untrained_accuracy: float | None  # the same architecture with fresh weights
    macro_f1: float
    lowest_recall: float
    lowest_recall_digit: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.to_dict(),
            "kind": self.kind,
            "accuracy": self.accuracy,
            "untrained_accuracy": self.untrained_accuracy,
            "macro_f1": self.macro_f1,
            "lowest_recall": self.lowest_recall,
            "lowest_recall_digit": self.lowest_recall_digit,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationFacts:
        return cls(**(dict(data) | {"model": ModelFacts.from_dict(data["model"])}))


@dataclass(frozen=True)
class LearnerResults:
    """Everything the learner has done in this session, as plain data."""

    active: ModelFacts | None = None
    runs: tuple[RunFacts, ...] = ()
    evaluations: tuple[EvaluationFacts, ...] = ()
    events: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # name -> details

    def models(self) -> list[ModelFacts]:
        """Every network seen: the active one, the inspected one, those trained and uploaded."""
        inspected = self.events.get("inspected", {}).get("model")
        found = [self.active, ModelFacts.from_dict(inspected) if inspected else None]
        found += [run.model for run in self.runs] + [e.model for e in self.evaluations]
        return [model for model in found if model is not None]


@dataclass(frozen=True)
class StepResult:
    """A step's state and, once done, the learner's own figure."""

    status: Status
    yours: Message | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "yours": self.yours.to_dict() if self.yours else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepResult:
        yours = data.get("yours")
        status = data.get("status")
        return cls(
            status if status in RANK else "todo", Message.from_dict(yours) if yours else None
        )


TODO = StepResult("todo")
Check = Callable[[LearnerResults], StepResult]
