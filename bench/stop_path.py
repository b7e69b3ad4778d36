"""Stop to the end of a training, step by step (bench/scale_out's Stop figure, taken apart).

Trains the default preset on 10,000 digits on one engine and presses Stop, TRIALS times in the
middle of an epoch and TRIALS times in an epoch's end (its validation on the 10,000 test digits,
its snapshot and its saved model), each in a fresh training. The handle is polled every POLL s
from the moment Stop is pressed: when stop() returns (on Ray: the trainer actor has the flag), when
the count of digits seen stops at its final value (the last batch has ended: what scale_out times),
each phase after fit (evaluating, saving) and when the status reads stopped (the page then shows
"Training stopped"). One batch is the batch size over the rate the handle showed before Stop.

Run from the repository root, on an otherwise idle machine:
.venv/bin/python -m bench.stop_path [--engine threads|ray] [--trials 4]
With --engine ray it starts its own Ray head (scripts/ray_cluster.sh, 2 CPUs, 2 warm trainers).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.class_load import percentile
from core.engine import TrainingEngine, TrainingRequest
from core.presets import PRESETS
from core.runs import RunStore
from core.training.config import TrainConfig

POLL = 0.02  # seconds between snapshots after Stop
SUBSET = 10_000  # digits, as scale_out's learners train
EPOCHS = 3
MID_EPOCH_AFTER = 1.0  # seconds of batches before a mid-epoch Stop


@dataclass
class Trial:
    """One Stop, seconds from pressing it."""

    where: str  # "mid-epoch" or "epoch end"
    one_batch: float
    call: float = 0.0  # stop() returned
    last_batch: float = 0.0  # the first snapshot with the final count of digits seen
    batches_after: int = 0  # batches trained after Stop was pressed
    phases: dict[str, float] = field(default_factory=dict)  # first snapshot in each phase
    ended: float = 0.0  # the first snapshot whose status is no longer active


def request(store: RunStore, owner: str) -> TrainingRequest:
    """The default preset as a learner trains it in scale_out: 10,000 digits."""
    preset = PRESETS["default"]
    config = TrainConfig(
        epochs=EPOCHS,
        batch_size=preset.batch_size,
        subset_size=SUBSET,
        lr_schedule=preset.lr_schedule,
        validation=preset.validation,
    )
    run_dir = store.new_run_dir(owner)
    return TrainingRequest(owner, str(run_dir), "stop-path", config, preset.spec.to_dict())


def one_trial(engine: TrainingEngine, store: RunStore, where: str, index: int) -> Trial:
    """Train, wait for the moment to stop, stop, and time the way to the end."""
    handle = engine.submit(request(store, f"stop-{where.replace(' ', '-')}-{index}"))
    started: float | None = None
    while True:
        p = handle.snapshot()
        if not p.active:
            raise RuntimeError(f"the training ended before Stop: {p.status} {p.message}")
        if p.phase == "training" and p.batch:
            started = started or time.perf_counter()
            in_epoch_end = p.epoch == 1 and p.batch == p.batches_per_epoch
            if (where == "epoch end" and in_epoch_end) or (
                where == "mid-epoch"
                and time.perf_counter() - started >= MID_EPOCH_AFTER
                and p.batch < p.batches_per_epoch - 5
            ):
                break
        time.sleep(POLL / 2)
    trial = Trial(where, handle.config.batch_size / (p.samples_per_second or float("nan")))
    seen_at_stop = p.samples_seen
    t0 = time.perf_counter()
    handle.stop()
    trial.call = time.perf_counter() - t0
    polls: list[tuple[float, int, str, bool]] = []
    while True:
        p = handle.snapshot()
        polls.append((time.perf_counter() - t0, p.samples_seen, p.phase, p.active))
        if not p.active:
            break
        time.sleep(POLL)
    final = polls[-1][1]
    trial.last_batch = next(t for t, seen, _, _ in polls if seen == final)
    trial.batches_after = round((final - seen_at_stop) / handle.config.batch_size)
    for t, _, phase, _ in polls:
        trial.phases.setdefault(phase, t)
    trial.ended = polls[-1][0]
    if handle.status != "stopped":
        raise RuntimeError(f"Stop ended the training as {handle.status}")
    handle.wait(60)  # its trainer free again
    return trial


def report(trials: list[Trial]) -> list[str]:
    lines = []
    for where in ("mid-epoch", "epoch end"):
        group = [t for t in trials if t.where == where]
        if not group:
            continue
        for t in group:
            phases = ", ".join(f"{k} {v:.2f}" for k, v in t.phases.items())
            lines.append(
                f"  {where}: one batch {t.one_batch:.3f} s; stop() {t.call:.3f} s; last batch "
                f"{t.last_batch:.2f} s ({t.batches_after} batches after Stop); stopped "
                f"{t.ended:.2f} s; phases: {phases}"
            )
        over = [t.last_batch - t.one_batch for t in group]
        ended = [t.ended for t in group]
        lines.append(
            f"{where}: {len(group)} stops; last batch beyond one batch p95 "
            f"{percentile(over, 0.95):.2f} s; Training stopped p50 "
            f"{percentile(ended, 0.5):.2f} s, p95 {percentile(ended, 0.95):.2f} s"
        )
    return lines


def threads_engine() -> TrainingEngine:
    from core.data import load_mnist
    from core.engine.threads import ThreadEngine

    mnist = load_mnist()
    return ThreadEngine(lambda: mnist, max_concurrent=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("threads", "ray"), default="threads")
    parser.add_argument("--trials", type=int, default=4)
    args = parser.parse_args()
    store_dir = Path(tempfile.mkdtemp(prefix="stop-path-"))
    store = RunStore(store_dir)
    ray_state: Path | None = None
    env: dict[str, str] = {}
    try:
        if args.engine == "ray":
            from tests.ray_cluster import SCRIPT, _free_port, client_env, cluster_env

            ray_state = Path(tempfile.mkdtemp(prefix="sp-ray-", dir="/tmp"))
            port = _free_port()
            env = cluster_env(ray_state, port)
            subprocess.run(["bash", str(SCRIPT), "start"], env=env, check=True)
            os.environ.update(client_env(ray_state))
            from core.engine.ray_engine import RayEngine, RaySettings

            engine: TrainingEngine = RayEngine(
                RaySettings(address=f"127.0.0.1:{port}", namespace="stop-path", trainers=2)
            )
            while engine.call(engine.queue.ready_count.remote()) < 2:
                time.sleep(0.5)
        else:
            engine = threads_engine()
        engine.submit(request(store, "warm")).wait()  # the step traced once, as on a warm server
        trials = []
        for index in range(args.trials):
            for where in ("mid-epoch", "epoch end"):
                trials.append(one_trial(engine, store, where, index))
                print(report(trials[-1:])[0], flush=True)
        print(f"engine {args.engine}:")
        for line in report(trials):
            print(line)
    finally:
        if ray_state is not None:
            import ray

            ray.shutdown()
            from tests.ray_cluster import SCRIPT

            subprocess.run(["bash", str(SCRIPT), "stop"], env=env, check=False)
            shutil.rmtree(ray_state, ignore_errors=True)
        shutil.rmtree(store_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
