"""What a server keeps after a training: no ended job, no old model."""

from __future__ import annotations

import gc
import weakref

import keras

from core.engine.scheduler import TrainingScheduler
from core.runs import RunStore
from core.training import TrainConfig, TrainingJob


def test_an_ended_job_and_its_model_are_freed_once_nothing_holds_them(tmp_path, mnist):
    # The scheduler's long-lived worker threads must not keep the last job (and its model) alive.
    model = keras.Sequential(
        [keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax", name="output")]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    config = TrainConfig(epochs=1, batch_size=64, subset_size=256, validation="none")
    job = TrainingJob(model, config, mnist, RunStore(tmp_path).new_run_dir("o"), {}, "t")
    scheduler = TrainingScheduler(1)
    scheduler.submit(job)
    assert job.wait(120), "the training did not end"
    assert job.status == "finished", job.snapshot().message
    job_ref, model_ref = weakref.ref(job), weakref.ref(model)
    del job, model
    gc.collect()
    assert job_ref() is None
    assert model_ref() is None
