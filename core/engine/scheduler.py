"""A process-wide FIFO queue that runs at most N training jobs at once, one per owner."""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.i18n import MessageError
from core.priority import lower_training_priority

if TYPE_CHECKING:  # the job module imports TensorFlow; only a submitted job needs it
    from core.training import TrainingJob


class OwnerBusyError(MessageError, RuntimeError):
    """The owner already has a queued or running training."""


class TrainingScheduler:
    """Starts submitted jobs in FIFO order, at most max_concurrent at a time."""

    def __init__(self, max_concurrent: int | None = None) -> None:
        self.max_concurrent = max(1, max_concurrent or os.cpu_count() or 1)
        self._lock = threading.Lock()
        self._queue: deque[TrainingJob] = deque()
        self._running: list[TrainingJob] = []
        self._tasks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []

    def submit(self, job: TrainingJob) -> None:
        """Queue the job (it starts as soon as a slot is free); OwnerBusyError if the owner has one."""
        with self._lock:
            for other in (*self._running, *self._queue):
                if other.owner == job.owner:
                    raise OwnerBusyError("train.owner_busy")
                if other.model is job.model:
                    raise ValueError("This model is already being trained.")
            if job.status != "queued":
                raise ValueError(f"Only a new job can be submitted (this one is {job.status}).")
            job._attach(self.queue_position, self._release, self._cancel)
            self._queue.append(job)
            self._dispatch_locked()

    def active_job(self, owner: str) -> TrainingJob | None:
        """The owner's queued or running job, if any."""
        with self._lock:
            for job in (*self._running, *self._queue):
                if job.owner == owner:
                    return job
        return None

    def queue_position(self, job: TrainingJob) -> int | None:
        """1 for the next job to start, None if the job is not waiting."""
        with self._lock:
            try:
                return self._queue.index(job) + 1
            except ValueError:
                return None

    def running_count(self) -> int:
        """How many jobs are training now."""
        with self._lock:
            return len(self._running)

    def queued_count(self) -> int:
        """How many jobs wait for a slot."""
        with self._lock:
            return len(self._queue)

    def _dispatch_locked(self) -> None:
        while self._queue and len(self._running) < self.max_concurrent:
            job = self._queue.popleft()
            self._running.append(job)
            self._start_workers_locked()
            job._start(self._tasks.put)

    def _start_workers_locked(self) -> None:
        # The same few threads run every job. A thread per job left TensorFlow's per-thread eager
        # state behind (a FunctionCallOptions and more for every training, in gc.get_objects());
        # trainings in one process grew by 5.8 MB each, with reused threads by none (-1.1 MB per
        # training over 8, readings swinging by 25 MB either way).
        while len(self._workers) < self.max_concurrent:
            worker = threading.Thread(
                target=self._work, name=f"trainer-{len(self._workers) + 1}", daemon=True
            )
            self._workers.append(worker)
            worker.start()

    def _work(self) -> None:
        while True:
            task = self._tasks.get()  # at most max_concurrent jobs run: a worker is always free
            lower_training_priority()  # TensorFlow may have started threads since the last job
            task()
            del task  # held until the next job, it would keep this one's model and functions

    def _release(self, job: TrainingJob) -> None:
        # Called from the job's thread when it ends, whatever happened.
        with self._lock:
            if job in self._running:
                self._running.remove(job)
            self._dispatch_locked()

    def _cancel(self, job: TrainingJob) -> None:
        with self._lock:
            if job not in self._queue:
                return  # it has just started: the stop event ends it after one batch
            self._queue.remove(job)
        job._cancel()
