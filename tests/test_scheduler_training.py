"""The training queue with real training jobs: FIFO, positions, at most N inside fit at once."""

from __future__ import annotations

import threading
from pathlib import Path

import keras
import pytest

from core.build import build_model
from core.engine.scheduler import TrainingScheduler
from core.presets import PRESETS
from core.training import TrainConfig, TrainingJob

TIMEOUT = 120  # seconds; a hanging job fails the test instead of blocking the suite


class Tracker:
    """Counts jobs inside model.fit at once and records the order in which they start."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.started: list[str] = []

    def callback(self, owner: str, gate: threading.Event | None = None) -> keras.callbacks.Callback:
        tracker = self

        class Track(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                with tracker.lock:
                    tracker.now += 1
                    tracker.most = max(tracker.most, tracker.now)
                    tracker.started.append(owner)
                if gate is not None:
                    assert gate.wait(TIMEOUT), "the test never opened the gate"

            def on_train_end(self, logs=None):
                with tracker.lock:
                    tracker.now -= 1

        return Track()


def tiny_model() -> keras.Model:
    model = keras.Sequential(
        [keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax", name="output")]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def job_for(store, mnist, owner: str, callback: keras.callbacks.Callback) -> TrainingJob:
    config = TrainConfig(epochs=1, batch_size=64, subset_size=256, validation="none")
    return TrainingJob(
        tiny_model(), config, mnist, store.new_run_dir(owner), {}, "tiny", owner, [callback]
    )


@pytest.fixture
def dispatched(monkeypatch) -> list[str]:
    """The owners of jobs in the order the scheduler starts them (a spy on the real start)."""
    order: list[str] = []
    start = TrainingJob._start

    def spy(job: TrainingJob, submit) -> None:
        order.append(job.owner)
        start(job, submit)

    monkeypatch.setattr(TrainingJob, "_start", spy)
    return order


def positions(jobs: list[TrainingJob]) -> list[int | None]:
    return [job.snapshot().queue_position for job in jobs]


def test_first_come_first_served_with_positions_and_at_most_n_at_once(store, mnist, dispatched):
    scheduler, tracker = TrainingScheduler(max_concurrent=2), Tracker()
    owners = [f"learner-{i}" for i in range(6)]
    gates = {owner: threading.Event() for owner in owners}
    jobs = [job_for(store, mnist, o, tracker.callback(o, gates[o])) for o in owners]
    for job in jobs:
        scheduler.submit(job)
    assert [job.status for job in jobs] == ["running"] * 2 + ["queued"] * 4
    assert positions(jobs) == [None, None, 1, 2, 3, 4]
    assert scheduler.running_count() == 2 and scheduler.queued_count() == 4

    gates["learner-1"].set()  # the second one ends first: the next in the queue takes its slot
    assert jobs[1].wait(TIMEOUT)
    assert jobs[2].status == "running" and positions(jobs[3:]) == [1, 2, 3]
    jobs[4].stop()  # a learner gives up while waiting: the ones behind move up
    assert jobs[4].wait(5) and jobs[4].status == "stopped"
    assert positions(jobs[3:]) == [1, None, 2]
    for gate in gates.values():
        gate.set()
    assert all(job.wait(TIMEOUT) for job in jobs)
    assert dispatched == [o for o in owners if o != "learner-4"]
    assert sorted(tracker.started) == dispatched  # each of them really trained
    assert tracker.most <= 2 and scheduler.running_count() == scheduler.queued_count() == 0
    assert [job.status for job in jobs] == ["finished"] * 4 + ["stopped", "finished"]


def test_thirty_learners_pressing_train_at_once_are_served_in_queue_order(store, mnist, dispatched):
    scheduler, tracker = TrainingScheduler(max_concurrent=2), Tracker()
    hold = threading.Event()
    # Two trainings hold both slots, so that every one of the thirty has to queue.
    blockers = [job_for(store, mnist, f"first-{i}", tracker.callback(f"first-{i}", hold)) for i in range(2)]  # fmt: skip
    for job in blockers:
        scheduler.submit(job)
    owners = [f"learner-{i:02d}" for i in range(30)]
    jobs = {o: job_for(store, mnist, o, tracker.callback(o)) for o in owners}
    go = threading.Barrier(len(owners))
    errors: list[BaseException] = []

    def press_train(owner: str) -> None:
        try:
            go.wait(TIMEOUT)
            scheduler.submit(jobs[owner])
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=press_train, args=(o,)) for o in owners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not errors, errors
    queued_at = {o: jobs[o].snapshot().queue_position for o in owners}
    assert sorted(queued_at.values()) == list(range(1, 31))  # each learner has its own place
    assert scheduler.running_count() == 2 and scheduler.queued_count() == 30

    in_queue_order = sorted(owners, key=queued_at.__getitem__)
    hold.set()
    # The first six in the queue train; then the rest give up (training all 30 adds nothing).
    assert all(jobs[o].wait(TIMEOUT) for o in in_queue_order[:6])
    for owner in reversed(in_queue_order):
        jobs[owner].stop()
    assert all(job.wait(TIMEOUT) for job in [*blockers, *jobs.values()])
    served = [o for o in dispatched if o.startswith("learner-")]
    assert len(served) >= 6 and served == in_queue_order[: len(served)]
    assert tracker.most <= 2
    assert all(jobs[o].status == "finished" for o in in_queue_order[:6])
    assert scheduler.running_count() == scheduler.queued_count() == 0


def test_one_learner_cannot_jump_the_queue_with_a_second_training(store, mnist):
    scheduler, tracker = TrainingScheduler(max_concurrent=1), Tracker()
    gate = threading.Event()
    running = job_for(store, mnist, "alice", tracker.callback("alice", gate))
    waiting = job_for(store, mnist, "bob", tracker.callback("bob"))
    scheduler.submit(running)
    scheduler.submit(waiting)
    with pytest.raises(Exception, match="already have a training"):
        scheduler.submit(job_for(store, mnist, "bob", tracker.callback("bob-again")))
    assert positions([waiting]) == [1] and scheduler.queued_count() == 1
    gate.set()
    assert running.wait(TIMEOUT) and waiting.wait(TIMEOUT)
    assert tracker.started == ["alice", "bob"]


def test_training_threads_yield_the_cpu_to_page_views(store, mnist):
    """The worker and TensorFlow's pools train at a lower priority; the page's thread does not."""
    import os

    from core.priority import TRAINING_NICENESS, tensorflow_thread_ids

    def niceness(thread_id: int) -> int:
        return os.getpriority(os.PRIO_PROCESS, thread_id)

    page_thread = threading.get_native_id()
    before = niceness(page_thread)
    seen: dict[str, list[int]] = {}

    def cpu_by_niceness() -> dict[int, float]:
        """CPU seconds so far of every thread of this process but the page's, by niceness."""
        seconds: dict[int, float] = {}
        for task in Path("/proc/self/task").iterdir():
            if int(task.name) == page_thread:
                continue
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            nice, ticks = int(fields[16]), int(fields[11]) + int(fields[12])
            seconds[nice] = seconds.get(nice, 0.0) + ticks / os.sysconf("SC_CLK_TCK")
        return seconds

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen["cpu_at_epoch_begin"] = cpu_by_niceness()

        def on_train_batch_end(self, batch, logs=None):
            seen["worker"] = [niceness(threading.get_native_id())]
            seen["tensorflow"] = [niceness(t) for t in tensorflow_thread_ids()]

        def on_epoch_end(self, epoch, logs=None):
            seen["cpu_at_epoch_end"] = cpu_by_niceness()

    # A convolutional network on 4,000 digits: an epoch long enough to see where its CPU went.
    preset = PRESETS["default"]
    config = TrainConfig(epochs=1, batch_size=128, subset_size=4_000, validation="none")
    job = TrainingJob(
        build_model(preset.spec), config, mnist, store.new_run_dir("a"), {}, "d", "a", [Record()]
    )
    TrainingScheduler(max_concurrent=1).submit(job)
    assert job.wait(TIMEOUT)
    assert job.status == "finished"
    assert seen["tensorflow"], "no TensorFlow threads found"
    assert min(seen["worker"] + seen["tensorflow"]) >= max(before, TRAINING_NICENESS)
    assert niceness(page_thread) == before
    # The threads that did the epoch's work were the reniced ones (TensorFlow's unnamed
    # intra-op pool had kept the default priority and done most of it).
    begin, end = seen["cpu_at_epoch_begin"], seen["cpu_at_epoch_end"]
    spent = {nice: end[nice] - begin.get(nice, 0.0) for nice in end}
    low = sum(s for nice, s in spent.items() if nice >= TRAINING_NICENESS)
    assert low >= 0.9 * sum(spent.values()), spent
