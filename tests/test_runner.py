"""The runner: a TrainingRequest becomes a TrainingJob (built, uploaded or resumed from its folder)."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from core.build import build_model
from core.data import to_model_input
from core.engine import TrainingRequest
from core.engine.runner import ResumeError, job_for_request
from core.engine.scheduler import TrainingScheduler
from core.presets import PRESETS
from core.training import TrainConfig

TIMEOUT = 120
CONFIG = TrainConfig(epochs=1, batch_size=64, subset_size=1000, validation="split")


def request(store, owner="alice", **fields) -> TrainingRequest:
    fields = {"name": "tiny", "config": CONFIG} | fields
    return TrainingRequest(owner=owner, run_dir=str(store.new_run_dir(owner)), **fields)


def run(job):
    TrainingScheduler(1).submit(job)
    assert job.wait(TIMEOUT), "the job did not end in time"
    assert job.status == "finished", job.snapshot().message
    return job


def optimizer_state(model: keras.Model) -> list[tuple[str, np.ndarray]]:
    """The optimizer's variables in order (a loaded model's names lose the model's prefix)."""
    return [(v.name, np.array(v.numpy())) for v in model.optimizer.variables]


def test_a_spec_is_built_seeded_like_the_train_page(store, mnist):
    spec = PRESETS["mlp_sgd"].spec
    config = dataclasses.replace(CONFIG, seed=7)
    first = job_for_request(request(store, spec=spec.to_dict(), config=config), mnist)
    second = job_for_request(request(store, spec=spec.to_dict(), config=config), mnist)
    assert first.spec_dict == spec.to_dict() and first.name == "tiny" and first.owner == "alice"
    assert first.model.count_params() == build_model(spec).count_params()
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_uploaded_model_file_is_loaded_compiled_and_trained(store, mnist, tmp_path):
    model = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, name="logits")]
    )
    path = tmp_path / "upload.keras"
    model.save(path)  # saved without compiling, like many files in the wild
    job = run(job_for_request(request(store, model_path=str(path)), mnist))
    assert job.spec_dict == {} and job.model.optimizer is not None
    assert job.snapshot().summary.test_accuracy > 0.2  # chance is 0.1


def test_resume_keeps_weights_optimizer_state_and_history(store, mnist):
    spec = PRESETS["mlp_dropout"].spec.to_dict()
    config = dataclasses.replace(CONFIG, checkpoint_best=True, lr_schedule="cosine")
    first = run(job_for_request(request(store, spec=spec, config=config), mnist))
    steps = first.batches_per_epoch
    before = optimizer_state(first.model)
    assert int(first.model.optimizer.iterations) == steps

    again = TrainingRequest(
        owner="alice", run_dir=first.run_dir, name="ignored", config=config, resume=True
    )
    resumed = job_for_request(again, mnist)
    assert resumed.model is not first.model
    assert resumed.name == "tiny" and resumed.spec_dict == spec and resumed.created == first.created
    assert resumed.initial_epoch == 1 and resumed.epochs_total == 2
    assert resumed.base_lr == first.base_lr  # not the cosine schedule's last, tiny value
    after = optimizer_state(resumed.model)
    assert len(before) == len(after) and sum("momentum" in name for name, _ in after) == 4
    for (name, value), (loaded_name, loaded) in zip(before, after, strict=True):
        assert name.endswith(loaded_name)
        np.testing.assert_array_equal(loaded, value, err_msg=name)
    x = to_model_input(mnist.x_test[:100], (784,))
    np.testing.assert_allclose(
        resumed.model.predict(x, verbose=0), first.model.predict(x, verbose=0)
    )
    best = first.snapshot().history["val_accuracy"][0]
    assert resumed._best_value == best

    run(resumed)
    snap = resumed.snapshot()
    assert int(resumed.model.optimizer.iterations) == 2 * steps
    assert (
        len(snap.history["loss"]) == 2
        and snap.history["loss"][0] == first.snapshot().history["loss"][0]
    )
    assert [b for b, _ in snap.batch_losses] == list(range(1, 2 * steps + 1))
    (record,) = store.list_runs("alice")
    assert record.epochs == 2 and record.status == "finished"


def test_a_run_without_a_model_or_of_another_owner_is_not_resumed(store, mnist):
    empty = request(store, resume=True)
    with pytest.raises(ResumeError, match="saved no model"):
        job_for_request(empty, mnist)
    spec = PRESETS["mlp_sgd"].spec.to_dict()
    done = run(job_for_request(request(store, spec=spec), mnist))
    theirs = TrainingRequest(
        owner="bob", run_dir=done.run_dir, name="x", config=CONFIG, resume=True
    )
    with pytest.raises(ResumeError):
        job_for_request(theirs, mnist)
