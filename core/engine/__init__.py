"""Where trainings run: one interface, two engines.

`ThreadEngine` (core/engine/threads.py, the default) trains in worker threads of this server
process; `RayEngine` (core/engine/ray_engine.py, only when DIGITLAB_RAY_ADDRESS is set) trains in
the workers of a Ray cluster that every app server shares. Pages only see what is defined here:
they submit a `TrainingRequest`, and watch, stop and adopt what it made through a `TrainingHandle`.
Everything a request names lives in the runs store (a folder every app server and worker reaches),
so a handle can be found again after a refresh, on another app server, or after a restart.

This module imports no TensorFlow and no Ray.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from core.training.config import TrainConfig
from core.training.progress import Progress, Status

if TYPE_CHECKING:
    import keras

RAY_ADDRESS_ENV = "DIGITLAB_RAY_ADDRESS"  # set: trainings run on this Ray cluster


@dataclass(frozen=True)
class TrainingRequest:
    """One training to run: everything an engine needs, as plain data (it may cross processes)."""

    owner: str  # the learner's session token; one active training per owner
    run_dir: str  # the run's folder in the runs store (RunStore.new_run_dir, or the run resumed)
    name: str  # the model's name, shown on every page
    config: TrainConfig  # how to train; with resume, epochs is the number of extra epochs
    spec: dict[str, Any] | None = None  # build this network (NetworkSpec.to_dict()) ...
    model_path: str | None = None  # ... or start from this compiled .keras file (an upload)
    resume: bool = False  # continue the run in run_dir from its last completed epoch,
    # with its weights, optimizer state and history (Continue, and an interrupted run)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (the Ray queue keeps its waiting list in it)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingRequest:
        """Inverse of to_dict."""
        return cls(**data | {"config": TrainConfig.from_dict(data["config"])})


class TrainingHandle(Protocol):
    """A submitted training, as a page sees it; every method is cheap and safe from any thread."""

    owner: str
    name: str
    run_dir: str
    config: TrainConfig

    @property
    def status(self) -> Status:
        """queued, running, stopping, finished, stopped or failed."""
        ...

    def snapshot(self) -> Progress:
        """Live progress (queue place, batch, curves, summary once ended)."""
        ...

    def stop(self) -> None:
        """Stop after the current batch (a queued training is cancelled); the run is saved."""
        ...

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the training has ended; False on timeout."""
        ...

    def trained_model(self) -> keras.Model | None:
        """The model as it ended (loaded from the run's model.keras where it trained elsewhere);
        None while active or when the training saved no model."""
        ...


class TrainingEngine(Protocol):
    """Runs trainings first come, first served, at most one active per owner."""

    kind: str  # "threads" or "ray", for logs and the docs' figures

    def submit(self, request: TrainingRequest) -> TrainingHandle:
        """Queue the training; raises OwnerBusyError if the owner has an active one."""
        ...

    def active_job(self, owner: str) -> TrainingHandle | None:
        """The owner's queued or running training, wherever it was submitted."""
        ...

    def running_count(self) -> int:
        """Trainings running now."""
        ...

    def queued_count(self) -> int:
        """Trainings waiting for a slot."""
        ...


def engine_kind() -> str:
    """Which engine this server uses: "ray" when DIGITLAB_RAY_ADDRESS is set, else "threads"."""
    return "ray" if os.environ.get(RAY_ADDRESS_ENV, "").strip() else "threads"
