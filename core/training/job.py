"""The training job: trains a compiled model in a background thread and saves the run."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import keras

from core.data import Mnist, batches, labels_for_loss, to_model_input
from core.digit_shape import IMAGE_SIZE, NUM_CLASSES
from core.i18n import Message, MessageError, msg
from core.inside.projection import SNAPSHOT_SIZE
from core.runs import (
    BEST_WEIGHTS_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    SPEC_FILE,
    write_json_atomic,
)
from core.snapshots import EpochSnapshots
from core.training.callbacks import (
    AtomicModelCheckpoint,
    CosineDecayPerBatch,
    ProgressCallback,
    StopAtEpochEnd,
)
from core.training.config import ConfigError, TrainConfig
from core.training.keras_state import (
    build_training_state,
    canonical_metric,
    compiled_learning_rate,
    forget_trace_gradients,
    labels_kind,
    release_freed_memory,
    seed_everything,
)
from core.training.progress import Progress, Status, Summary

if TYPE_CHECKING:
    from core.training.run_state import RunState

MAX_LOSS_POINTS = 2000  # per-batch loss points kept per job (older ones are merged pairwise)
EVAL_BATCH_SIZE = 500  # digits per batch when validating and testing


class TrainingJob:
    """Trains a compiled model in place, in a worker thread of a TrainingScheduler."""

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
        resume: RunState | None = None,
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
        digits = min(config.subset_size or len(mnist.x_train), len(mnist.x_train))
        self.n_validation = digits - self.n_train if config.validation == "split" else 0
        self.n_test = len(mnist.x_test)
        self.batches_per_epoch = config.batches_per_epoch(len(mnist.x_train))
        self.initial_epoch = resume.epochs if resume else 0
        self.base_lr = (
            resume.base_lr
            if resume and resume.base_lr is not None
            else compiled_learning_rate(model)
        )
        self.created = resume.created if resume else time.strftime("%Y-%m-%dT%H:%M:%S")

        self._first_batch_at: float | None = None  # wall clock, to time the start of a job
        self._epoch_ends: list[float] = []  # seconds from each epoch's last batch to the next
        self._first_step_end: float | None = None  # perf_counter() when the first batch ended
        self._lock = threading.Lock()  # guards _history and _points (held for microseconds)
        self._stop_event = threading.Event()
        self._done = threading.Event()
        self._status: Status = "queued"
        self._phase = "waiting"
        self._message: Message | str = ""  # a Message: the page shows it in its language
        self._fail_message: Message | None = None
        self._summary: Summary | None = None
        self._position: Callable[[TrainingJob], int | None] = lambda job: None
        self._on_done: Callable[[TrainingJob], None] = lambda job: None
        self._cancel_queued: Callable[[TrainingJob], None] = lambda job: None
        self._t0: float | None = None
        self._t_end: float | None = None
        self._train_t0: float | None = None
        self._epoch_t0 = 0.0
        self._tick: tuple[int, int, float] = (0, 0, 0.0)  # (epoch, batches done in it, time)
        self._lr: float | None = self.base_lr
        self._stopped_early = False
        # Set at an epoch's end once its model is saved: that epoch's validation metrics (val_
        # dropped); None again from the next batch on, or if the epoch saved nothing.
        self._epoch_end: dict[str, float] | None = None
        # Whole-model history (continuations append); batch losses are (global batch, loss).
        self._history: dict[str, list[float]] = (
            {k: list(v) for k, v in resume.history.items()} if resume else {}
        )
        self._epochs_done = self.initial_epoch
        self._points: list[tuple[int, float]] = list(resume.batch_losses) if resume else []
        total = config.epochs * self.batches_per_epoch
        self._stride = max(1, math.ceil((total + len(self._points)) / MAX_LOSS_POINTS))
        # (batch that closed the last window, samples before it, loss mean before it)
        self._window = (0, 0, 0.0)
        self._last: tuple[int, int, float] | None = None  # latest batch not yet in a point
        self._best_value = (
            resume.best_value(config.checkpoint_monitor)
            if resume and config.checkpoint_best
            else None
        )

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
        if status in ("running", "stopping") and self._train_t0 is not None:
            seconds_left = self._seconds_left(batches_done, epochs_in_job, t_batch)
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

    def trained_model(self) -> keras.Model | None:
        """The trained model once the job has ended with one (finished, or stopped after it
        started), else None."""
        ended = self._status in ("finished", "stopped") and self._t0 is not None
        return self.model if ended else None

    def _seconds_left(self, batches_done: int, epochs_done: int, t_batch: float) -> float | None:
        """What is left of the job: its batches, each epoch's end (validation, snapshots, the
        saved epoch) and the final test; None until two batches are done. The step time leaves
        out the first batch, which traced the step; the first epoch's end traces the test step
        and the snapshot's functions once, which costs about as much. An epoch's end is timed
        once one has passed (the quickest, without tracing), before that guessed from the step
        time (a forward pass costs about 1/3 of a step)."""
        if batches_done < 2 or self._first_step_end is None:
            return None
        per_batch = (t_batch - self._first_step_end - sum(self._epoch_ends)) / (batches_done - 1)
        forward_per_digit = per_batch / self.config.batch_size / 3
        validation_digits = {"split": self.n_validation, "test": self.n_test, "none": 0}
        epoch_end = (validation_digits[self.config.validation] + SNAPSHOT_SIZE) * forward_per_digit
        tracing = 0.0
        if self._epoch_ends:
            epoch_end = min(self._epoch_ends)
        else:
            tracing = max(0.0, self._first_step_end - self._train_t0 - per_batch)
        batches_left = self.config.epochs * self.batches_per_epoch - batches_done
        ends_left = self.config.epochs - epochs_done
        final_test = self.n_test * forward_per_digit
        return max(0.0, batches_left * per_batch + ends_left * epoch_end + tracing + final_test)

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

    def _start(self, submit: Callable[[Callable[[], None]], None]) -> None:
        """Run in a thread of the scheduler's: `submit(self._run)` hands the job to one."""
        self._status = "running"
        submit(self._run)

    def _cancel(self) -> None:
        """Called by the scheduler for a job stopped while still queued."""
        self._status = "stopped"
        self._phase = "done"
        self._message = msg("train.cancelled")
        self._done.set()

    # ----- the training thread ----------------------------------------------------------

    def _run(self) -> None:
        self._t0 = time.perf_counter()
        try:
            self._train_and_save()
        except Exception as exc:  # any failure becomes a status the page can show
            self._status = "failed"
            reason = (
                exc.message if isinstance(exc, MessageError) else f"{type(exc).__name__}: {exc}"
            )
            self._message = msg("train.failed_with", reason=reason)
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
        # "running" until the job ends: a run that still says so once no engine trains it was
        # interrupted (the process died), and continues from its last saved epoch.
        write_json_atomic(self.run_dir / METRICS_FILE, {"status": "running"})
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
        results = self._test_results(test)
        self._summary = self._summarize(results, train_seconds)
        status: Status = "stopped" if self._stop_event.is_set() else "finished"
        self._save(status, with_model=not self._ends_as_last_epoch_saved())
        self._status = status

    def _ends_as_last_epoch_saved(self) -> bool:
        """Whether the model is still as the last epoch's end saved it (weights and optimizer):
        fit ended there, and EarlyStopping restored no earlier weights after it."""
        restored = self.config.early_stopping and self.config.restore_best_weights
        return self._epoch_end is not None and not restored

    def _test_results(self, test: Any) -> dict[str, float]:
        """The model's loss and accuracy on the test digits. Validated on them at the epoch's end
        where fit ended, with these weights, the model has been measured already: a second pass
        over 10,000 digits would only delay "stopped" or "finished" by as long as it takes."""
        if (
            self.config.validation == "test"
            and self._ends_as_last_epoch_saved()
            and self._epoch_end
        ):
            return dict(self._epoch_end)
        return self.model.evaluate(test, verbose=0, return_dict=True)

    def _callbacks(self) -> list[keras.callbacks.Callback]:
        cfg = self.config
        cbs: list[keras.callbacks.Callback] = []
        if cfg.lr_schedule != "none":
            if self.base_lr is None:
                raise ConfigError("train.optimizer_has_schedule")
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
                AtomicModelCheckpoint(
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
        stop = StopAtEpochEnd(self._stop_event)
        return [*cbs, ProgressCallback(self), snapshots, *self.extra_callbacks, stop]

    def _set_lr(self, lr: float) -> None:
        self._lr = lr

    def _record_loss(self, epoch: int, done: int, running_mean: float) -> None:
        """Note the epoch's running mean after batch done; batches may be skipped, never reordered."""
        # Keras logs the epoch's running mean; difference it into the mean over the window.
        if done - self._window[0] >= self._stride:
            self._close_window(epoch, done, running_mean)
        else:
            self._last = (epoch, done, running_mean)

    def _flush_window(self) -> None:
        if self._last:
            self._close_window(*self._last)

    def _close_window(self, epoch: int, done: int, running_mean: float) -> None:
        _, before_samples, before_mean = self._window
        samples = min(done * self.config.batch_size, self.n_train)
        window_samples = samples - before_samples
        loss = (samples * running_mean - before_samples * before_mean) / window_samples
        self._window = (done, samples, running_mean)
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
        test = {canonical_metric(k): float(v) for k, v in (test or {}).items()}
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
                "base_lr": self.base_lr,  # a continued cosine schedule starts from it again
            },
        )

    def _save_epoch(self) -> None:
        """After each completed epoch: the model with its optimizer state, and the history so far.

        Both are written to temporary names first and renamed one right after the other, so that
        a process killed at any moment leaves the last completed epoch to continue from.
        """
        model_tmp = self.run_dir / f".tmp-{MODEL_FILE}"
        self.model.save(model_tmp)
        history_tmp = self._write_history(self.run_dir / f".tmp-{HISTORY_FILE}")
        model_tmp.replace(self.run_dir / MODEL_FILE)
        history_tmp.replace(self.run_dir / HISTORY_FILE)

    def _write_history(self, path: Path) -> Path:
        with self._lock:
            history = {k: list(v) for k, v in self._history.items()}
            points = list(self._points)
        path.write_text(json.dumps({"epochs": history, "batch_losses": points}, allow_nan=True))
        return path

    def _save(self, status: Status, with_model: bool) -> None:
        self._phase = "saving"
        if with_model:
            # Save under a temporary name first: a reader never sees half a model.
            tmp = self.run_dir / f".tmp-{MODEL_FILE}"
            self.model.save(tmp)
            tmp.replace(self.run_dir / MODEL_FILE)
        self._write_history(self.run_dir / f".tmp-{HISTORY_FILE}").replace(
            self.run_dir / HISTORY_FILE
        )
        metrics = {"status": status, "message": str(self._message)}
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
            raise ConfigError("train.not_compiled")
        shape = tuple(self.model.input_shape[1:])
        if math.prod(shape) != IMAGE_SIZE * IMAGE_SIZE:
            raise ConfigError("train.bad_input_shape", shape=str(shape))
        if self.model.output_shape[-1] != NUM_CLASSES:
            raise ConfigError("train.bad_output", classes=NUM_CLASSES)
        needs_accuracy = [
            m
            for used, m in (
                (self.config.early_stopping, self.config.early_stopping_monitor),
                (self.config.checkpoint_best, self.config.checkpoint_monitor),
            )
            if used and m.endswith("accuracy")
        ]
        if needs_accuracy and "acc" not in str(self.model.get_compile_config().get("metrics")):
            raise ConfigError("train.needs_accuracy_metric", monitor=needs_accuracy[0])

    def _train_count(self) -> int:
        n = self.config.train_digits(len(self.mnist.x_train))
        if n < 1:
            raise ConfigError("train.no_training_digits")
        return n
