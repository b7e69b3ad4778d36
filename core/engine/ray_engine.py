"""The Ray engine: trainings in the warm workers of a Ray cluster that every app server shares.

The app server only connects (`ray.init(address=...)`; it never starts a cluster: one started
from a Streamlit script run dies with that run's thread, ray#45570) and talks to the queue actor
of core/engine/ray_worker.py. Nothing trains in its process; a handle is found again by owner
from any app server, and a training carries on when the app server that submitted it dies. The
trained model is read back from the run's model.keras in the runs store, a folder every app
server and Ray node reaches at the same path.

Settings (environment of the app server):
- DIGITLAB_RAY_ADDRESS: the head's GCS address, host:port (needs a raylet on this machine:
  `ray start --address=HEAD:6379 --num-cpus=0 --num-gpus=0`; with token auth, RAY_AUTH_MODE=token
  and the cluster's token in RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH).
- DIGITLAB_RAY_NAMESPACE: the Ray namespace of the queue and trainers (default "digitlab").
- DIGITLAB_RAY_TRAINING_CPUS: CPUs each training asks for (default 1); TensorFlow's threads follow.
- DIGITLAB_RAY_TRAINING_GPUS: GPUs each training asks for, a fraction allowed (default 0).
- DIGITLAB_RAY_TRAINERS: warm trainers, i.e. trainings at once (default: as many as the
  cluster's CPUs and GPUs hold). The first app server to reach the cluster sets up the pool.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from core.engine import RAY_ADDRESS_ENV, TrainingRequest
from core.engine.ended import progress_of_run
from core.engine.scheduler import OwnerBusyError
from core.i18n import MessageError, msg
from core.runs import MODEL_FILE, RunStore, check_id
from core.spec import NetworkSpec, validate
from core.training.config import TrainConfig
from core.training.progress import Progress, Status
from core.training.run_state import read_run_state

if TYPE_CHECKING:
    import keras

ROOT = Path(__file__).resolve().parents[2]  # the app's code: the same path on every Ray node
NAMESPACE_ENV = "DIGITLAB_RAY_NAMESPACE"
CPUS_ENV = "DIGITLAB_RAY_TRAINING_CPUS"
GPUS_ENV = "DIGITLAB_RAY_TRAINING_GPUS"
TRAINERS_ENV = "DIGITLAB_RAY_TRAINERS"
CONNECT_TIMEOUT = 5.0  # seconds for the head to accept a connection
CALL_TIMEOUT = 30.0  # seconds any call to the queue or a trainer may take
WAIT_CHUNK = 30.0  # seconds one wait call blocks in the queue actor


@dataclass(frozen=True)
class RaySettings:
    """How this app server reaches the cluster and what each training asks of it."""

    address: str  # the head's GCS address, host:port
    namespace: str = "digitlab"  # Ray namespace of the queue and the trainers
    cpus: float = 1.0  # CPUs per training
    gpus: float = 0.0  # GPUs per training (0.5: two trainings share one)
    trainers: int | None = None  # warm trainers; None: as many as the cluster holds

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> RaySettings:
        """The settings from DIGITLAB_RAY_* (see the module's docstring)."""
        address = environ.get(RAY_ADDRESS_ENV, "").strip()
        if not address:
            raise ValueError(f"{RAY_ADDRESS_ENV} is not set.")
        trainers = environ.get(TRAINERS_ENV, "").strip()
        return cls(
            address=address,
            namespace=environ.get(NAMESPACE_ENV, "").strip() or "digitlab",
            cpus=float(environ.get(CPUS_ENV, "") or 1),
            gpus=float(environ.get(GPUS_ENV, "") or 0),
            trainers=int(trainers) if trainers else None,
        )


def connect(settings: RaySettings) -> None:
    """Join the cluster as a driver (once per process); never starts one. ConnectionError, at
    once, if nothing listens at the address (ray.init would retry for minutes)."""
    host, _, port = settings.address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except (OSError, ValueError) as exc:
        raise ConnectionError(f"No Ray cluster answers at {settings.address}: {exc}") from exc
    if host in ("127.0.0.1", "localhost"):
        # A loopback head (the try-out, the tests): otherwise Ray swaps 127.0.0.1 for the
        # machine's address, where a loopback-only head does not listen. Read when ray imports.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    if not ray.is_initialized():
        ray.init(address=settings.address, namespace=settings.namespace, log_to_driver=False)


class RayEngine:
    """TrainingEngine over the cluster's queue actor (created by the first app server)."""

    kind = "ray"

    def __init__(self, settings: RaySettings | None = None) -> None:
        self.settings = settings or RaySettings.from_env()
        connect(self.settings)  # before anything imports ray
        import ray

        from core.engine.ray_worker import QUEUE_NAME, PoolSettings, TrainingQueue

        self._ray = ray
        env = {"PYTHONPATH": str(ROOT)}
        pool = PoolSettings(
            trainers=self.settings.trainers or self._trainers_that_fit(),
            cpus=self.settings.cpus,
            gpus=self.settings.gpus,
            env=env,
        )
        self.queue = TrainingQueue.options(
            name=QUEUE_NAME,
            namespace=self.settings.namespace,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=0,
            max_restarts=-1,  # its process dies: Ray restarts it, it reads its journal back
            max_task_retries=-1,  # and the calls it was answering go to it again
            runtime_env={"env_vars": env},
        ).remote(pool, self.settings.namespace)
        self.pool: dict[str, Any] = self.call(self.queue.start.remote())  # the first server's
        asked = {"cpus": pool.cpus, "gpus": pool.gpus}
        if {k: self.pool[k] for k in asked} != asked:
            logging.getLogger(__name__).warning(
                "The cluster's trainers were set up with %s CPUs and %s GPUs each by the first app "
                "server; this one's settings (%s) do not apply.",
                self.pool["cpus"],
                self.pool["gpus"],
                asked,
            )

    def call(self, ref: Any, timeout: float = CALL_TIMEOUT) -> Any:
        """The result of a call to the queue or a trainer."""
        return self._ray.get(ref, timeout=timeout)

    def submit(self, request: TrainingRequest) -> RayHandle:
        """Queue the training; OwnerBusyError if the owner has one, MessageError if it cannot
        train (settings, a network that cannot be built, a run with nothing to continue). An
        uploaded model that does not fit MNIST is only found out by the trainer: the handle then
        ends "failed", saying why."""
        check_id(request.owner, "owner token")
        request.config.check()
        if request.resume:
            _check_resumable(request)
        elif request.spec is not None:
            validate(NetworkSpec.from_dict(request.spec))  # SpecError, as the thread engine's
        elif request.model_path is None:
            raise ValueError("A training request needs a spec, a model_path or resume.")
        job_id = secrets.token_hex(16)
        if self.call(self.queue.submit.remote(job_id, request)) is None:
            raise OwnerBusyError("train.owner_busy")
        return RayHandle(self, job_id, request)

    def active_job(self, owner: str) -> RayHandle | None:
        """The owner's queued or running training, submitted from whichever app server."""
        found = self.call(self.queue.active.remote(check_id(owner, "owner token")))
        return None if found is None else RayHandle(self, *found)

    def running_count(self) -> int:
        """Trainings running now, on the whole cluster."""
        return self.call(self.queue.counts.remote())[0]

    def queued_count(self) -> int:
        """Trainings waiting for a trainer, from every app server."""
        return self.call(self.queue.counts.remote())[1]

    def trainer(self, name: str) -> Any:
        """A trainer actor by name."""
        return self._ray.get_actor(name, namespace=self.settings.namespace)

    def _trainers_that_fit(self) -> int:
        resources = self._ray.cluster_resources()
        fits = [int(resources.get("CPU", 0) // self.settings.cpus)] if self.settings.cpus else []
        if self.settings.gpus:
            fits.append(int(resources.get("GPU", 0) // self.settings.gpus))
        return max(1, min(fits, default=1))


class RayHandle:
    """A training queued or running on the cluster, as a page sees it (TrainingHandle)."""

    def __init__(self, engine: RayEngine, job_id: str, request: TrainingRequest) -> None:
        self.engine = engine
        self.job_id = job_id
        self.request = request
        self.owner: str = request.owner
        self.name: str = request.name
        self.run_dir: str = request.run_dir
        self.config: TrainConfig = request.config
        self._final: Progress | None = None
        self._model: keras.Model | None = None
        self._trainer: str | None = None  # once running: asked directly, the queue only at the end

    @property
    def status(self) -> Status:
        """queued, running, stopping, finished, stopped or failed."""
        return self.snapshot().status

    def snapshot(self) -> Progress:
        """Live progress, from the queue while waiting and from the trainer once it runs."""
        from core.engine.ray_worker import ended_progress, waiting

        if self._final is not None:
            return self._final
        if self._trainer is not None:
            progress = self._trainer_progress(self._trainer)
            if progress is not None and progress.active:
                return progress
        where = self.engine.call(self.engine.queue.where.remote(self.job_id))
        if where["state"] == "queued":
            return waiting(self.request, where["position"])
        self._trainer = where.get("trainer")
        progress = self._trainer_progress(self._trainer)
        if where["state"] == "running":
            return progress or waiting(self.request, None)
        if where.get("cancelled"):
            progress = ended_progress(self.request, "stopped", msg("train.cancelled"))
        elif progress is None or progress.active:  # the trainer's process died with it
            progress = self._from_run_folder()
        self._final = progress
        return progress

    def stop(self) -> None:
        """Stop after the current batch (a queued training is cancelled); the run is saved."""
        self.engine.call(self.engine.queue.stop.remote(self.job_id))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the training has ended; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            chunk = WAIT_CHUNK if deadline is None else max(0.0, deadline - time.monotonic())
            call = self.engine.queue.wait.remote(self.job_id, min(chunk, WAIT_CHUNK))
            if self.engine.call(call, timeout=WAIT_CHUNK + CALL_TIMEOUT):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def trained_model(self) -> keras.Model | None:
        """The model the training saved in its run folder once it has ended with one."""
        if self._model is None:
            progress = self.snapshot()
            path = Path(self.run_dir) / MODEL_FILE
            if progress.status in ("finished", "stopped") and progress.summary and path.exists():
                import keras

                self._model = keras.saving.load_model(path, safe_mode=True)
        return self._model

    def worker(self) -> dict[str, Any] | None:
        """The process training this job (pid, node, GPUs), or None unless it runs."""
        where = self.engine.call(self.engine.queue.where.remote(self.job_id))
        if where["state"] != "running" or not where.get("trainer"):
            return None
        return self.engine.call(self.engine.trainer(where["trainer"]).ready.remote())

    def _trainer_progress(self, name: str | None) -> Progress | None:
        if not name:
            return None
        try:
            progress = self.engine.call(self.engine.trainer(name).progress.remote(self.job_id))
        except Exception:  # the trainer is restarting, or gone
            return None
        if progress is None:
            return None
        return dataclasses.replace(progress, history=MappingProxyType(dict(progress.history)))

    def _from_run_folder(self) -> Progress:
        """What the run folder says of a training whose trainer died (it lists as interrupted)."""
        from core.engine.ray_worker import ended_progress

        run_dir = Path(self.run_dir)
        lost = msg("train.worker_lost")
        try:
            record = RunStore(run_dir.parent.parent).load_run(run_dir.parent.name, run_dir.name)
        except (FileNotFoundError, ValueError):
            return ended_progress(self.request, "failed", lost)
        return progress_of_run(record, "failed", lost)


def _check_resumable(request: TrainingRequest) -> None:
    """Refuse in words a run that saved no model, or that is another owner's."""
    try:
        state = read_run_state(Path(request.run_dir))
    except (FileNotFoundError, ValueError):
        raise MessageError("train.nothing_to_continue") from None
    if state.owner and state.owner != request.owner:
        raise MessageError("train.nothing_to_continue")
