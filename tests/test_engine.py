"""Trainings through the engine interface: the same tests for every engine (tests/engines.py)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pytest

from core.data import labels_for_loss, to_model_input
from core.engine import TrainingRequest
from core.engine.scheduler import OwnerBusyError
from core.presets import PRESETS
from core.training import TrainConfig
from core.training.keras_state import labels_kind

TIMEOUT = 120
SPEC = PRESETS["mlp_dropout"].spec  # Adam: its moments are optimizer state worth keeping
CONFIG = TrainConfig(epochs=1, batch_size=32, subset_size=1000, validation="split")
STEPS = 29  # 900 training digits / batch 32


def submit(engine, store, owner="alice", config=CONFIG, **fields):
    request = TrainingRequest(
        owner, str(store.new_run_dir(owner)), "mlp", config, spec=SPEC.to_dict(), **fields
    )
    return engine.submit(request)


def ended(handle):
    assert handle.wait(TIMEOUT), "the training did not end in time"
    return handle


def test_a_training_runs_and_its_run_is_saved(engine, store, mnist):
    handle = ended(submit(engine, store))
    assert handle.status == "finished", handle.snapshot().message
    assert engine.active_job("alice") is None and engine.running_count() == 0
    progress = handle.snapshot()
    assert progress.epoch == 1 and progress.batch == STEPS and progress.samples_seen == 900
    assert len(progress.batch_losses) == STEPS and progress.summary.test_accuracy > 0.5
    (record,) = store.list_runs("alice", training=[])
    assert record.status == "finished" and record.epochs == 1 and record.has_model
    assert record.spec == SPEC.to_dict() and record.name == "mlp"
    assert record.test_accuracy == pytest.approx(progress.summary.test_accuracy)
    assert not [p.name for p in record.path.iterdir() if p.name.startswith(".")]  # no temporaries
    x = to_model_input(mnist.x_test[:100], SPEC.input_shape)
    saved = store.load_model("alice", record.run_id)
    trained = handle.trained_model()
    np.testing.assert_allclose(trained.predict(x, verbose=0), saved.predict(x, verbose=0))


def test_stop_ends_within_a_batch_and_the_run_is_saved(engine, store):
    handle = submit(engine, store, config=dataclasses.replace(CONFIG, epochs=50, batch_size=8))
    deadline = time.monotonic() + TIMEOUT
    while handle.snapshot().batch < 3:
        assert time.monotonic() < deadline and handle.snapshot().active
        time.sleep(0.02)
    assert engine.active_job("alice").run_dir == handle.run_dir
    assert store.list_runs("alice", training=[handle.run_dir])[0].status == "running"
    handle.stop()
    ended(handle)
    progress = handle.snapshot()
    assert handle.status == "stopped" and progress.epoch == 1
    assert progress.batch < 113 // 2  # 900 / 8 = 113 batches; it stopped long before
    (record,) = store.list_runs("alice", training=[])
    assert record.status == "stopped" and record.has_model
    assert handle.trained_model() is not None


def test_a_stopped_run_keeps_its_test_metrics_and_continues_from_its_end(engine, store, mnist):
    config = dataclasses.replace(CONFIG, epochs=50, batch_size=8, validation="test")
    handle = submit(engine, store, config=config)
    deadline = time.monotonic() + TIMEOUT
    while handle.snapshot().batch < 3:
        assert time.monotonic() < deadline and handle.snapshot().active
        time.sleep(0.02)
    handle.stop()
    progress = ended(handle).snapshot()
    assert handle.status == "stopped" and progress.epoch == 1
    # Validated on the test digits as fit ended: that is the run's test accuracy.
    assert progress.summary.test_accuracy == progress.history["val_accuracy"][-1]
    (record,) = store.list_runs("alice", training=[])
    assert record.status == "stopped" and record.test_accuracy == progress.summary.test_accuracy
    saved = store.load_model("alice", record.run_id)
    x = to_model_input(mnist.x_test, SPEC.input_shape)
    y = labels_for_loss(mnist.y_test, labels_kind(saved))
    _, accuracy = saved.evaluate(x, y, batch_size=500, verbose=0)
    assert accuracy == pytest.approx(progress.summary.test_accuracy, abs=1e-6)
    assert int(saved.optimizer.iterations) == progress.batch  # saved as it stopped
    more = dataclasses.replace(config, epochs=1)
    second = ended(engine.submit(TrainingRequest("alice", handle.run_dir, "x", more, resume=True)))
    assert second.status == "finished", second.snapshot().message
    steps = progress.batch + second.snapshot().batches_per_epoch  # 1,000 digits / 8
    assert int(second.trained_model().optimizer.iterations) == steps
    assert second.snapshot().initial_epoch == 1


def test_continue_keeps_optimizer_state_and_history(engine, store):
    first = ended(submit(engine, store))
    before = [np.array(v) for v in first.trained_model().optimizer.variables]
    more = dataclasses.replace(CONFIG, epochs=2)
    second = ended(engine.submit(TrainingRequest("alice", first.run_dir, "x", more, resume=True)))
    assert second.status == "finished", second.snapshot().message
    model = second.trained_model()
    assert int(model.optimizer.iterations) == 3 * STEPS
    # The continuation started from the first job's optimizer state, not a fresh one.
    moments = [v for v in model.optimizer.variables if "momentum" in v.name]
    assert moments and all(np.abs(np.array(m)).sum() > 0 for m in moments)
    assert int(before[0]) == STEPS
    progress = second.snapshot()
    assert progress.initial_epoch == 1 and progress.epochs == 3
    assert progress.history["loss"][0] == first.snapshot().history["loss"][0]
    assert [b for b, _ in progress.batch_losses] == list(range(1, 3 * STEPS + 1))
    (record,) = store.list_runs("alice", training=[])
    assert record.epochs == 3 and record.name == "mlp" and record.status == "finished"


def test_one_training_per_owner(engine, store):
    long = dataclasses.replace(CONFIG, epochs=50)
    alice = submit(engine, store, config=long)
    try:
        with pytest.raises(OwnerBusyError):
            submit(engine, store)
        bob = submit(engine, store, owner="bob")  # another owner is served
        assert engine.active_job("bob").run_dir == bob.run_dir
        assert engine.active_job("alice").run_dir == alice.run_dir
        assert ended(bob).status == "finished"
    finally:
        alice.stop()
        ended(alice)
    assert engine.active_job("alice") is None
    assert ended(submit(engine, store)).status == "finished"  # free again


def test_a_request_that_cannot_train_is_refused_in_words(engine, store):
    bad = dataclasses.replace(CONFIG, validation="none", early_stopping=True)
    with pytest.raises(ValueError, match="no validation data"):
        submit(engine, store, config=bad)
    nothing = TrainingRequest("alice", str(store.new_run_dir("alice")), "x", CONFIG, resume=True)
    with pytest.raises(ValueError, match="saved no model"):
        engine.submit(nothing)
    assert engine.active_job("alice") is None
    assert not any(Path(store.owner_dir("alice")).glob("*/model.keras"))


def test_a_request_survives_a_round_trip_through_json():
    config = dataclasses.replace(CONFIG, seed=3, lr_schedule="cosine")
    for request in (
        TrainingRequest("alice", "/runs/alice/1", "mlp", config, spec=SPEC.to_dict()),
        TrainingRequest("bob", "/runs/bob/2", "up", CONFIG, model_path="/runs/bob/2/start.keras"),
        TrainingRequest("bob", "/runs/bob/2", "up", CONFIG, resume=True),
    ):
        assert TrainingRequest.from_dict(json.loads(json.dumps(request.to_dict()))) == request
