"""The default engine: trainings in worker threads of this server process, queued FIFO."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from core.engine import TrainingRequest
from core.engine.scheduler import OwnerBusyError, TrainingScheduler
from core.training.config import TrainConfig
from core.training.progress import Progress, Status

if TYPE_CHECKING:  # the job module imports TensorFlow; only a submitted training needs it
    import keras

    from core.data import Mnist
    from core.training import TrainingJob


class ThreadHandle:
    """A TrainingJob of this process, as a page sees it (TrainingHandle)."""

    def __init__(self, job: TrainingJob) -> None:
        self.job = job
        self.owner: str = job.owner
        self.name: str = job.name
        self.run_dir: str = str(job.run_dir)
        self.config: TrainConfig = job.config

    @property
    def status(self) -> Status:
        """queued, running, stopping, finished, stopped or failed."""
        return self.job.status

    def snapshot(self) -> Progress:
        """Live progress (queue place, batch, curves, summary once ended)."""
        return self.job.snapshot()

    def stop(self) -> None:
        """Stop after the current batch (a queued training is cancelled); the run is saved."""
        self.job.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the training has ended; False on timeout."""
        return self.job.wait(timeout)

    def trained_model(self) -> keras.Model | None:
        """The model in memory once the training has ended with one, else None."""
        return self.job.trained_model()


class ThreadEngine:
    """TrainingEngine over a TrainingScheduler: the model is built in the caller's thread."""

    kind = "threads"

    def __init__(self, mnist: Callable[[], Mnist], max_concurrent: int | None = None) -> None:
        self.scheduler = TrainingScheduler(max_concurrent)
        self._mnist = mnist  # called on the first submit: creating the engine loads nothing

    def submit(self, request: TrainingRequest) -> ThreadHandle:
        """Queue the training; OwnerBusyError if the owner has one, MessageError if it cannot
        train (settings, a model that does not fit MNIST, a run with nothing to continue)."""
        from core.engine.runner import job_for_request

        if self.scheduler.active_job(request.owner) is not None:  # before building anything
            raise OwnerBusyError("train.owner_busy")
        job = job_for_request(request, self._mnist())
        self.scheduler.submit(job)
        return ThreadHandle(job)

    def active_job(self, owner: str) -> ThreadHandle | None:
        """The owner's queued or running training."""
        job = self.scheduler.active_job(owner)
        return None if job is None else ThreadHandle(job)

    def running_count(self) -> int:
        """Trainings running now."""
        return self.scheduler.running_count()

    def queued_count(self) -> int:
        """Trainings waiting for a slot."""
        return self.scheduler.queued_count()
