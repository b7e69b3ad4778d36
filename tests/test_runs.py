"""The runs directory: ids are validated, runs are written, listed and loaded back."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.data import load_mnist, to_model_input
from core.engine.scheduler import TrainingScheduler
from core.runs import InvalidIdError, RunStore, check_id, new_owner_token
from core.training import TrainConfig, TrainingJob

CRAFTED = ["../x", "..", "../../etc", "a/b", "/abs", "A", "", "x" * 65, "a\x00b", "-", ".", "é"]


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


@pytest.mark.parametrize("bad", CRAFTED)
def test_crafted_ids_are_refused(store, bad):
    with pytest.raises(InvalidIdError):
        store.owner_dir(bad)
    with pytest.raises(InvalidIdError):
        store.run_dir("alice", bad)
    with pytest.raises(InvalidIdError):
        store.list_runs(bad)
    with pytest.raises(InvalidIdError):
        store.load_model("alice", bad)
    with pytest.raises(InvalidIdError):
        store.new_run_dir(bad)
    assert not store.root.exists() or all(
        p.is_relative_to(store.root) for p in store.root.rglob("*")
    )


def test_ids_are_sortable_and_unique(store):
    owner = new_owner_token()
    assert check_id(owner) == owner
    dirs = [store.new_run_dir(owner) for _ in range(5)]
    names = [d.name for d in dirs]
    assert len(set(names)) == 5 and all(check_id(n) for n in names)
    assert all(d.parent == store.root.resolve() / owner for d in dirs)
    assert names[0][:15] <= names[-1][:15]  # YYYYmmdd-HHMMSS prefix
    assert store.list_runs(owner) == []  # empty folders are not runs


def test_a_run_is_written_listed_and_loaded_back(store):
    mnist = load_mnist()
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(10, activation="softmax", name="output"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    config = TrainConfig(
        epochs=2,
        batch_size=64,
        subset_size=1000,
        validation="split",
        checkpoint_best=True,
        checkpoint_monitor="val_accuracy",
    )
    job = TrainingJob(
        model, config, mnist, store.new_run_dir("alice"), {"layers": ["conv"]}, "tiny cnn", "alice"
    )
    TrainingScheduler(1).submit(job)
    assert job.wait(120)
    assert job.status == "finished", job.snapshot().message

    (record,) = store.list_runs("alice")
    assert record.name == "tiny cnn" and record.status == "finished" and record.epochs == 2
    assert record.spec == {"layers": ["conv"]} and record.config["batch_size"] == 64
    assert record.history["val_accuracy"] == list(job.snapshot().history["val_accuracy"])
    assert record.test_accuracy == pytest.approx(job.snapshot().summary.test_accuracy)
    assert record.best_epoch in (1, 2) and "val_accuracy" in record.best
    assert store.load_run("alice", record.run_id) == record
    assert store.list_runs("bob") == []

    loaded = store.load_model("alice", record.run_id)
    x = to_model_input(mnist.x_test[:200], (28, 28, 1))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert loaded.optimizer.__class__ is model.optimizer.__class__

    best = store.best_weights_path("alice", record.run_id)
    assert best is not None and best.name == "best.weights.h5"
    model.load_weights(best)  # the checkpoint fits the architecture


def test_damaged_files_do_not_break_the_list(store):
    path = store.new_run_dir("alice")
    (path / "spec.json").write_text("{not json")
    (record,) = store.list_runs("alice")
    assert record.status == "incomplete" and record.history == {}
    with pytest.raises(FileNotFoundError):
        store.load_model("alice", record.run_id)
    assert store.best_weights_path("alice", record.run_id) is None
