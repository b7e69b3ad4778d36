"""The Ray engine on a real local cluster: where trainings run, the queue across app servers,
a training that outlives its app server, and owners kept apart (tests/ray_cluster.py)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.build import build_model
from core.engine import TrainingRequest
from core.engine.ray_engine import RayHandle
from core.engine.scheduler import OwnerBusyError
from core.presets import PRESETS
from core.runs import InvalidIdError, RunStore
from tests.ray_cluster import NAMESPACE, ROOT, TIMINGS
from tests.test_engine import CONFIG, SPEC, TIMEOUT, ended, submit

pytestmark = pytest.mark.ray
LONG = dataclasses.replace(CONFIG, epochs=50)  # runs until stopped
FIRST_BATCH_GOAL = 3.0  # seconds from submit to the first batch on a warm cluster (issue 20)


def until(condition, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class AppServer:
    """Another app server (tests/ray_app_server.py) on the same cluster and runs store."""

    def __init__(self, settings, runs: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.ray_app_server", settings.address, NAMESPACE, str(runs)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
        )
        assert json.loads(self.process.stdout.readline()) == {"ready": True}

    def submit(self, owner: str, epochs: int) -> dict:
        self.process.stdin.write(f"submit {owner} {epochs}\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)


def test_a_training_runs_in_a_warm_ray_worker_and_stops_within_a_batch(ray_engine, store):
    started = time.monotonic()
    handle = submit(ray_engine, store, config=dataclasses.replace(LONG, batch_size=8))
    until(lambda: handle.snapshot().batch >= 1, "the first batch")
    TIMINGS["submit to first batch (warm)"] = first_batch = time.monotonic() - started
    worker = handle.worker()
    assert worker["pid"] != os.getpid()  # trained in a Ray worker, not here
    assert worker["cuda_visible_devices"] == ""  # a CPU training sees no GPU (ray#54868)
    assert tuple(worker["threads"]) == (1, 1)  # TensorFlow's threads follow its 1 CPU
    assert first_batch < FIRST_BATCH_GOAL * 3, f"first batch after {first_batch:.1f} s"
    until(lambda: handle.snapshot().batch >= 3, "three batches")
    asked = time.monotonic()
    handle.stop()
    until(lambda: handle.snapshot().phase != "training", "fit to end")
    TIMINGS["stop to the end of fit"] = time.monotonic() - asked
    ended(handle)  # then the test set evaluated and the run saved
    TIMINGS["stop to ended (evaluated, saved)"] = stopped = time.monotonic() - asked
    assert stopped < 10, f"stop took {stopped:.1f} s"
    progress = handle.snapshot()
    assert handle.status == "stopped" and progress.summary is not None
    assert progress.epoch == 1 and progress.batch < 113 // 2  # 900 digits / 8 = 113 batches
    assert handle.trained_model() is not None


def test_the_queue_is_first_come_first_served_across_app_servers(ray_engine, store, tmp_path):
    here = [submit(ray_engine, store, owner, config=LONG) for owner in ("fifo-1", "fifo-2")]
    until(lambda: ray_engine.running_count() == 2, "both trainers busy")
    other = AppServer(ray_engine.settings, tmp_path)
    try:
        assert other.submit("fifo-3", 50)["position"] == 1
        here.append(submit(ray_engine, store, "fifo-4", config=LONG))
        assert other.submit("fifo-5", 50)["position"] == 3
    finally:
        other.kill()  # that app server is gone; what it queued stays queued
    assert here[2].snapshot().queue_position == 2 and ray_engine.queued_count() == 3
    third, fifth = ray_engine.active_job("fifo-3"), ray_engine.active_job("fifo-5")
    assert (third.snapshot().queue_position, fifth.snapshot().queue_position) == (1, 3)
    here[0].stop()
    until(lambda: third.status == "running", "the first queued to start")
    assert here[2].status == "queued" and here[2].snapshot().queue_position == 1
    here[1].stop()
    until(lambda: here[2].status == "running", "the second queued to start")
    assert fifth.snapshot().queue_position == 1
    for handle in (third, here[2], fifth):
        handle.stop()
    for handle in (*here, third, fifth):
        ended(handle)
    assert fifth.status == "stopped" and fifth.snapshot().message.key == "train.cancelled"
    assert ray_engine.running_count() == 0 and ray_engine.queued_count() == 0


def test_a_training_outlives_the_app_server_that_submitted_it(ray_engine, tmp_path):
    other = AppServer(ray_engine.settings, tmp_path)
    run_dir = other.submit("carol", 1)["run_dir"]
    other.kill()
    handle = ray_engine.active_job("carol")
    assert handle is not None and handle.run_dir == run_dir
    assert ended(handle).status == "finished", handle.snapshot().message
    (record,) = RunStore(tmp_path).list_runs("carol", training=[])
    assert record.status == "finished" and record.has_model and record.epochs == 1


def test_a_trainer_that_dies_loses_only_the_unsaved_epoch(ray_engine, store):
    handle = submit(ray_engine, store, "bob", config=LONG)
    until(lambda: handle.snapshot().epoch >= 2, "a saved epoch")  # epoch 1 is in model.keras
    os.kill(handle.worker()["pid"], signal.SIGKILL)
    ended(handle)
    progress = handle.snapshot()
    assert progress.status == "failed" and progress.message.key == "train.worker_lost"
    assert progress.epoch >= 1 and progress.history["loss"]  # read back from the run folder
    (record,) = store.list_runs("bob", training=[])
    assert record.status == "interrupted" and record.has_model and record.epochs >= 1
    more = dataclasses.replace(CONFIG, epochs=1)
    resumed = ended(
        ray_engine.submit(TrainingRequest("bob", handle.run_dir, "x", more, resume=True))
    )
    assert resumed.status == "finished", resumed.snapshot().message
    assert resumed.snapshot().initial_epoch == record.epochs
    (record,) = store.list_runs("bob", training=[])
    assert record.status == "finished" and record.epochs == progress.epoch + 1


def kill_the_queue(engine) -> None:
    """SIGKILL the queue actor's process; Ray restarts it, and a call made meanwhile waits."""
    killed = engine.call(engine.queue.process.remote())
    os.kill(killed, signal.SIGKILL)
    assert engine.call(engine.queue.process.remote(), timeout=TIMEOUT) != killed


def test_a_queue_that_ray_restarts_loses_nothing(ray_engine, store):
    small = PRESETS["mlp_sgd"].spec  # the second waiting one trains a network of its own
    first = submit(ray_engine, store, "fifo-1", config=dataclasses.replace(CONFIG, epochs=4))
    second = submit(ray_engine, store, "fifo-2", config=LONG)
    until(lambda: first.status == second.status == "running", "both trainers busy")
    trainers = {h.owner: h.worker()["pid"] for h in (first, second)}
    waiting = [
        submit(ray_engine, store, "fifo-3"),
        ray_engine.submit(
            TrainingRequest(
                "fifo-4", str(store.new_run_dir("fifo-4")), "x", CONFIG, small.to_dict()
            )
        ),
        submit(ray_engine, store, "fifo-5"),
    ]
    assert [h.snapshot().queue_position for h in waiting] == [1, 2, 3]

    kill_the_queue(ray_engine)  # Ray restarts it; it reads its journal back

    assert ray_engine.queued_count() == 3
    assert [h.snapshot().queue_position for h in waiting] == [1, 2, 3]
    assert ray_engine.active_job("fifo-4").job_id == waiting[1].job_id
    assert second.status == "running" and second.worker()["pid"] == trainers["fifo-2"]
    assert ray_engine.active_job("fifo-2").job_id == second.job_id
    with pytest.raises(OwnerBusyError):  # one training per owner, still
        submit(ray_engine, store, "fifo-3")
    retried = ray_engine.queue.submit.remote(waiting[1].job_id, waiting[1].request)
    assert ray_engine.call(retried) == 2  # a submit Ray retries after a restart is not doubled
    waiting[2].stop()  # a waiting one is cancelled
    assert ended(waiting[2]).status == "stopped"
    assert waiting[2].snapshot().message.key == "train.cancelled"
    assert [h.snapshot().queue_position for h in waiting[:2]] == [1, 2]

    assert ended(first).status == "finished", first.snapshot().message
    assert first.snapshot().epoch == 4
    until(lambda: waiting[0].status != "queued", "the first waiting one to start")
    assert waiting[1].snapshot().queue_position == 1
    second.stop()  # a training running since before the restart stops
    assert ended(second).status == "stopped" and second.snapshot().summary is not None
    for handle, spec in zip(waiting[:2], (SPEC, small), strict=True):
        assert ended(handle).status == "finished", handle.snapshot().message
        (record,) = store.list_runs(handle.owner, training=[])
        assert str(record.path) == handle.run_dir and record.spec == spec.to_dict()
        assert record.status == "finished" and record.has_model and record.epochs == 1
        model = handle.trained_model()
        assert model.count_params() == build_model(spec).count_params()
    assert ray_engine.running_count() == 0 and ray_engine.queued_count() == 0
    assert ray_engine.active_job("fifo-3") is None

    kill_the_queue(ray_engine)  # what ended before a restart is still known after it
    again = {h.owner: RayHandle(ray_engine, h.job_id, h.request) for h in (first, waiting[2])}
    assert again["fifo-1"].status == "finished" and again["fifo-5"].status == "stopped"
    assert again["fifo-5"].snapshot().message.key == "train.cancelled"
    handle = ended(submit(ray_engine, store, "fifo-1"))
    assert handle.status == "finished", handle.snapshot().message


def test_no_owner_reaches_another_owners_training(ray_engine, store):
    alice = submit(ray_engine, store, "alice", config=LONG)
    until(lambda: alice.status == "running", "alice's training to start")
    assert ray_engine.active_job("mallory") is None
    for forged in ("../alice", "ALICE", "alice/..", ""):
        with pytest.raises(InvalidIdError):
            ray_engine.active_job(forged)
    mallory = submit(ray_engine, store, "mallory", config=LONG)
    assert ray_engine.active_job("mallory").run_dir == mallory.run_dir
    assert ray_engine.active_job("mallory").job_id != alice.job_id
    mallory.stop()
    assert ended(mallory).status == "stopped"
    assert alice.status == "running"  # untouched by another owner's stop
    alice_run = Path(alice.run_dir)
    forged = TrainingRequest("mallory", str(alice_run), "x", CONFIG, resume=True)
    with pytest.raises(ValueError, match="saved no model"):  # not mallory's run to continue
        ray_engine.submit(forged)
    alice.stop()
    ended(alice)
    assert ray_engine.active_job("alice") is None


def test_a_network_that_cannot_be_built_is_refused_at_submit(ray_engine, store):
    spec = SPEC.to_dict()
    spec["layers"][-1]["units"] = 7  # 7 classes: not MNIST's 10
    request = TrainingRequest("alice", str(store.new_run_dir("alice")), "x", CONFIG, spec=spec)
    with pytest.raises(ValueError, match="10"):
        ray_engine.submit(request)
    assert ray_engine.active_job("alice") is None


def test_an_upload_that_cannot_train_ends_failed_in_words(ray_engine, store):
    import keras

    run_dir = store.new_run_dir("alice")
    seven = keras.Sequential([keras.Input((784,)), keras.layers.Dense(7, activation="softmax")])
    seven.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    seven.save(run_dir / "start.keras")  # a model the trainer loads, then finds wrong for MNIST
    request = TrainingRequest(
        "alice", str(run_dir), "x", CONFIG, model_path=str(run_dir / "start.keras")
    )
    handle = ended(ray_engine.submit(request))
    assert handle.status == "failed" and handle.trained_model() is None
    message = handle.snapshot().message
    assert message.key == "train.failed_with" and message.params["reason"].key == "train.bad_output"
