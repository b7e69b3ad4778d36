"""A training that has ended, read back from its run folder (core.engine.ended): what a page
shows for a training whose end it did not see."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.data import to_model_input
from core.engine import TrainingRequest
from core.engine.ended import EndedRunHandle
from core.engine.threads import ThreadEngine
from core.presets import PRESETS
from core.training import TrainConfig

TIMEOUT = 120
CONFIG = TrainConfig(epochs=2, batch_size=32, subset_size=1000, validation="split")
NEWS = "it ended while you were away"


def trained(store, mnist, spec: dict, owner: str = "alice"):
    run_dir = str(store.new_run_dir(owner))
    request = TrainingRequest(owner, run_dir, "mlp", CONFIG, spec=spec)
    handle = ThreadEngine(lambda: mnist).submit(request)
    assert handle.wait(TIMEOUT)
    return handle


def test_a_finished_run_reads_back_as_its_handle_showed_it(store, mnist):
    spec = PRESETS["mlp_sgd"].spec
    live = trained(store, mnist, spec.to_dict())
    ended = EndedRunHandle(store, "alice", Path(live.run_dir).name, NEWS)
    seen, read = live.snapshot(), ended.snapshot()
    assert ended.status == "finished" and ended.wait(0) and ended.run_dir == live.run_dir
    assert read.message == NEWS and read.phase == "done" and not read.active
    assert (read.epoch, read.epochs, read.batches_per_epoch) == (2, 2, 29)
    assert read.history == seen.history
    assert read.summary.test_accuracy == pytest.approx(seen.summary.test_accuracy)
    assert read.summary.best_monitor == seen.summary.best_monitor is not None  # Train shows it
    assert (read.summary.best_epoch, read.summary.best) == (
        seen.summary.best_epoch,
        seen.summary.best,
    )
    assert ended.config == CONFIG and ended.name == "mlp"
    x = to_model_input(mnist.x_test[:50], spec.input_shape)
    np.testing.assert_allclose(
        ended.trained_model().predict(x, verbose=0), live.trained_model().predict(x, verbose=0)
    )


def test_a_failed_run_keeps_its_own_reason_and_has_no_model(store, mnist):
    spec = PRESETS["mlp_sgd"].spec.to_dict()
    spec["compile"] = spec["compile"] | {"learning_rate": 1e10}  # the loss explodes
    live = trained(store, mnist, spec)
    assert live.status == "failed"
    ended = EndedRunHandle(store, "alice", Path(live.run_dir).name, NEWS)
    assert ended.status == "failed" and ended.trained_model() is None
    assert "The loss exploded" in str(ended.snapshot().message)  # not the good news


def test_a_missing_or_unfinished_run_is_no_ended_run(store):
    with pytest.raises(FileNotFoundError):
        EndedRunHandle(store, "alice", "20260101-000000-aaaa")
    running = store.new_run_dir("alice")
    with pytest.raises((FileNotFoundError, ValueError)):
        EndedRunHandle(store, "alice", running.name)
