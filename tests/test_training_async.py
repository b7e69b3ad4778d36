"""ProgressCallback under Keras's async batch dispatch: out-of-order and concurrent batch ends."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest
from keras.src.callbacks import callback_list

from core.training import TrainingJob
from core.training.callbacks import AtomicModelCheckpoint, ProgressCallback
from tests.test_training import make_job, mlp, run_to_end

BATCHES = 100  # subset_size 1000 at batch size 10, no validation


def started(store, mnist, stride: int) -> tuple[TrainingJob, ProgressCallback]:
    """A job (not run) and its progress callback at the start of epoch 1, loss points per stride."""
    job = make_job(store, mnist, batch_size=10, subset_size=1000)
    assert job.batches_per_epoch == BATCHES
    job._stride = stride
    callback = ProgressCallback(job)
    callback.set_model(job.model)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    return job, callback


def batch_losses(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Made-up per-batch losses and the running means Keras would log after each batch."""
    losses = np.random.default_rng(seed).uniform(0.1, 2.5, BATCHES)
    return losses, np.cumsum(losses) / np.arange(1, BATCHES + 1)


def check_points(points: list[tuple[int, float]], losses: np.ndarray) -> None:
    """Each point is the mean loss of the batches since the previous point; the last is batch 100."""
    numbers = [b for b, _ in points]
    assert numbers == sorted(set(numbers)) and numbers[-1] == BATCHES
    start = 0
    for end, loss in points:
        assert loss == pytest.approx(losses[start:end].mean(), rel=1e-9), (start, end)
        start = end


def test_in_order_batch_ends_give_every_batch_loss(store, mnist):
    job, callback = started(store, mnist, stride=1)
    losses, means = batch_losses(0)
    for batch in range(BATCHES):
        callback.on_train_batch_end(batch, {"loss": float(means[batch])})
        assert job.snapshot().batch == batch + 1
    job._flush_window()
    points = job.snapshot().batch_losses
    assert [b for b, _ in points] == list(range(1, BATCHES + 1))
    np.testing.assert_allclose([loss for _, loss in points], losses, rtol=1e-9)


@pytest.mark.parametrize("stride", [1, 7])
def test_out_of_order_batch_ends_never_move_progress_back(store, mnist, stride):
    job, callback = started(store, mnist, stride=stride)
    losses, means = batch_losses(1)
    order = list(range(BATCHES))
    shuffled = random.Random(stride)
    for i in range(0, BATCHES, 5):  # late arrivals within a few batches, as a thread pool gives
        chunk = order[i : i + 5]
        shuffled.shuffle(chunk)
        order[i : i + 5] = chunk
    assert order != sorted(order)
    seen = []
    for batch in order:
        callback.on_train_batch_end(batch, {"loss": float(means[batch])})
        seen.append(job.snapshot().batch)
    assert seen == sorted(seen) and seen[-1] == BATCHES
    assert len(set(seen)) < BATCHES  # some late calls were dropped, not published
    job._flush_window()
    points = job.snapshot().batch_losses
    check_points(points, losses)
    if stride > 1:  # windows still close about every stride batches
        gaps = np.diff([0] + [b for b, _ in points[:-1]])
        assert all(stride <= gap < stride + 10 for gap in gaps)


def test_concurrent_batch_ends_from_a_thread_pool(store, mnist):
    job, callback = started(store, mnist, stride=3)
    losses, means = batch_losses(2)
    jitter = random.Random(0)

    def batch_end(batch: int) -> None:
        time.sleep(jitter.random() * 0.002)
        callback.on_train_batch_end(batch, {"loss": float(means[batch])})

    watched = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(batch_end, batch) for batch in range(BATCHES)]
        while not all(f.done() for f in futures):
            watched.append(job.snapshot().batch)
        for future in futures:
            future.result()
    assert watched == sorted(watched)
    assert job.snapshot().batch == BATCHES
    job._flush_window()
    check_points(job.snapshot().batch_losses, losses)


def test_a_diverged_loss_is_not_overwritten_by_a_late_batch(store, mnist):
    job, callback = started(store, mnist, stride=1)
    callback.on_train_batch_end(5, {"loss": float("nan")})
    assert job.model.stop_training and job._fail_message is not None
    message = str(job._fail_message)
    callback.on_train_batch_end(6, {"loss": 0.5})
    assert str(job._fail_message) == message and "batch 6" in message
    assert job.snapshot().batch == 6 and job.snapshot().batch_losses == ()


def test_a_stop_is_seen_before_the_next_step(store, mnist):
    job, callback = started(store, mnist, stride=1)
    callback.on_train_batch_begin(3)
    assert not job.model.stop_training
    job.stop()
    callback.on_train_batch_begin(4)
    assert job.model.stop_training


def test_our_checkpoint_is_async_safe_only_when_saving_per_epoch(tmp_path):
    per_epoch = AtomicModelCheckpoint(tmp_path / "best.weights.h5", save_weights_only=True)
    per_batch = AtomicModelCheckpoint(
        tmp_path / "best.weights.h5", save_weights_only=True, save_freq=5
    )
    assert per_epoch.async_safe and not per_batch.async_safe


CONFIGS = [
    {},
    {"lr_schedule": "cosine"},
    {"checkpoint_best": True, "early_stopping": True, "lr_schedule": "reduce_on_plateau"},
    {"lr_schedule": "step", "early_stopping": True, "early_stopping_monitor": "val_accuracy"},
]
CONFIG_IDS = ["default", "cosine", "checkpoint-early-plateau", "step-early"]


@pytest.fixture
def callback_lists(monkeypatch):
    """Every CallbackList that fit builds while the test runs."""
    made = []
    original = callback_list.CallbackList.__init__

    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(callback_list.CallbackList, "__init__", recording)
    return made


def fit_callback_list(made: list) -> callback_list.CallbackList:
    """The one CallbackList of the job's fit (evaluate builds its own, without our callbacks)."""
    (found,) = [c for c in made if any(isinstance(cb, ProgressCallback) for cb in c.callbacks)]
    return found


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_the_jobs_callbacks_allow_async_batch_dispatch(store, mnist, monkeypatch, config):
    """None of the job's callbacks forces Keras to run batch ends on the training thread."""
    job = make_job(store, mnist, epochs=2, validation="split", validation_split=0.1, **config)
    callbacks = job._callbacks()
    # Keras dispatches async only on a backend it calls thread-safe (not TensorFlow's, yet).
    monkeypatch.setattr(callback_list.backend, "IS_THREAD_SAFE", True)
    assert callback_list.CallbackList(callbacks)._async_train

    class ReadsEveryBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    # The check can fail: one callback with a batch-end hook and no async_safe makes it sync.
    assert not callback_list.CallbackList([*callbacks, ReadsEveryBatch()])._async_train


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_a_real_fit_dispatches_as_the_backend_allows(store, mnist, callback_lists, config):
    job = make_job(
        store, mnist, epochs=2, batch_size=32, validation="split", validation_split=0.1, **config
    )
    run_to_end(job)
    assert job.status == "finished", job.snapshot().message
    # Async wherever Keras allows it: on TensorFlow 2.21 / Keras 3.15 it never does.
    assert fit_callback_list(callback_lists)._async_train is callback_list.backend.IS_THREAD_SAFE

    final = job.snapshot()
    assert job.n_train == 900 and job.batches_per_epoch == 29
    assert (final.epoch, final.batch) == (2, 29)
    numbers = [b for b, _ in final.batch_losses]
    assert numbers == sorted(set(numbers)) and 29 in numbers and numbers[-1] == 58
    # Whatever late batch ends were dropped, the windows' weighted mean is each epoch's loss.
    for epoch in (0, 1):
        previous, weighted = 0, 0.0
        for number, loss in final.batch_losses:
            done = number - 29 * epoch
            if 0 < done <= 29:
                weighted += loss * (min(done * 32, 900) - min(previous * 32, 900))
                previous = done
        assert weighted / 900 == pytest.approx(final.history["loss"][epoch], rel=1e-4)


@pytest.mark.parametrize("forced_async", [False, True], ids=["as-shipped", "async-forced"])
def test_a_stop_ends_fit_within_one_batch(store, mnist, monkeypatch, callback_lists, forced_async):
    if forced_async:
        monkeypatch.setattr(callback_list.backend, "IS_THREAD_SAFE", True)
    begun_after_stop = []

    class StopAtBatch4(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if job._stop_event.is_set():
                begun_after_stop.append(batch)
            elif batch == 4:
                job.stop()

    job = make_job(store, mnist, model=mlp(), callbacks=[StopAtBatch4()], epochs=3)
    run_to_end(job)
    assert job.status == "stopped"
    assert fit_callback_list(callback_lists)._async_train is forced_async
    # Sync dispatch stops after the step under way; async after at most one step more.
    assert begun_after_stop in ([], [5])
    assert job.snapshot().epoch == 1 and job.snapshot().batch <= 6


class ThreadRecorder(keras.callbacks.Callback):
    """Notes the training thread and the threads that run the batch ends (needs no order)."""

    async_safe = True

    def __init__(self):
        super().__init__()
        self.train_thread = None
        self.batch_end_threads = set()

    def on_train_begin(self, logs=None):
        self.train_thread = threading.get_ident()

    def on_train_batch_end(self, batch, logs=None):
        self.batch_end_threads.add(threading.get_ident())


def test_a_fit_with_keras_async_dispatch_forced_on(store, mnist, monkeypatch, callback_lists):
    """What the callbacks meet once Keras dispatches async on TensorFlow: a real thread pool."""
    monkeypatch.setattr(callback_list.backend, "IS_THREAD_SAFE", True)
    recorder = ThreadRecorder()
    job = make_job(
        store,
        mnist,
        callbacks=[recorder],
        epochs=2,
        batch_size=16,
        subset_size=2000,
        validation="split",
        validation_split=0.1,
        lr_schedule="cosine",
        checkpoint_best=True,
        early_stopping=True,
    )
    run_to_end(job)
    assert job.status == "finished", job.snapshot().message
    assert fit_callback_list(callback_lists)._async_train
    assert recorder.batch_end_threads and recorder.train_thread not in recorder.batch_end_threads

    final = job.snapshot()
    n, per_epoch = job.n_train, job.batches_per_epoch
    assert (n, per_epoch) == (1800, 113) and (final.epoch, final.batch) == (2, per_epoch)
    numbers = [b for b, _ in final.batch_losses]
    assert numbers == sorted(set(numbers)) and per_epoch in numbers
    assert numbers[-1] == 2 * per_epoch
    for epoch in (0, 1):  # dropped late calls or not, the windows average to the epoch's loss
        previous, weighted = 0, 0.0
        for number, loss in final.batch_losses:
            done = number - per_epoch * epoch
            if 0 < done <= per_epoch:
                weighted += loss * (min(done * 16, n) - min(previous * 16, n))
                previous = done
        assert weighted / n == pytest.approx(final.history["loss"][epoch], rel=1e-4)
    assert (job.run_dir / "best.weights.h5").exists()
