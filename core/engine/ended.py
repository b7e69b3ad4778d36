"""A training that has ended, as its run folder tells it: what a page gets back for a training whose
end it did not see (the page was closed or refreshed, its app server died, its trainer was lost).

This module imports no TensorFlow and no Ray.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from core.i18n import Message
from core.runs import MODEL_FILE, RunRecord, RunStore
from core.training.config import TrainConfig
from core.training.progress import Progress, Status, Summary

if TYPE_CHECKING:
    import keras

ENDED = ("finished", "stopped", "failed")  # the run statuses a training ends with


def progress_of_run(record: RunRecord, status: Status, message: Message | str) -> Progress:
    """The final progress of a run as its folder holds it: its epochs, curves and summary."""
    config = TrainConfig.from_dict(record.config)
    summary = Summary(
        final=record.final,
        best=record.best,
        best_epoch=record.best_epoch,
        best_monitor=record.best_monitor,
        test_loss=record.test_loss,
        test_accuracy=record.test_accuracy,
        wall_seconds=record.wall_seconds or 0.0,
        train_seconds=record.train_seconds or 0.0,
        stopped_early=False,
    )
    history = {k: tuple(v) for k, v in record.history.items() if isinstance(v, list)}
    return Progress(
        status=status,
        queue_position=None,
        message=message,
        phase="done",
        epoch=record.epochs,
        epochs=record.epochs_planned or record.epochs,
        initial_epoch=0,
        batch=0,
        batches_per_epoch=config.batches_per_epoch(),
        samples_seen=0,
        samples_per_second=None,
        seconds_elapsed=record.wall_seconds or 0.0,
        seconds_left=None,
        learning_rate=None,
        history=MappingProxyType(history),
        batch_losses=(),
        summary=summary,
        run_dir=str(record.path),
    )


class EndedRunHandle:
    """A TrainingHandle for a run that has ended: read from its folder, nothing left to stop."""

    def __init__(self, store: RunStore, owner: str, run_id: str, message: Message | str = ""):
        """message: shown beside the verdict of a run that ended well and wrote none.
        FileNotFoundError if there is no such run; ValueError if it has not ended."""
        record = store.load_run(owner, run_id)
        if record.status not in ENDED:
            raise ValueError(f"Run {run_id!r} has not ended ({record.status}).")
        self.owner = owner
        self.name = record.name
        self.run_dir = str(record.path)
        self.config = TrainConfig.from_dict(record.config)
        status: Status = record.status  # type: ignore[assignment]  # one of ENDED
        if record.message or status == "failed":
            message = record.message
        self._progress = progress_of_run(record, status, message)
        self._model: keras.Model | None = None

    @property
    def status(self) -> Status:
        """finished, stopped or failed."""
        return self._progress.status

    def snapshot(self) -> Progress:
        """The run's final progress."""
        return self._progress

    def stop(self) -> None:
        """Nothing to stop."""

    def wait(self, timeout: float | None = None) -> bool:
        """It has ended."""
        return True

    def trained_model(self) -> keras.Model | None:
        """The run's saved model (safe mode), or None if it saved none or it cannot be read."""
        path = Path(self.run_dir) / MODEL_FILE
        if self._model is None and self.status != "failed" and path.exists():
            import keras

            try:
                self._model = keras.saving.load_model(path, safe_mode=True)
            except Exception:  # damaged, or deleted meanwhile: Runs still lists the run
                return None
        return self._model
