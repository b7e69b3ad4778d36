"""Keras callbacks of a training job: per-batch cosine decay, the live-progress publisher and the
stop at an epoch's end."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import keras

from core.i18n import Message, msg
from core.training.keras_state import canonical_metric

if TYPE_CHECKING:
    from core.training.job import TrainingJob

# Cross-entropy of clipped probabilities stays below ~16; far above means training diverged.
DIVERGED_LOSS = 1e4


class CosineDecayPerBatch(keras.callbacks.Callback):
    """Cosine learning-rate decay from base_lr to ~0 over total_steps, updated every batch."""

    def __init__(self, base_lr: float, total_steps: int, on_change: Callable[[float], None]):
        super().__init__()
        self.base_lr = base_lr
        self.total_steps = max(1, total_steps)
        self.on_change = on_change
        self._step = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._step = 0
        # The optimizer's lr variable, as TensorFlow holds it: assigning it changes no graph (no
        # retracing), and without reading it back or Keras's checks, one batch's update costs
        # 18 µs instead of 60 (a step of the tutorial MLP takes about 1 ms on two cores).
        self._lr_variable = self.model.optimizer.learning_rate.value

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        progress = min(self._step, self.total_steps) / self.total_steps
        lr = 0.5 * self.base_lr * (1 + math.cos(math.pi * progress))
        self._lr_variable.assign(lr, read_value=False)
        self.on_change(lr)
        self._step += 1


def divergence_message(loss: float, epoch: int, batch: int) -> Message:
    """Plain words for a loss that blew up."""
    if math.isnan(loss):
        return msg("train.loss_nan", epoch=epoch, batch=batch)
    return msg("train.loss_exploded", loss=loss, epoch=epoch, batch=batch)


class ProgressCallback(keras.callbacks.Callback):
    """Publishes a few Python numbers per batch; all heavier work happens in snapshot().

    Async-safe: Keras then runs on_train_batch_end on a thread pool while the next step already
    trains (several threads, so calls may come concurrently and out of order). A lock makes each
    call whole, and a call older than the newest batch seen in the epoch changes nothing: the
    loss Keras logs is the epoch's running mean, so the newest batch carries all the older ones.
    """

    async_safe = True

    def __init__(self, job: TrainingJob) -> None:
        super().__init__()
        self.job = job
        self._batch_lock = threading.Lock()
        self._newest = 0  # batches done in the current epoch, by the newest call seen

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.job._train_t0 = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        job = self.job
        job._lr = float(self.model.optimizer.learning_rate)  # once per epoch, not per batch
        job._epoch_end = None  # the weights change from the next batch on
        with self._batch_lock:  # Keras has flushed the last epoch's batch calls already
            if job._tick[1]:  # the last epoch's end: validation, snapshots, its saved model
                job._epoch_ends.append(time.perf_counter() - job._tick[2])
            self._newest = 0
            job._window = (0, 0, 0.0)
            job._last = None
            job._tick = (epoch + 1, 0, time.perf_counter())
            job._epoch_t0 = job._tick[2]

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        # The training thread, before each step: a stop ends fit after the step now starting.
        if self.job._stop_event.is_set():
            self.model.stop_training = True

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        job = self.job
        # Keras has turned logs into floats: on the training thread with TensorFlow (Keras 3.15
        # never dispatches async there), on a pool thread with a backend it calls thread-safe.
        loss = logs["loss"] if logs else float("nan")
        done = batch + 1
        with self._batch_lock:
            if done <= self._newest or job._fail_message is not None:
                return  # an older batch than one already published, or training diverged
            self._newest = done
            epoch = job._tick[0]
            job._tick = (epoch, done, time.perf_counter())  # one atomic replace per batch
            if job._first_batch_at is None:
                job._first_batch_at = time.time()
                job._first_step_end = job._tick[2]
            if not loss < DIVERGED_LOSS:  # also true for NaN
                job._fail_message = divergence_message(loss, epoch, done)
                self.model.stop_training = True
                return
            job._record_loss(epoch, done, loss)
        if job._stop_event.is_set():
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        job = self.job
        job._flush_window()
        logs = dict(logs or {})
        logs.setdefault("learning_rate", job._lr)
        logs["epoch_seconds"] = time.perf_counter() - job._epoch_t0  # for throughput benches
        with job._lock:
            for key, value in logs.items():
                key = canonical_metric(key)
                column = job._history.setdefault(key, [float("nan")] * job._epochs_done)
                column.append(float(value))
            job._epochs_done += 1
            for column in job._history.values():  # keys that appeared late stay aligned
                column.extend([float("nan")] * (job._epochs_done - len(column)))
        if job._fail_message is None:  # a diverged epoch is not one to continue from
            job._save_epoch()
            # The weights as this epoch's end measured and saved them (until the next batch).
            job._epoch_end = {k[4:]: float(v) for k, v in logs.items() if k.startswith("val_")}


class StopAtEpochEnd(keras.callbacks.Callback):
    """Ends fit at this epoch's end when Stop came during it (its validation, snapshot or saved
    model): else the next epoch would train a batch and validate it again before stopping. Last
    in the list, so that a Stop during any other callback's epoch end counts."""

    async_safe = True

    def __init__(self, stop_event: threading.Event) -> None:
        super().__init__()
        self.stop_event = stop_event

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.stop_event.is_set():
            self.model.stop_training = True


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """ModelCheckpoint that writes to a temporary name and then renames: never half a file."""

    def __init__(self, filepath: Path, **kwargs) -> None:
        self.final_path = Path(filepath)
        super().__init__(self.final_path.with_name(f".tmp-{self.final_path.name}"), **kwargs)
        # Saving per epoch, its on_train_batch_end does nothing: let Keras dispatch batches async.
        self.async_safe = self.save_freq == "epoch"

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        written = Path(self.filepath)
        if written.exists():
            written.replace(self.final_path)
