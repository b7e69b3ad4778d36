"""The training queue is fair: first come, first served, positions as learners see them."""

from __future__ import annotations

import threading

import pytest

from core.engine.scheduler import OwnerBusyError, TrainingScheduler


class FakeJob:
    """Just what the scheduler touches of a TrainingJob; started jobs are recorded."""

    def __init__(self, owner: str, started: list[str]) -> None:
        self.owner = owner
        self.model = object()
        self.status = "queued"
        self.started = started

    def _attach(self, position, on_done, cancel) -> None:
        self.position, self.on_done, self.cancel = position, on_done, cancel

    def _start(self, submit) -> None:
        self.status = "running"
        self.started.append(self.owner)

    def _cancel(self) -> None:
        self.status = "stopped"

    def finish(self) -> None:
        self.status = "finished"
        self.on_done(self)


def test_first_come_first_served_with_positions():
    started: list[str] = []
    scheduler = TrainingScheduler(max_concurrent=2)
    jobs = [FakeJob(f"learner{i}", started) for i in range(6)]
    for job in jobs:
        scheduler.submit(job)
    assert started == ["learner0", "learner1"]
    assert [job.position(job) for job in jobs] == [None, None, 1, 2, 3, 4]
    jobs[1].finish()  # a slot frees: the longest-waiting job takes it, not a later one
    assert started == ["learner0", "learner1", "learner2"]
    assert [job.position(job) for job in jobs[3:]] == [1, 2, 3]
    jobs[4].cancel(jobs[4])  # a learner leaves the queue: the ones behind move up
    assert jobs[4].status == "stopped" and jobs[5].position(jobs[5]) == 2
    jobs[0].finish()
    jobs[2].finish()
    assert started == ["learner0", "learner1", "learner2", "learner3", "learner5"]
    assert scheduler.running_count() == 2 and scheduler.queued_count() == 0


def test_one_owner_cannot_jump_the_queue_with_a_second_job():
    started: list[str] = []
    scheduler = TrainingScheduler(max_concurrent=1)
    scheduler.submit(FakeJob("alice", started))
    scheduler.submit(FakeJob("bob", started))
    with pytest.raises(OwnerBusyError) as refused:
        scheduler.submit(FakeJob("bob", started))
    assert "이미 진행 중인 학습" in refused.value.message.render("ko")
    assert scheduler.active_job("bob").position(scheduler.active_job("bob")) == 1
    assert scheduler.active_job("carol") is None


class ThreadJob(FakeJob):
    """Runs in the thread the scheduler hands it, records which, and ends at once."""

    def _start(self, submit) -> None:
        self.status = "running"
        self.done = threading.Event()
        submit(self.run)

    def run(self) -> None:
        self.thread = threading.current_thread()
        self.finish()
        self.done.set()


def test_jobs_run_in_the_same_few_threads():
    # TensorFlow keeps state for every thread that ran an op: new threads per job would pile up.
    scheduler = TrainingScheduler(max_concurrent=2)
    threads = set()
    for i in range(6):
        job = ThreadJob(f"learner{i}", [])
        scheduler.submit(job)
        assert job.done.wait(10)
        threads.add(job.thread)
    assert len(threads) <= 2 and all(t.daemon and t is not threading.main_thread() for t in threads)
