"""Training jobs: progress, stop, early stopping, continue, scheduler, failures."""

from __future__ import annotations

import dataclasses
import gc
import math
import threading
import time

import keras
import numpy as np
import pytest

from core.build import build_model
from core.data import load_mnist, to_model_input
from core.engine import TrainingRequest
from core.engine.runner import job_for_request
from core.engine.scheduler import OwnerBusyError, TrainingScheduler
from core.inside.projection import SNAPSHOT_SIZE
from core.presets import PRESETS
from core.training import TrainConfig, TrainingJob, keras_state, seed_everything
from core.training import callbacks as training_callbacks
from core.training import job as job_module

TIMEOUT = 120  # seconds; a hanging job fails the test instead of blocking the suite


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def mlp(optimizer="sgd", lr=0.05, loss="sparse_categorical_crossentropy") -> keras.Model:
    """The tutorial MLP, small: 784-32-10."""
    model = keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(32, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax", name="output"),
        ]
    )
    opt = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam}[optimizer](lr)
    model.compile(optimizer=opt, loss=loss, metrics=["accuracy"])
    return model


def make_job(store, mnist, model=None, owner="alice", callbacks=(), **config) -> TrainingJob:
    config = {"epochs": 1, "batch_size": 64, "subset_size": 1000, "validation": "none"} | config
    return TrainingJob(
        model or mlp(),
        TrainConfig(**config),
        mnist,
        store.new_run_dir(owner),
        {"preset": "test"},
        "test run",
        owner,
        callbacks,
    )


def run_to_end(job: TrainingJob, scheduler: TrainingScheduler | None = None) -> TrainingJob:
    (scheduler or TrainingScheduler(1)).submit(job)
    assert job.wait(TIMEOUT), "the job did not end in time"
    return job


def continued(job: TrainingJob, epochs: int, mnist) -> TrainingJob:
    """A job that continues the run of job from its folder (how the engines continue)."""
    config = dataclasses.replace(job.config, epochs=epochs)
    request = TrainingRequest(job.owner, str(job.run_dir), job.name, config, resume=True)
    return job_for_request(request, mnist)


class Recorder(keras.callbacks.Callback):
    """Records the job's snapshot after every batch (from the training thread)."""

    def __init__(self):
        super().__init__()
        self.job: TrainingJob | None = None
        self.snaps = []

    def on_train_batch_end(self, batch, logs=None):
        self.snaps.append(self.job.snapshot())


def test_progress_events_arrive_in_order_with_correct_counts(store, mnist):
    recorder = Recorder()
    job = make_job(
        store, mnist, callbacks=[recorder], epochs=2, validation="split", validation_split=0.1
    )
    recorder.job = job
    assert job.n_train == 900 and job.batches_per_epoch == math.ceil(900 / 64) == 15
    run_to_end(job)

    assert job.status == "finished", job.snapshot().message
    steps = [(s.epoch, s.batch) for s in recorder.snaps]
    assert steps == [(e, b) for e in (1, 2) for b in range(1, 16)]
    samples = [s.samples_seen for s in recorder.snaps]
    assert samples[0] == 64 and samples[14] == 900 and samples[-1] == 1800
    assert samples == sorted(samples)
    assert all(s.status == "running" and s.epochs == 2 for s in recorder.snaps)
    assert all(s.samples_per_second and s.samples_per_second > 0 for s in recorder.snaps)

    final = job.snapshot()
    assert final.status == "finished" and final.phase == "done"
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(final.history[key]) == 2
    # Batch losses: one point per batch here, numbered by global batch, finite and positive.
    assert [b for b, _ in final.batch_losses] == list(range(1, 31))
    assert all(0 < loss < 10 for _, loss in final.batch_losses)
    # The mean of an epoch's per-batch losses (weighted by batch size) is Keras's epoch loss.
    sizes = [64] * 14 + [900 - 14 * 64]
    epoch1 = np.average([loss for _, loss in final.batch_losses[:15]], weights=sizes)
    assert epoch1 == pytest.approx(final.history["loss"][0], rel=1e-4)
    summary = final.summary
    assert summary is not None and 0 <= summary.test_accuracy <= 1
    assert summary.best_epoch in (1, 2) and summary.train_seconds > 0


def test_snapshot_from_another_thread_is_consistent(store, mnist):
    job = make_job(store, mnist, epochs=2, batch_size=16)
    TrainingScheduler(1).submit(job)
    seen = []
    while not job.wait(0.01):
        seen.append(job.snapshot())
    progress = [(s.epoch, s.batch) for s in seen if s.status == "running" and s.epoch]
    assert progress == sorted(progress)
    assert job.status == "finished"


def test_stop_takes_effect_within_one_batch_and_keeps_weights(store, mnist):
    batches_after_stop = []

    class StopAtBatch5(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if job._stop_event.is_set():
                batches_after_stop.append(batch)
            elif batch == 4:
                job.stop()

    model = mlp()
    initial = [w.copy() for w in model.get_weights()]
    job = make_job(store, mnist, model=model, callbacks=[StopAtBatch5()], epochs=3)
    run_to_end(job)

    assert job.status == "stopped"
    assert len(batches_after_stop) <= 1
    assert job.snapshot().epoch == 1 and job.snapshot().batch <= 6
    current = model.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(initial, current, strict=True))
    (record,) = store.list_runs("alice")
    assert record.status == "stopped" and record.has_model
    saved = store.load_model("alice", record.run_id).get_weights()
    for a, b in zip(current, saved, strict=True):
        np.testing.assert_array_equal(a, b)


def test_stop_from_the_page_thread(store, mnist):
    job = make_job(store, mnist, epochs=50, batch_size=16)
    TrainingScheduler(1).submit(job)
    while job.snapshot().batch < 3 and not job.wait(0.005):
        pass
    job.stop()
    assert job.snapshot().status in ("stopping", "stopped")
    assert job.wait(TIMEOUT)
    assert job.status == "stopped"
    assert job.snapshot().epoch < 50


class PressStop(keras.callbacks.Callback):
    """Presses Stop at a given moment of the training thread; notes each batch begun after."""

    def __init__(self, at_epoch_end: int | None = None, at_batch: int | None = None) -> None:
        super().__init__()
        self.job: TrainingJob | None = None
        self.at_epoch_end, self.at_batch = at_epoch_end, at_batch
        self.begun_after: list[tuple[int, int]] = []
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.job._stop_event.is_set():
            self.begun_after.append((self.epoch, batch))

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.at_batch:
            self.job.stop()

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at_epoch_end:  # after its validation, snapshot and saved model
            self.job.stop()


def with_presser(store, mnist, presser: PressStop, **config) -> TrainingJob:
    job = make_job(store, mnist, callbacks=[presser], **config)
    presser.job = job
    return job


def test_a_stop_during_an_epochs_end_ends_fit_there(store, mnist):
    presser = PressStop(at_epoch_end=0)
    job = run_to_end(with_presser(store, mnist, presser, epochs=3, validation="test"))
    assert job.status == "stopped", job.snapshot().message
    # Not a batch of the next epoch, and no validation of it on the 10,000 test digits.
    assert presser.begun_after == []
    progress = job.snapshot()
    assert progress.epoch == 1 and progress.batch == progress.batches_per_epoch
    assert len(progress.history["loss"]) == 1 and len(progress.batch_losses) == 16
    (record,) = store.list_runs("alice")
    assert record.status == "stopped" and record.epochs == 1 and record.has_model


def test_the_final_test_is_the_last_validation_on_the_test_digits(store, mnist, monkeypatch):
    presser = PressStop(at_batch=4)
    job = with_presser(store, mnist, presser, epochs=3, batch_size=16, validation="test")
    passes = []
    evaluate = job.model.evaluate

    def counted(*args, **kwargs):
        passes.append("fit's validation" if kwargs.get("_use_cached_eval_dataset") else "again")
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(job.model, "evaluate", counted)
    run_to_end(job)
    assert job.status == "stopped" and job.snapshot().epoch == 1
    # Keras validated the stopped epoch on the test digits; nothing evaluates them a second time.
    assert passes == ["fit's validation"]
    summary, history = job.snapshot().summary, job.snapshot().history
    assert summary.test_accuracy == history["val_accuracy"][-1]
    assert summary.test_loss == history["val_loss"][-1]
    # The model saved at that epoch's end is the model as it ended (the end saved it only once).
    (record,) = store.list_runs("alice")
    assert record.status == "stopped" and record.test_accuracy == summary.test_accuracy
    saved = store.load_model("alice", record.run_id)
    for a, b in zip(job.model.get_weights(), saved.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    steps = job.snapshot().batch
    assert steps < 10 and int(saved.optimizer.iterations) == int(job.model.optimizer.iterations)
    assert int(saved.optimizer.iterations) == steps
    x = to_model_input(mnist.x_test, (784,))
    loss, accuracy = saved.evaluate(x, mnist.y_test, batch_size=500, verbose=0)
    assert accuracy == pytest.approx(summary.test_accuracy, abs=1e-6)
    assert loss == pytest.approx(summary.test_loss, rel=1e-5)


def test_early_stopping_restores_the_best_weights(store, mnist):
    weights_by_epoch = []

    class SpoilLaterEpochs(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch >= 2:  # a silly learning rate makes epochs 3+ worse than epoch 2
                self.model.optimizer.learning_rate = 5.0

        def on_epoch_end(self, epoch, logs=None):
            weights_by_epoch.append([w.copy() for w in self.model.get_weights()])

    seed_everything(1)
    job = make_job(
        store,
        mnist,
        callbacks=[SpoilLaterEpochs()],
        epochs=6,
        validation="split",
        early_stopping=True,
        early_stopping_monitor="val_loss",
        early_stopping_patience=1,
        restore_best_weights=True,
        seed=1,
    )
    run_to_end(job)

    assert job.status == "finished", job.snapshot().message
    val_loss = job.snapshot().history["val_loss"]
    assert len(val_loss) < 6  # it stopped early
    best = int(np.nanargmin(val_loss))
    assert best < len(val_loss) - 1
    summary = job.snapshot().summary
    assert summary.stopped_early and summary.best_epoch == best + 1
    for a, b in zip(job.model.get_weights(), weights_by_epoch[best], strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(job.model.get_weights(), weights_by_epoch[-1], strict=True)
    )
    # The run keeps the restored weights, not those its last epoch's end saved.
    (record,) = store.list_runs("alice")
    saved = store.load_model("alice", record.run_id).get_weights()
    for a, b in zip(weights_by_epoch[best], saved, strict=True):
        np.testing.assert_array_equal(a, b)


def test_queue_limit_holds_and_positions_are_reported(store, mnist):
    lock = threading.Lock()
    state = {"now": 0, "max": 0, "order": []}

    class Count(keras.callbacks.Callback):
        def __init__(self, name):
            super().__init__()
            self.name = name

        def on_train_begin(self, logs=None):
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
                state["order"].append(self.name)

        def on_train_end(self, logs=None):
            with lock:
                state["now"] -= 1

    scheduler = TrainingScheduler(max_concurrent=1)
    jobs = [
        make_job(store, mnist, owner=f"owner-{i}", callbacks=[Count(i)], epochs=2, batch_size=16)
        for i in range(3)
    ]
    for job in jobs:
        scheduler.submit(job)
    assert jobs[0].status in ("running", "finished")
    positions = [job.snapshot().queue_position for job in jobs[1:]]
    statuses = [job.snapshot().status for job in jobs[1:]]
    assert statuses == ["queued", "queued"] and positions == [1, 2]
    for job in jobs:
        assert job.wait(TIMEOUT)
    assert [job.status for job in jobs] == ["finished"] * 3
    assert state["max"] == 1 and state["order"] == [0, 1, 2]
    assert scheduler.running_count() == 0 and scheduler.queued_count() == 0


def test_one_owner_cannot_run_two_jobs(store, mnist):
    scheduler = TrainingScheduler(max_concurrent=4)
    first = make_job(store, mnist, epochs=50, batch_size=16)
    scheduler.submit(first)
    assert scheduler.active_job("alice") is first
    with pytest.raises(OwnerBusyError, match="already have a training"):
        scheduler.submit(make_job(store, mnist))
    other = make_job(store, mnist, owner="bob")
    scheduler.submit(other)  # another owner is fine
    assert scheduler.active_job("bob") is other
    first.stop()
    assert first.wait(TIMEOUT) and other.wait(TIMEOUT)
    assert scheduler.active_job("alice") is None
    run_to_end(make_job(store, mnist), scheduler)  # free again after the first ended


def test_stopping_a_queued_job_cancels_it(store, mnist):
    scheduler = TrainingScheduler(max_concurrent=1)
    blocker = make_job(store, mnist, owner="bob", epochs=50, batch_size=16)
    queued = make_job(store, mnist)
    scheduler.submit(blocker)
    scheduler.submit(queued)
    queued.stop()
    assert queued.wait(1) and queued.status == "stopped"
    assert scheduler.active_job("alice") is None and scheduler.queued_count() == 0
    blocker.stop()
    assert blocker.wait(TIMEOUT)


@pytest.mark.parametrize("lr", [1e6, 1e10])
def test_a_diverging_loss_fails_clearly_and_frees_the_slot(store, mnist, lr):
    scheduler = TrainingScheduler(max_concurrent=1)
    job = make_job(store, mnist, model=mlp("sgd", lr), epochs=3, seed=0)
    run_to_end(job, scheduler)
    snap = job.snapshot()
    assert snap.status == "failed"
    text = str(snap.message)
    assert "The loss exploded" in text and "at epoch 1, batch" in text
    assert "learning rate is probably too high; try 0.001" in text
    assert "학습률이 너무 높은 것 같습니다" in snap.message.render("ko")
    assert snap.epoch == 1 and snap.batch < 16  # it ended at once, not after 3 epochs
    assert scheduler.running_count() == 0
    (record,) = store.list_runs("alice")
    assert record.status == "failed" and record.message == text and not record.has_model


def test_nan_message_is_plain():
    assert str(training_callbacks.divergence_message(float("nan"), 1, 12)) == (
        "The loss became NaN at epoch 1, batch 12: "
        "the learning rate is probably too high; try 0.001."
    )


def test_an_exception_in_the_thread_becomes_a_failure(store, mnist):
    class Boom(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                raise RuntimeError("boom")

    scheduler = TrainingScheduler(max_concurrent=1)
    job = make_job(store, mnist, callbacks=[Boom()])
    run_to_end(job, scheduler)
    assert job.status == "failed" and "boom" in str(job.snapshot().message)
    assert scheduler.running_count() == 0
    run_to_end(make_job(store, mnist), scheduler)  # the slot is free again


def test_val_monitor_without_validation_is_a_plain_error():
    with pytest.raises(ValueError, match="no validation data"):
        TrainConfig(
            validation="none", early_stopping=True, early_stopping_monitor="val_loss"
        ).check()
    with pytest.raises(ValueError, match="no validation data"):
        TrainConfig(
            validation="none", checkpoint_best=True, checkpoint_monitor="val_accuracy"
        ).check()
    TrainConfig(validation="none", early_stopping=True, early_stopping_monitor="loss").check()


def test_accuracy_monitor_needs_an_accuracy_metric(store, mnist):
    model = mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="accuracy"):
        make_job(store, mnist, model=model, early_stopping=True, early_stopping_monitor="accuracy")


def test_cosine_decays_to_about_zero_per_batch(store, mnist):
    job = run_to_end(make_job(store, mnist, model=mlp("sgd", 0.1), epochs=2, lr_schedule="cosine"))
    snap = job.snapshot()
    assert snap.status == "finished"
    assert snap.learning_rate < 0.1 * 0.01
    lrs = snap.history["learning_rate"]
    assert 0.1 * 0.3 < lrs[0] < 0.1 * 0.7 and lrs[1] < lrs[0]  # halfway after one of two epochs


def test_step_schedule_and_test_set_validation(store, mnist):
    job = run_to_end(
        make_job(
            store,
            mnist,
            model=mlp("sgd", 0.08),
            epochs=3,
            lr_schedule="step",
            step_every=1,
            step_factor=0.5,
            validation="test",
        )
    )
    history = job.snapshot().history
    np.testing.assert_allclose(history["learning_rate"], [0.08, 0.04, 0.02], rtol=1e-6)
    # With validation on the test set, the last val_accuracy is the summary's test accuracy.
    assert history["val_accuracy"][-1] == pytest.approx(job.snapshot().summary.test_accuracy)


def test_categorical_loss_object_gets_one_hot_labels(store, mnist):
    model = mlp(loss=keras.losses.CategoricalCrossentropy())
    assert keras_state.labels_kind(model) == "categorical_crossentropy"
    job = run_to_end(make_job(store, mnist, model=model))
    assert job.status == "finished", job.snapshot().message


def test_seeded_runs_are_reproducible(store, mnist):
    def trained_weights():
        seed_everything(7)
        job = run_to_end(make_job(store, mnist, epochs=1, seed=7))
        return job.model.get_weights()

    for a, b in zip(trained_weights(), trained_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_batch_losses_stay_bounded(store, mnist, monkeypatch):
    monkeypatch.setattr(job_module, "MAX_LOSS_POINTS", 8)
    first = run_to_end(make_job(store, mnist, epochs=1, batch_size=16))  # 63 batches
    assert 0 < len(first.snapshot().batch_losses) <= 8
    second = run_to_end(continued(first, 2, mnist))
    points = second.snapshot().batch_losses
    assert 0 < len(points) <= 8
    numbers = [b for b, _ in points]
    assert numbers == sorted(numbers) and numbers[-1] == 3 * 63
    assert all(math.isfinite(loss) for _, loss in points)


def test_snapshot_is_cheap(store, mnist):
    job = run_to_end(make_job(store, mnist, epochs=2, batch_size=16))
    start = time.perf_counter()
    for _ in range(100):
        job.snapshot()
    assert (time.perf_counter() - start) / 100 < 0.005


def test_default_preset_on_10k_digits_scores_on_the_test_digits_too(store, mnist):
    """Its batch normalisation's moving statistics keep up with one short epoch (79 batches):
    with Keras's default momentum of 0.99 this scored ~11%, as good as guessing."""
    preset = PRESETS["default"]
    config = preset.train_config(epochs=1, subset_size=10_000, validation="none", seed=1)
    job = TrainingJob(
        build_model(preset.spec), config, mnist, store.new_run_dir("alice"), {}, "d", "alice"
    )
    summary = run_to_end(job).snapshot().summary
    assert summary.final["accuracy"] > 0.85
    assert summary.test_accuracy > 0.9, summary.test_accuracy


def test_default_preset_trains_with_its_recipe(store, mnist):
    preset = PRESETS["default"]
    preset.train_config().check()
    model = build_model(preset.spec)
    config = preset.train_config(epochs=1, subset_size=1000, validation="none")
    job = run_to_end(
        TrainingJob(model, config, mnist, store.new_run_dir("alice"), {}, "default", "alice")
    )
    assert job.status == "finished" and job.batches_per_epoch == 8
    # Cosine per batch: the last of 8 batches ran at lr * (1 + cos(7/8 pi)) / 2.
    expected = preset.spec.compile.learning_rate * (1 + math.cos(math.pi * 7 / 8)) / 2
    assert job.snapshot().learning_rate == pytest.approx(expected)


def test_new_models_leave_nothing_behind_in_tensorflow(store, mnist):
    # Variables created inside fit's traced step leave functions behind in TensorFlow that are
    # never freed (~10 MB per CNN), and each trace registers a gradient function that keeps its
    # graph alive (~6 MB): the job creates the variables before fit and drops the registrations.
    from tensorflow.python.eager import context
    from tensorflow.python.framework import ops

    def tensorflow_state() -> tuple[int, int]:
        gc.collect()
        return len(context.context().list_function_names()), len(ops._gradient_registry._registry)

    def train_a_new_model() -> None:
        model = build_model(PRESETS["default"].spec)
        config = TrainConfig(epochs=1, batch_size=128, subset_size=500, validation="none")
        job = TrainingJob(model, config, mnist, store.new_run_dir("alice"), {}, "cnn", "alice")
        assert run_to_end(job).status == "finished"

    train_a_new_model()
    functions, gradients = tensorflow_state()
    train_a_new_model()
    train_a_new_model()
    functions_after, gradients_after = tensorflow_state()
    assert functions_after <= functions and gradients_after <= gradients


def test_time_left_counts_epoch_ends_tracing_and_the_final_test(store, mnist):
    """The estimate a learner reads: not only the batches (a first 1,000-digit training said 25 s
    and took 57 s), but each epoch's validation and snapshot, the tracing that the first epoch's
    end does once, and the test at the end. Timings are set by hand, so the sums are exact."""
    job = make_job(store, mnist, epochs=3, batch_size=100, subset_size=1000, validation="test")
    assert job.batches_per_epoch == 10
    job._status, job._t0, job._train_t0 = "running", 0.0, 0.0
    forward = 0.1 / 100 / 3  # seconds per digit of a forward pass, at 0.1 s per 100-digit step
    # Epoch 1, batch 6: the first step took 1.0 s (0.9 s of it tracing), the others 0.1 s each.
    job._first_step_end, job._tick = 1.0, (1, 6, 1.5)
    batches = 24 * 0.1
    ends = 3 * (10_000 + SNAPSHOT_SIZE) * forward  # validated on the 10k test digits each epoch
    assert job.snapshot().seconds_left == pytest.approx(batches + ends + 0.9 + 10_000 * forward)
    # Epoch 3, batch 2: the ends of epochs 1 and 2 took 3.0 s (tracing) and 1.2 s.
    job._epoch_ends, job._tick = [3.0, 1.2], (3, 2, 1.0 + 21 * 0.1 + 4.2)
    assert job.snapshot().seconds_left == pytest.approx(8 * 0.1 + 1.2 + 10_000 * forward)
