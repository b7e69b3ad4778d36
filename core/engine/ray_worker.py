"""The Ray side of the Ray engine: one queue actor for the whole cluster and a pool of trainers.

Both are detached named actors in one namespace, so every app server finds the same ones and they
outlive the app server that made them. The queue (an async actor that trains nothing) hands out
trainers first come, first served, one training per owner; Ray's own scheduling of waiting work
is not FIFO. It journals its waiting list, the jobs its trainers run and the recently ended ones
in the GCS's key-value store (where Ray Serve's controller keeps its checkpoint too): when Ray
restarts its process it reads them back, so nothing waiting is lost, and it follows what its
trainers were running until each ends. Each trainer is a threaded actor that keeps TensorFlow,
Keras and MNIST loaded between trainings (a fresh worker took ~17 s to its first batch), runs one
training at a time with the same TrainingJob as the thread engine, and answers progress and stop
calls while `fit` runs. Imported only in processes that use Ray (an app server with
DIGITLAB_RAY_ADDRESS, a worker).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import ray
from ray.experimental import internal_kv

from core.engine import TrainingRequest
from core.i18n import MessageError, msg
from core.training.progress import Progress

if TYPE_CHECKING:
    from core.training.job import TrainingJob

QUEUE_NAME = "digitlab-queue"
TRAINER_PREFIX = "digitlab-trainer-"
ENDED_KEPT = 256  # ended jobs the queue remembers (their status), oldest forgotten first
SNAPSHOTS_KEPT = 8  # ended jobs a trainer keeps the last progress of
JOURNAL_KEY = "digitlab-queue-journal"  # the queue's state in the GCS's key-value store
FOLLOW_EVERY = 0.5  # seconds between looks at a job the queue found running after a restart


@dataclass(frozen=True)
class PoolSettings:
    """The trainer pool, fixed by the first app server that reaches the cluster."""

    trainers: int  # warm trainer actors, i.e. trainings at once
    cpus: float  # CPUs each trainer asks Ray for (TensorFlow's threads follow)
    gpus: float  # GPUs (or a fraction of one) each trainer asks for; 0: none
    env: dict[str, str]  # environment of the trainer processes (PYTHONPATH of the app's code)


def tensorflow_threads(cpus: float) -> tuple[int, int]:
    """TensorFlow's (intra-op, inter-op) thread counts for a worker given this many CPUs."""
    n = max(1, int(cpus))
    return n, min(n, 2)


def trainer_options(settings: PoolSettings, index: int, namespace: str) -> dict[str, Any]:
    """Ray options of trainer number index (detached, named, restarted if its process dies)."""
    env = dict(settings.env)
    if not settings.gpus:
        # A worker that asked for no GPU sees every GPU unless told otherwise (ray#54868).
        env["RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO"] = "1"
    return {
        "name": f"{TRAINER_PREFIX}{index}",
        "namespace": namespace,
        "lifetime": "detached",
        "get_if_exists": True,
        "num_cpus": settings.cpus,
        "num_gpus": settings.gpus,
        "max_concurrency": 4,  # train, progress and stop calls at once
        "max_restarts": -1,
        "runtime_env": {"env_vars": env},
    }


@dataclass
class _Entry:
    job_id: str
    request: TrainingRequest
    trainer: str | None = None  # set once dispatched

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form, for the journal."""
        return {"job_id": self.job_id, "request": self.request.to_dict(), "trainer": self.trainer}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Entry:
        """Inverse of to_dict."""
        return cls(data["job_id"], TrainingRequest.from_dict(data["request"]), data["trainer"])


@ray.remote
class TrainingQueue:
    """Hands trainers to trainings in the order they were submitted, one per owner."""

    def __init__(self, settings: PoolSettings, namespace: str) -> None:
        self.settings = settings
        self.namespace = namespace
        self.pending: deque[_Entry] = deque()
        self.running: dict[str, _Entry] = {}
        self.owners: dict[str, str] = {}  # owner -> job id, queued or running
        self.ended: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.idle: deque[str] = deque()
        self.trainers: dict[str, Any] = {}
        self.started = False
        self.tasks: set[asyncio.Task] = set()  # kept referenced until done

    async def start(self) -> dict[str, Any]:
        """Create (or find again) the trainer pool; idempotent. Returns the pool's settings.
        Every call starts with it: a queue that Ray restarted reads its journal back, follows
        the jobs its trainers were running and finds the idle trainers again."""
        if not self.started:
            self.started = True
            self._load()
            threads = tensorflow_threads(self.settings.cpus)
            for index in range(self.settings.trainers):
                options = trainer_options(self.settings, index, self.namespace)
                self.trainers[options["name"]] = Trainer.options(**options).remote(*threads)
            busy = {entry.trainer for entry in self.running.values()}
            for entry in self.running.values():
                self._spawn(self._follow(entry))
            for name in self.trainers.keys() - busy:
                self._spawn(self._join_pool(name))
        return dataclasses.asdict(self.settings)

    async def process(self) -> int:
        """The process id of this queue (the same machine's operators may look for it)."""
        return os.getpid()

    async def ready_count(self) -> int:
        """Trainers warm and free now."""
        await self.start()
        return len(self.idle)

    async def submit(self, job_id: str, request: TrainingRequest) -> int | None:
        """Queue a training; its place (0: starting now), or None if its owner has one.
        Asked again with the same job (Ray retries a call its restart cut off), its place."""
        await self.start()
        if self.owners.get(request.owner) == job_id:
            return self._position(job_id) or 0
        if request.owner in self.owners:
            return None
        self.owners[request.owner] = job_id
        self.pending.append(_Entry(job_id, request))
        self._dispatch()
        return self._position(job_id) or 0

    async def where(self, job_id: str) -> dict[str, Any]:
        """Where a job is: queued (with its place), running (on which trainer), ended or unknown."""
        await self.start()
        if job_id in self.running:
            return {"state": "running", "trainer": self.running[job_id].trainer}
        position = self._position(job_id)
        if position is not None:
            return {"state": "queued", "position": position}
        return self.ended.get(job_id, {"state": "unknown"})

    async def active(self, owner: str) -> tuple[str, TrainingRequest] | None:
        """The owner's queued or running job: (job id, request), or None."""
        await self.start()
        job_id = self.owners.get(owner)
        if job_id is None:
            return None
        entry = self.running.get(job_id) or next(e for e in self.pending if e.job_id == job_id)
        return job_id, entry.request

    async def wait(self, job_id: str, timeout: float) -> bool:
        """True once the job has ended (or is unknown), False after timeout seconds."""
        await self.start()
        deadline = time.monotonic() + timeout
        while job_id in self.running or self._position(job_id) is not None:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def counts(self) -> tuple[int, int]:
        """(running, queued)."""
        await self.start()
        return len(self.running), len(self.pending)

    async def stop(self, job_id: str) -> None:
        """Cancel a queued job, or ask its trainer to stop it after the current batch."""
        await self.start()
        for entry in self.pending:
            if entry.job_id == job_id:
                self.pending.remove(entry)
                self._end(entry, "stopped", cancelled=True)
                return
        entry = self.running.get(job_id)
        if entry is not None and entry.trainer is not None:
            await self.trainers[entry.trainer].stop.remote(job_id)

    def _position(self, job_id: str) -> int | None:
        for place, entry in enumerate(self.pending, start=1):
            if entry.job_id == job_id:
                return place
        return None

    def _dispatch(self) -> None:
        while self.pending and self.idle:
            entry = self.pending.popleft()
            entry.trainer = self.idle.popleft()
            self.running[entry.job_id] = entry
            ref = self.trainers[entry.trainer].train.remote(entry.job_id, entry.request)
            self._spawn(self._watch(entry, ref))
        self._save()

    async def _watch(self, entry: _Entry, ref: Any) -> None:
        try:
            status = await ref
        except Exception:  # the trainer's process died; Ray restarts it
            status = "failed"
        await self._finish(entry, status)

    async def _follow(self, entry: _Entry) -> None:
        """Watch a job its trainer was running when this queue restarted, until it ends."""
        status = "failed"  # the trainer died, or never got the job: it is lost
        while True:
            try:
                progress = await self.trainers[entry.trainer].progress.remote(entry.job_id)
            except Exception:
                break
            if progress is not None and not progress.active:
                status = progress.status
            if progress is None or not progress.active:
                break
            await asyncio.sleep(FOLLOW_EVERY)
        await self._finish(entry, status)

    async def _finish(self, entry: _Entry, status: str) -> None:
        self.running.pop(entry.job_id, None)
        self._end(entry, status)
        await self._join_pool(entry.trainer)

    def _end(self, entry: _Entry, status: str, cancelled: bool = False) -> None:
        if self.owners.get(entry.request.owner) == entry.job_id:
            del self.owners[entry.request.owner]
        record = {"state": "ended", "status": status, "trainer": entry.trainer}
        self.ended[entry.job_id] = record | {"cancelled": cancelled}
        while len(self.ended) > ENDED_KEPT:
            self.ended.popitem(last=False)
        self._save()

    def _save(self) -> None:
        """Journal the running jobs, the waiting list in its order and the ended jobs."""
        jobs = [entry.to_dict() for entry in (*self.running.values(), *self.pending)]
        journal = json.dumps({"jobs": jobs, "ended": list(self.ended.items())})
        internal_kv._internal_kv_put(JOURNAL_KEY, journal, namespace=self.namespace)

    def _load(self) -> None:
        """Read the journal back (after Ray restarted this queue's process)."""
        journal = internal_kv._internal_kv_get(JOURNAL_KEY, namespace=self.namespace)
        try:
            data = json.loads(journal) if journal else {"jobs": [], "ended": []}
            entries = [_Entry.from_dict(job) for job in data["jobs"]]
            ended = OrderedDict(data["ended"])
        except (ValueError, KeyError, TypeError):  # a journal this version cannot read
            logging.getLogger(__name__).exception("The queue's journal is unreadable; ignored.")
            return
        self.ended = ended
        for entry in entries:
            self.owners[entry.request.owner] = entry.job_id
            if entry.trainer is None:
                self.pending.append(entry)
            else:
                self.running[entry.job_id] = entry

    async def _join_pool(self, name: str) -> None:
        """Wait until the trainer is warm (after a restart, too) and free, then give it work."""
        while True:
            try:
                if (await self.trainers[name].ready.remote())["job"] is None:
                    break
            except Exception:  # restarting, or not placed yet: try again
                pass
            await asyncio.sleep(1.0)
        self.idle.append(name)
        self._dispatch()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


@ray.remote
class Trainer:
    """A warm training process: trains one job at a time, answers progress and stop meanwhile."""

    def __init__(self, intra_threads: int, inter_threads: int) -> None:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(intra_threads)
        tf.config.threading.set_inter_op_parallelism_threads(inter_threads)
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)  # trainers may share a GPU
        from core.data import load_mnist
        from core.engine.runner import job_for_request
        from core.engine.scheduler import TrainingScheduler

        self._job_for_request = job_for_request
        self.mnist = load_mnist()
        self.scheduler = TrainingScheduler(1)  # its worker thread trains: TF state is reused
        self.lock = threading.Lock()
        self.jobs: OrderedDict[str, TrainingJob | Progress] = OrderedDict()
        self.stop_asked: set[str] = set()
        self.current: str | None = None  # the job training now
        self.threads = (intra_threads, inter_threads)
        self._warm_up()

    def ready(self) -> dict[str, Any]:
        """Where this trainer runs (process, node, GPUs, TensorFlow's threads), and its job."""
        context = ray.get_runtime_context()
        return {
            "job": self.current,
            "pid": os.getpid(),
            "node": context.get_node_id(),
            "gpus": [str(g) for g in ray.get_gpu_ids()],
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "threads": self.threads,
        }

    def train(self, job_id: str, request: TrainingRequest) -> str:
        """Build the request's job here and train it; its end status."""
        with self.lock:
            self.jobs[job_id] = waiting(request, None)
            self.current = job_id
        try:
            return self._train(job_id, request)
        finally:
            with self.lock:
                self.current = None

    def _train(self, job_id: str, request: TrainingRequest) -> str:
        try:
            job = self._job_for_request(request, self.mnist)
        except Exception as exc:
            reason = (
                exc.message if isinstance(exc, MessageError) else f"{type(exc).__name__}: {exc}"
            )
            failed = ended_progress(request, "failed", msg("train.failed_with", reason=reason))
            self._keep(job_id, failed)
            return "failed"
        with self.lock:
            self.jobs[job_id] = job
            stop = job_id in self.stop_asked
        if stop:
            job.stop()
        self.scheduler.submit(job)
        job.wait()
        self._keep(job_id, job.snapshot())
        return job.snapshot().status

    def progress(self, job_id: str) -> Progress | None:
        """The job's progress now (history as a plain dict), or None if this trainer has none."""
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            return None
        snapshot = job if isinstance(job, Progress) else job.snapshot()
        return dataclasses.replace(snapshot, history=dict(snapshot.history))

    def stop(self, job_id: str) -> None:
        """Stop the job after its current batch."""
        with self.lock:
            job = self.jobs.get(job_id)
            self.stop_asked.add(job_id)
        if job is not None and not isinstance(job, Progress):
            job.stop()

    def _keep(self, job_id: str, progress: Progress) -> None:
        with self.lock:
            self.jobs[job_id] = progress  # the model goes; its run folder has it
            self.jobs.move_to_end(job_id)
            self.stop_asked.discard(job_id)
            while len(self.jobs) > SNAPSHOTS_KEPT:
                self.jobs.popitem(last=False)

    def _warm_up(self) -> None:
        """Train a tiny model once: Keras's first fit pays for imports and tracing machinery."""
        import tempfile

        from core.engine import TrainingRequest as Request
        from core.presets import PRESETS
        from core.training.config import TrainConfig

        config = TrainConfig(epochs=1, batch_size=32, subset_size=64, validation="none")
        with tempfile.TemporaryDirectory(prefix="digitlab-warm-") as folder:
            spec = PRESETS["mlp_dropout"].spec.to_dict()
            job = self._job_for_request(
                Request("warm-up", folder, "warm", config, spec), self.mnist
            )
            self.scheduler.submit(job)
            job.wait()


def waiting(request: TrainingRequest, position: int | None) -> Progress:
    """The progress of a training not training yet (queued, or being prepared by its trainer)."""
    return Progress(
        status="queued" if position else "running",
        queue_position=position or None,
        message="",
        phase="waiting" if position else "preparing",
        epoch=0,
        epochs=request.config.epochs,
        initial_epoch=0,
        batch=0,
        batches_per_epoch=request.config.batches_per_epoch(),
        samples_seen=0,
        samples_per_second=None,
        seconds_elapsed=0.0,
        seconds_left=None,
        learning_rate=None,
        history=MappingProxyType({}),
        batch_losses=(),
        summary=None,
        run_dir=request.run_dir,
    )


def ended_progress(request: TrainingRequest, status: str, message: Any) -> Progress:
    """The progress of a training that ended without a trainer to tell it (cancelled, or lost)."""
    return dataclasses.replace(waiting(request, None), status=status, message=message, phase="done")
