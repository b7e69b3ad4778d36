"""What a page sees of a job: an immutable progress snapshot and the summary of how it ended."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from core.i18n import Message

Status = Literal["queued", "running", "stopping", "finished", "stopped", "failed"]
ACTIVE_STATUSES = ("queued", "running", "stopping")


@dataclass(frozen=True)
class Summary:
    """How a job ended: final and best metrics, test-set results, timings."""

    final: dict[str, float]  # metrics of the last epoch
    best: dict[str, float]  # metrics of the best epoch
    best_epoch: int | None  # 1-based, over the whole history
    best_monitor: str | None  # which metric chose the best epoch
    test_loss: float | None  # of the resulting model on the 10k test set
    test_accuracy: float | None
    wall_seconds: float  # from start to saved run
    train_seconds: float  # inside model.fit
    stopped_early: bool  # EarlyStopping ended it

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for metrics.json."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Progress:
    """An immutable snapshot of a job, cheap enough to take every second."""

    status: Status
    queue_position: int | None  # 1 = next to start; None unless queued
    message: Message | str  # failure text (or why it stopped); empty otherwise
    phase: str  # "waiting", "preparing", "training", "evaluating", "saving", "done"
    epoch: int  # 1-based epoch in progress (0 before the first)
    epochs: int  # last epoch of this job (includes epochs of earlier jobs on the model)
    initial_epoch: int  # epochs done before this job (continue training)
    batch: int  # batches done in the current epoch
    batches_per_epoch: int
    samples_seen: int  # by this job
    samples_per_second: float | None  # over the current epoch
    seconds_elapsed: float  # since the job started running
    seconds_left: float | None  # estimate until the job ends: batches, epoch ends, final test
    learning_rate: float | None
    history: MappingProxyType  # metric name -> tuple of per-epoch values (whole model history)
    batch_losses: tuple[tuple[int, float], ...]  # (global batch number, mean loss since last)
    summary: Summary | None
    run_dir: str

    @property
    def active(self) -> bool:
        """Queued, running or stopping."""
        return self.status in ACTIVE_STATUSES
