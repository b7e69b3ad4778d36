"""Training in a background thread: config, live progress, stop, continue, and the saved run."""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import keras
from tensorflow.python.framework import ops as tf_ops

from core.data import (
    IMAGE_SIZE,
    NUM_CLASSES,
    Mnist,
    batches,
    labels_for_loss,
    to_model_input,
)
from core.runs import (
    BEST_WEIGHTS_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    SPEC_FILE,
    write_json_atomic,
)
from core.snapshots import EpochSnapshots

Validation = Literal["split", "test", "none"]
Monitor = Literal["val_loss", "val_accuracy", "loss", "accuracy"]
LrSchedule = Literal["none", "reduce_on_plateau", "step", "cosine"]
Status = Literal["queued", "running", "stopping", "finished", "stopped", "failed"]

VALIDATIONS = ("split", "test", "none")
MONITORS = ("val_loss", "val_accuracy", "loss", "accuracy")
LR_SCHEDULES = ("none", "reduce_on_plateau", "step", "cosine")
ACTIVE_STATUSES = ("queued", "running", "stopping")
MAX_LOSS_POINTS = 2000  # per-batch loss points kept per job (older ones are merged pairwise)
# Cross-entropy of clipped probabilities stays below ~16; far above means training diverged.
DIVERGED_LOSS = 1e4
EVAL_BATCH_SIZE = 500  # digits per batch when validating and testing


@dataclass(frozen=True)
class TrainConfig:
    """How to train: everything `model.fit` and its callbacks need."""

    epochs: int = 5  # epochs in this job (a continuation adds this many)
    batch_size: int = 32  # digits per gradient step
    validation: Validation = "split"  # "split": hold out the end of the training digits;
    # "test": validate on the 10k test set; "none": no validation (fastest)
    validation_split: float = 0.1  # fraction held out when validation == "split"
    shuffle: bool = True  # reshuffle the training digits every epoch
    seed: int | None = None  # set: Keras, NumPy and Python RNGs are seeded (reproducible runs)
    subset_size: int | None = None  # first N training digits (None: all 60k)
    early_stopping: bool = False  # stop when the monitored metric stops improving
    early_stopping_monitor: Monitor = "val_loss"
    early_stopping_patience: int = 2  # epochs without improvement before stopping
    restore_best_weights: bool = True  # early stopping ends with the best epoch's weights
    checkpoint_best: bool = False  # keep best.weights.h5 of the best epoch (ModelCheckpoint)
    checkpoint_monitor: Monitor = "val_accuracy"
    lr_schedule: LrSchedule = "none"  # how the learning rate changes while training
    plateau_factor: float = 0.5  # reduce_on_plateau: multiply the lr by this ...
    plateau_patience: int = 1  # ... after this many epochs without val_loss (or loss) improving
    step_every: int = 2  # step: multiply the lr by step_factor every step_every epochs
    step_factor: float = 0.5
    # cosine: decays from the compiled learning rate to ~0 over this job's batches

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for spec.json."""
        return dataclasses.asdict(self)

    def check(self) -> None:
        """Raise ValueError with a plain message if the settings cannot work together."""
        if self.epochs < 1:
            raise ValueError("Train for at least 1 epoch.")
        if self.batch_size < 1:
            raise ValueError("The batch size must be at least 1.")
        if self.validation not in VALIDATIONS:
            raise ValueError(f"Validation must be one of {VALIDATIONS}, not {self.validation!r}.")
        if self.validation == "split" and not 0 < self.validation_split < 1:
            raise ValueError("The validation split must be between 0 and 1 (e.g. 0.1).")
        if self.subset_size is not None and self.subset_size < 1:
            raise ValueError("Use at least 1 training digit.")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"Unknown learning-rate schedule {self.lr_schedule!r}.")
        if self.lr_schedule == "step" and (self.step_every < 1 or self.step_factor <= 0):
            raise ValueError("The step schedule needs step_every >= 1 and a factor above 0.")
        if self.lr_schedule == "reduce_on_plateau" and not 0 < self.plateau_factor < 1:
            raise ValueError("The plateau factor must be between 0 and 1 (e.g. 0.5).")
        for used, monitor, what in (
            (self.early_stopping, self.early_stopping_monitor, "Early stopping"),
            (self.checkpoint_best, self.checkpoint_monitor, "Keeping the best weights"),
        ):
            if not used:
                continue
            if monitor not in MONITORS:
                raise ValueError(f"{what} cannot watch {monitor!r}; use one of {MONITORS}.")
            if monitor.startswith("val_") and self.validation == "none":
                raise ValueError(
                    f"{what} watches {monitor}, but there is no validation data: "
                    f"choose a validation split or the test set, or watch {monitor[4:]} instead."
                )


def seed_everything(seed: int | None) -> None:
    """Seed Python, NumPy and Keras RNGs (process-wide) so that a run can be repeated."""
    if seed is not None:
        keras.utils.set_random_seed(seed)


def loss_name(model: keras.Model) -> str:
    """Name of the compiled loss, e.g. 'sparse_categorical_crossentropy'."""
    loss = model.loss
    if isinstance(loss, str):
        name = loss
    elif isinstance(loss, keras.losses.Loss):
        name = loss.name
    else:
        name = getattr(loss, "__name__", str(loss))
    return str(name).lower()


def labels_kind(model: keras.Model) -> str:
    """The loss name labels_for_loss needs: integer labels only for the sparse losses."""
    return (
        "sparse_categorical_crossentropy"
        if "sparse" in loss_name(model)
        else ("categorical_crossentropy")
    )


def _canonical_metric(key: str) -> str:
    # Models compiled by others may log 'acc' or 'sparse_categorical_accuracy'.
    prefix = "val_" if key.startswith("val_") else ""
    base = key[len(prefix) :]
    if base in ("acc", "sparse_categorical_accuracy", "categorical_accuracy"):
        base = "accuracy"
    return prefix + base


def _compiled_learning_rate(model: keras.Model) -> float | None:
    """The optimizer's learning rate, or None if it is itself a schedule."""
    value = model.optimizer.get_config().get("learning_rate")
    return float(value) if isinstance(value, (int, float)) else None


def build_training_state(model: keras.Model, x: Any, y: Any) -> None:
    """Create the optimizer's and the metrics' variables now, outside `fit`'s traced step.

    Created inside it, TensorFlow keeps their initialisation branches as functions it never frees
    (about 10 MB for each new CNN; clear_session does not help), so a server that trains model
    after model would grow without bound.
    """
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.compute_metrics(x, y, model(x), sample_weight=None)
    model.reset_metrics()


def release_freed_memory() -> None:
    """Collect garbage and hand the heap pages freed by a training back to the system.

    Without it glibc keeps them for reuse, and a server that trains model after model showed a
    resident size growing by about 6 MB per training (4 MB with it; bench/memory.py).
    """
    gc.collect()
    with suppress(OSError, AttributeError):  # not glibc: freed memory is reused, not returned
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@contextmanager
def forget_trace_gradients() -> Iterator[None]:
    """Drop the gradient functions that tracing `fit` registers in TensorFlow for good.

    Keras sums the gradients through tf.distribute's all_reduce, a @custom_gradient: each trace
    registers a global gradient function (never removed) that keeps the whole traced training graph
    alive, about 6 MB for each new model. Nothing ever differentiates through that op after fit.
    """
    registry = tf_ops._gradient_registry._registry
    before = set(registry)
    try:
        yield
    finally:
        for name in set(registry) - before:
            if name.startswith("CustomGradient-"):
                registry.pop(name, None)


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

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        progress = min(self._step, self.total_steps) / self.total_steps
        lr = 0.5 * self.base_lr * (1 + math.cos(math.pi * progress))
        # Assigning the optimizer's lr variable changes no graph: no retracing.
        self.model.optimizer.learning_rate = lr
        self.on_change(lr)
        self._step += 1


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
    message: str  # failure text (or why it stopped); empty otherwise
    phase: str  # "waiting", "preparing", "training", "evaluating", "saving", "done"
    epoch: int  # 1-based epoch in progress (0 before the first)
    epochs: int  # last epoch of this job (includes epochs of earlier jobs on the model)
    initial_epoch: int  # epochs done before this job (continue training)
    batch: int  # batches done in the current epoch
    batches_per_epoch: int
    samples_seen: int  # by this job
    samples_per_second: float | None  # over the current epoch
    seconds_elapsed: float  # since the job started running
    seconds_left: float | None  # estimate for the training part
    learning_rate: float | None
    history: MappingProxyType  # metric name -> tuple of per-epoch values (whole model history)
    batch_losses: tuple[tuple[int, float], ...]  # (global batch number, mean loss since last)
    summary: Summary | None
    run_dir: str

    @property
    def active(self) -> bool:
        """Queued, running or stopping."""
        return self.status in ACTIVE_STATUSES


def _divergence_message(loss: float, epoch: int, batch: int) -> str:
    """Plain words for a loss that blew up."""
    what = "became NaN" if math.isnan(loss) else f"exploded ({loss:.3g})"
    return (
        f"The loss {what} at epoch {epoch}, batch {batch}: "
        "the learning rate is probably too high; try 0.001."
    )


class _ProgressCallback(keras.callbacks.Callback):
    """Publishes a few Python numbers per batch; all heavier work happens in snapshot()."""

    def __init__(self, job: TrainingJob) -> None:
        super().__init__()
        self.job = job

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.job._train_t0 = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        job = self.job
        job._lr = float(self.model.optimizer.learning_rate)  # once per epoch, not per batch
        job._window = (0, 0, 0.0)
        job._tick = (epoch + 1, 0, time.perf_counter())
        job._epoch_t0 = job._tick[2]

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        job = self.job
        # Keras has already turned logs into Python floats (our callback makes dispatch sync).
        loss = logs["loss"] if logs else float("nan")
        epoch = job._tick[0]
        done = batch + 1
        job._tick = (epoch, done, time.perf_counter())  # one atomic replace per batch
        if job._first_batch_at is None:
            job._first_batch_at = time.time()
        if not loss < DIVERGED_LOSS:  # also true for NaN
            job._fail_message = _divergence_message(loss, epoch, done)
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
                key = _canonical_metric(key)
                column = job._history.setdefault(key, [float("nan")] * job._epochs_done)
                column.append(float(value))
            job._epochs_done += 1
            for column in job._history.values():  # keys that appeared late stay aligned
                column.extend([float("nan")] * (job._epochs_done - len(column)))


class TrainingJob:
    """Trains a compiled model in place, in a daemon thread started by a TrainingScheduler."""

    def __init__(
        self,
        model: keras.Model,
        config: TrainConfig,
        mnist: Mnist,
        run_dir: Path,
        spec_dict: dict[str, Any] | None = None,
        name: str = "run",
        owner: str = "local",
        callbacks: Sequence[keras.callbacks.Callback] = (),
        *,
        _previous: TrainingJob | None = None,
    ) -> None:
        config.check()
        self.model = model
        self.config = config
        self.mnist = mnist
        self.run_dir = Path(run_dir)
        self.spec_dict = dict(spec_dict or {})
        self.name = name
        self.owner = owner
        self.extra_callbacks = list(callbacks)  # e.g. the bench's per-epoch test evaluation
        self._check_model()
        self.n_train = self._train_count()
        self.batches_per_epoch = math.ceil(self.n_train / config.batch_size)
        self.initial_epoch = _previous._epochs_done if _previous else 0
        self.base_lr = _previous.base_lr if _previous else _compiled_learning_rate(model)
        self.created = _previous.created if _previous else time.strftime("%Y-%m-%dT%H:%M:%S")

        self._first_batch_at: float | None = None  # wall clock, to time the start of a job
        self._lock = threading.Lock()  # guards _history and _points (held for microseconds)
        self._stop_event = threading.Event()
        self._done = threading.Event()
        self._status: Status = "queued"
        self._phase = "waiting"
        self._message = ""
        self._fail_message = ""
        self._summary: Summary | None = None
        self._position: Callable[[TrainingJob], int | None] = lambda job: None
        self._on_done: Callable[[TrainingJob], None] = lambda job: None
        self._cancel_queued: Callable[[TrainingJob], None] = lambda job: None
        self._thread: threading.Thread | None = None
        self._t0: float | None = None
        self._t_end: float | None = None
        self._train_t0: float | None = None
        self._epoch_t0 = 0.0
        self._tick: tuple[int, int, float] = (0, 0, 0.0)  # (epoch, batches done in it, time)
        self._lr: float | None = self.base_lr
        self._stopped_early = False
        # Whole-model history (continuations append); batch losses are (global batch, loss).
        self._history: dict[str, list[float]] = (
            {k: list(v) for k, v in _previous._history.items()} if _previous else {}
        )
        self._epochs_done = self.initial_epoch
        self._points: list[tuple[int, float]] = list(_previous._points) if _previous else []
        total = config.epochs * self.batches_per_epoch
        self._stride = max(1, math.ceil((total + len(self._points)) / MAX_LOSS_POINTS))
        self._window = (0, 0, 0.0)  # (batches in window, samples before it, loss mean before it)
        self._last: tuple[int, int, float] | None = None  # latest batch not yet in a point
        self._best_value = _previous._best_value if _previous else None

    # ----- public API -------------------------------------------------------------------

    @property
    def status(self) -> Status:
        """queued, running, stopping, finished, stopped or failed."""
        return self._status

    @property
    def epochs_total(self) -> int:
        """The last epoch this job trains to."""
        return self.initial_epoch + self.config.epochs

    def stop(self) -> None:
        """Ask the job to stop after the current batch (a queued job is cancelled)."""
        self._stop_event.set()
        if self._status == "running":
            self._status = "stopping"
        elif self._status == "queued":
            self._cancel_queued(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended; False on timeout."""
        return self._done.wait(timeout)

    def snapshot(self) -> Progress:
        """A cheap immutable copy of the job's progress (safe from any thread)."""
        now = time.perf_counter()
        epoch, batch, t_batch = self._tick
        with self._lock:
            history = MappingProxyType({k: tuple(v) for k, v in self._history.items()})
            points = tuple(self._points)
        status = self._status
        bs, n = self.config.batch_size, self.n_train
        samples_epoch = min(batch * bs, n)
        epochs_in_job = max(0, epoch - 1 - self.initial_epoch)
        rate = None
        if batch and t_batch > self._epoch_t0:
            rate = samples_epoch / (t_batch - self._epoch_t0)
        seconds_left = None
        batches_done = epochs_in_job * self.batches_per_epoch + batch
        if status in ("running", "stopping") and batches_done and self._train_t0:
            per_batch = (t_batch - self._train_t0) / batches_done
            batches_total = self.config.epochs * self.batches_per_epoch
            seconds_left = max(0.0, (batches_total - batches_done) * per_batch)
        elapsed = 0.0
        if self._t0 is not None:
            elapsed = (self._t_end or now) - self._t0
        return Progress(
            status=status,
            queue_position=self._position(self) if status == "queued" else None,
            message=self._message,
            phase=self._phase,
            epoch=epoch,
            epochs=self.epochs_total,
            initial_epoch=self.initial_epoch,
            batch=batch,
            batches_per_epoch=self.batches_per_epoch,
            samples_seen=epochs_in_job * n + samples_epoch,
            samples_per_second=rate,
            seconds_elapsed=elapsed,
            seconds_left=seconds_left,
            learning_rate=self._lr,
            history=history,
            batch_losses=points,
            summary=self._summary,
            run_dir=str(self.run_dir),
        )

    def continue_training(
        self, extra_epochs: int, callbacks: Sequence[keras.callbacks.Callback] = ()
    ) -> TrainingJob:
        """A new job that trains the same model further (optimizer state kept); submit it."""
        if self._status in ACTIVE_STATUSES:
            raise RuntimeError("This training is still running; stop it or wait for it to end.")
        if self._status == "failed":
            raise RuntimeError("This training failed; build a fresh model and train that.")
        config = dataclasses.replace(self.config, epochs=extra_epochs)
        return TrainingJob(
            self.model,
            config,
            self.mnist,
            self.run_dir,
            self.spec_dict,
            self.name,
            self.owner,
            callbacks,
            _previous=self,
        )

    # ----- scheduler hooks --------------------------------------------------------------

    def _attach(
        self,
        position: Callable[[TrainingJob], int | None],
        on_done: Callable[[TrainingJob], None],
        cancel: Callable[[TrainingJob], None],
    ) -> None:
        self._position = position
        self._on_done = on_done
        self._cancel_queued = cancel

    def _start(self) -> None:
        self._status = "running"
        self._thread = threading.Thread(target=self._run, name=f"train-{self.name}", daemon=True)
        self._thread.start()

    def _cancel(self) -> None:
        """Called by the scheduler for a job stopped while still queued."""
        self._status = "stopped"
        self._phase = "done"
        self._message = "Cancelled before it started."
        self._done.set()

    # ----- the training thread ----------------------------------------------------------

    def _run(self) -> None:
        self._t0 = time.perf_counter()
        try:
            self._train_and_save()
        except Exception as exc:  # any failure becomes a status the page can show
            self._status = "failed"
            self._message = f"Training failed: {type(exc).__name__}: {exc}"
            self._try_write_failure()
        finally:
            self._t_end = time.perf_counter()
            release_freed_memory()
            self._phase = "done"
            try:
                self._on_done(self)  # always release the scheduler slot
            finally:
                self._done.set()

    def _train_and_save(self) -> None:
        self._phase = "preparing"
        if self.initial_epoch == 0:
            seed_everything(self.config.seed)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._write_spec()
        input_shape = tuple(self.model.input_shape[1:])
        kind = labels_kind(self.model)
        cfg = self.config
        n = min(cfg.subset_size or len(self.mnist.x_train), len(self.mnist.x_train))
        x, y = self.mnist.x_train[:n], labels_for_loss(self.mnist.y_train[:n], kind)
        # Like fit(validation_split=...): the last digits are held out, before any shuffling.
        train = batches(
            x[: self.n_train], y[: self.n_train], input_shape, cfg.batch_size, cfg.shuffle, cfg.seed
        )
        test = batches(
            self.mnist.x_test,
            labels_for_loss(self.mnist.y_test, kind),
            input_shape,
            EVAL_BATCH_SIZE,
        )
        validation = {
            "split": batches(x[self.n_train :], y[self.n_train :], input_shape, EVAL_BATCH_SIZE),
            "test": test,
            "none": None,
        }[cfg.validation]

        build_training_state(self.model, to_model_input(x[:2], input_shape), y[:2])
        self._phase = "training"
        t_fit = time.perf_counter()
        if not self._stop_event.is_set():
            with forget_trace_gradients():
                self.model.fit(
                    train,
                    validation_data=validation,
                    epochs=self.epochs_total,
                    initial_epoch=self.initial_epoch,
                    shuffle=False,  # the dataset draws a new order every epoch itself
                    verbose=0,
                    callbacks=self._callbacks(),
                )
        train_seconds = time.perf_counter() - t_fit
        del train, validation
        if self._fail_message:
            self._status = "failed"
            self._message = self._fail_message
            self._summary = self._summarize(None, train_seconds)
            self._save("failed", with_model=False)
            self._status = "failed"
            return

        self._phase = "evaluating"
        results = self.model.evaluate(test, verbose=0, return_dict=True)
        self._summary = self._summarize(results, train_seconds)
        status: Status = "stopped" if self._stop_event.is_set() else "finished"
        self._save(status, with_model=True)
        self._status = status

    def _callbacks(self) -> list[keras.callbacks.Callback]:
        cfg = self.config
        cbs: list[keras.callbacks.Callback] = []
        if cfg.lr_schedule != "none":
            if self.base_lr is None:
                raise ValueError(
                    "This model's optimizer already has a learning-rate schedule; "
                    "choose the schedule 'none'."
                )
            self.model.optimizer.learning_rate = self.base_lr
        if cfg.lr_schedule == "cosine":
            total = cfg.epochs * self.batches_per_epoch
            cbs.append(CosineDecayPerBatch(self.base_lr, total, self._set_lr))
        elif cfg.lr_schedule == "step":
            base, every, factor = self.base_lr, cfg.step_every, cfg.step_factor
            cbs.append(
                keras.callbacks.LearningRateScheduler(
                    lambda epoch, lr: base * factor ** (epoch // every)
                )
            )
        elif cfg.lr_schedule == "reduce_on_plateau":
            monitor = "loss" if cfg.validation == "none" else "val_loss"
            cbs.append(
                keras.callbacks.ReduceLROnPlateau(
                    monitor=monitor, factor=cfg.plateau_factor, patience=cfg.plateau_patience
                )
            )
        if cfg.early_stopping:
            self._early = keras.callbacks.EarlyStopping(
                monitor=cfg.early_stopping_monitor,
                patience=cfg.early_stopping_patience,
                restore_best_weights=cfg.restore_best_weights,
            )
            cbs.append(self._early)
        if cfg.checkpoint_best:
            cbs.append(
                keras.callbacks.ModelCheckpoint(
                    self.run_dir / BEST_WEIGHTS_FILE,
                    monitor=cfg.checkpoint_monitor,
                    save_best_only=True,
                    save_weights_only=True,
                    # A continuation only overwrites the file when it beats the earlier best.
                    initial_value_threshold=self._best_value,
                )
            )
        # Last of ours: it reads the lr after a scheduler set it for the epoch.
        snapshots = EpochSnapshots(self.run_dir, self.mnist)  # per-epoch filters and map
        return [*cbs, _ProgressCallback(self), snapshots, *self.extra_callbacks]

    def _set_lr(self, lr: float) -> None:
        self._lr = lr

    def _record_loss(self, epoch: int, done: int, running_mean: float) -> None:
        # Keras logs the epoch's running mean; difference it into the mean over the window.
        count, before_samples, before_mean = self._window
        count += 1
        self._window = (count, before_samples, before_mean)
        if count >= self._stride:
            self._close_window(epoch, done, running_mean)
        else:
            self._last = (epoch, done, running_mean)

    def _flush_window(self) -> None:
        if self._window[0] and self._last:
            self._close_window(*self._last)

    def _close_window(self, epoch: int, done: int, running_mean: float) -> None:
        _, before_samples, before_mean = self._window
        samples = min(done * self.config.batch_size, self.n_train)
        window_samples = samples - before_samples
        loss = (samples * running_mean - before_samples * before_mean) / window_samples
        self._window = (0, samples, running_mean)
        self._last = None
        point = ((epoch - 1) * self.batches_per_epoch + done, loss)
        with self._lock:
            self._points.append(point)
            if len(self._points) > MAX_LOSS_POINTS:
                # Merge neighbours: memory stays bounded however long the training runs.
                p = self._points
                self._points = [
                    (p[i + 1][0], (p[i][1] + p[i + 1][1]) / 2) for i in range(0, len(p) - 1, 2)
                ] + ([p[-1]] if len(p) % 2 else [])
                self._stride *= 2

    def _summarize(self, test: dict[str, float] | None, train_seconds: float) -> Summary:
        with self._lock:
            history = {k: list(v) for k, v in self._history.items()}
        final = {k: v[-1] for k, v in history.items() if v}
        monitor = self._best_monitor(history)
        best_epoch, best = None, {}
        if monitor:
            values = history[monitor]
            pick = max if "accuracy" in monitor else min
            candidates = [(v, i) for i, v in enumerate(values) if math.isfinite(v)]
            if candidates:
                value, index = pick(candidates, key=lambda c: c[0])
                best_epoch = index + 1
                best = {k: v[index] for k, v in history.items() if len(v) > index}
                if self.config.checkpoint_best and monitor == self.config.checkpoint_monitor:
                    self._best_value = value
        test = {_canonical_metric(k): float(v) for k, v in (test or {}).items()}
        early = getattr(self, "_early", None)
        return Summary(
            final=final,
            best=best,
            best_epoch=best_epoch,
            best_monitor=monitor,
            test_loss=test.get("loss"),
            test_accuracy=test.get("accuracy"),
            wall_seconds=time.perf_counter() - (self._t0 or time.perf_counter()),
            train_seconds=train_seconds,
            stopped_early=bool(early and early.stopped_epoch > 0),
        )

    def _best_monitor(self, history: dict[str, list[float]]) -> str | None:
        preferred = [self.config.checkpoint_monitor] if self.config.checkpoint_best else []
        for name in [*preferred, "val_accuracy", "val_loss", "accuracy", "loss"]:
            if history.get(name):
                return name
        return None

    # ----- files ------------------------------------------------------------------------

    def _write_spec(self) -> None:
        write_json_atomic(
            self.run_dir / SPEC_FILE,
            {
                "name": self.name,
                "owner": self.owner,
                "created": self.created,
                "spec": self.spec_dict,
                "config": self.config.to_dict(),
                "epochs_planned": self.epochs_total,
            },
        )

    def _save(self, status: Status, with_model: bool) -> None:
        self._phase = "saving"
        if with_model:
            # Save under a temporary name first: a reader never sees half a model.
            tmp = self.run_dir / f".tmp-{MODEL_FILE}"
            self.model.save(tmp)
            tmp.replace(self.run_dir / MODEL_FILE)
        with self._lock:
            history = {k: list(v) for k, v in self._history.items()}
            points = list(self._points)
        write_json_atomic(self.run_dir / HISTORY_FILE, {"epochs": history, "batch_losses": points})
        metrics = {"status": status, "message": self._message}
        if self._first_batch_at is not None:
            metrics["first_batch_at"] = self._first_batch_at
        if self._summary:
            metrics |= self._summary.to_dict()
        write_json_atomic(self.run_dir / METRICS_FILE, metrics)

    def _try_write_failure(self) -> None:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if not (self.run_dir / SPEC_FILE).exists():
                self._write_spec()
            self._save("failed", with_model=False)
        except Exception:  # the failure itself is already reported in the status
            pass

    # ----- checks -----------------------------------------------------------------------

    def _check_model(self) -> None:
        if getattr(self.model, "optimizer", None) is None or not self.model.compiled:
            raise ValueError("Compile the model before training it.")
        shape = tuple(self.model.input_shape[1:])
        if math.prod(shape) != IMAGE_SIZE * IMAGE_SIZE:
            raise ValueError(f"The model expects inputs of shape {shape}, not 28x28 images.")
        if self.model.output_shape[-1] != NUM_CLASSES:
            raise ValueError(f"The model must output {NUM_CLASSES} values, one per digit.")
        needs_accuracy = [
            m
            for used, m in (
                (self.config.early_stopping, self.config.early_stopping_monitor),
                (self.config.checkpoint_best, self.config.checkpoint_monitor),
            )
            if used and m.endswith("accuracy")
        ]
        if needs_accuracy and "acc" not in str(self.model.get_compile_config().get("metrics")):
            raise ValueError(
                f"{needs_accuracy[0]} needs the model compiled with metrics=['accuracy']."
            )

    def _train_count(self) -> int:
        n = min(self.config.subset_size or len(self.mnist.x_train), len(self.mnist.x_train))
        if self.config.validation == "split":
            # Keras keeps the first floor(n * (1 - split)) digits for training.
            n = int(math.floor(n * (1.0 - self.config.validation_split)))
        if n < 1:
            raise ValueError("No training digits left after the validation split.")
        return n
