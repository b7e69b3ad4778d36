"""Faults: an app server killed while its learners train, on Ray and on the plain single server.

On the try-out (scripts/tryout.sh: a Ray head with 2 CPUs, two app servers, HAProxy), three rounds:
LEARNERS learners connect through the balancer (it alternates them over both servers), build the
default preset and train it (10,000 digits, 2 epochs; with 2 trainers some wait in the queue);
once every page shows its training (a batch, or its place in the queue), the app server that half
of them are on is killed with SIGKILL. Those learners reconnect through the balancer, as
Streamlit's page does, with the same address (?session=...) and open Train. Each round kills the
other server and starts the one killed before again (tryout.sh revive). Then once on the plain
single server (threads, run.sh): a learner trains 3 epochs; after its first epoch is saved the
server is killed with SIGKILL and started again on the same runs folder; the learner's Runs page
must list the run as interrupted after its saved epoch, and Continue must train it to the end.

A training is lost unless it ends "Training finished" on its learner's page with its own model
(its run folder holds its finished run, model.keras, the accuracy shown) and its Runs page on the
surviving server lists it. Also checked: each reconnected learner sees its live training again
within 10 s of its connection breaking (printed, with the time from the kill in brackets: the
connection breaks when the learner next talks to the server, within a second); no page names
another learner or shows an exception.

Run from the repository root, with Ray installed: .venv/bin/python -m bench.replica_fault
[--rounds 3] [--learners 4]. Exit code 0 only if nothing was lost and every check held; the last
line prints `lost N of M trainings`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import websockets

from bench.class_load import CheckFailed, Learner, RunResult, build, check_run_folder
from bench.scale_out import TRYOUT, connect, progress_text, tryout_settings
from tests.browser.conftest import free_port, start_app, wait_healthy

BACK_WITHIN = 10.0  # seconds from a broken connection to the live training on the page again
TRAIN_TIMEOUT = 600.0  # seconds one training (queue included) may take
RECONNECT_TIMEOUT = 30.0  # seconds a learner keeps trying to reconnect through the balancer


@dataclass
class Outcome:
    """What became of one learner's training."""

    learner: Learner
    server: str  # the app server it started on
    back_after: float | None = None  # seconds from its broken connection to its live training
    since_kill: float | None = None  # seconds from the kill to its live training
    problems: list[str] = field(default_factory=list)

    @property
    def lost(self) -> bool:
        return any(not p.startswith("late") for p in self.problems)


def shows_training(result: RunResult) -> bool:
    """The Train page shows the training: live (a batch, the queue, preparing) or its end."""
    text = progress_text(result) or ""
    return bool(
        re.search(r"batch \d+|in the queue|Preparing|Testing|Saving|Stopping", text)
    ) or any(t.startswith("Training finished") for t in result.texts)


async def start_training(learner: Learner, ws, subset: str, epochs: int) -> RunResult:
    await learner.view(ws, "Data")
    await build(learner, ws)
    await learner.view(ws, "Train")
    learner.set_value("train_subset", string_value=subset)
    await learner.run(ws)
    learner.set_value("train_epochs", int_value=epochs)
    await learner.run(ws)
    return await learner.run(ws, trigger="train_start")


async def reopen(learner: Learner, url: str, page: str) -> tuple[object, RunResult]:
    """A new connection through the balancer, the same address, the page opened again."""
    learner.values, learner.widget_ids, learner.fragments = {}, {}, {}
    deadline = time.perf_counter() + RECONNECT_TIMEOUT
    while True:
        try:
            ws, server = await connect(url)
            learner.cookie = f"DIGITLAB_SERVER=app{server}"
            break
        except (OSError, websockets.WebSocketException):
            if time.perf_counter() > deadline:
                raise
            await asyncio.sleep(0.2)
    return ws, await learner.run(ws, page=page)


async def watch_to_the_end(learner: Learner, ws, result: RunResult) -> RunResult:
    """Refresh the live view at the browser's intervals until the page says how it ended."""
    deadline = time.perf_counter() + TRAIN_TIMEOUT
    next_at = {fragment: time.perf_counter() for fragment in learner.fragments}
    while not any(t.startswith("Training finished") for t in result.texts):
        if any("raining failed" in t or "was lost" in t for t in result.texts):
            raise CheckFailed(f"{learner.name}: {[t for t in result.texts if 'ail' in t]}")
        if time.perf_counter() > deadline or not learner.fragments:
            raise CheckFailed(f"{learner.name}: the training did not end ({result.texts[-3:]})")
        result = await learner.refresh(ws, next_at, result)
    return result


async def learner_round(outcome: Outcome, ws, url: str, shown: asyncio.Event,
                        killed: dict[str, float]) -> None:  # fmt: skip
    """One learner: train, watch (reconnecting if its server dies), then its Runs page."""
    learner = outcome.learner
    try:
        result = await start_training(learner, ws, "10,000", epochs=2)
        while not shows_training(result):
            await asyncio.sleep(0.5)
            result = await learner.run(ws, page="Train")
        shown.set()
        try:
            result = await watch_to_the_end(learner, ws, result)
        except (OSError, websockets.ConnectionClosed):
            broken = time.perf_counter()
            if "at" not in killed:
                raise
            await ws.close()
            ws, result = await reopen(learner, url, "Train")
            while not shows_training(result):
                if time.perf_counter() - broken > BACK_WITHIN + 20:
                    raise CheckFailed(
                        f"{learner.name}: its training is not on Train again"
                    ) from None
                await asyncio.sleep(0.5)
                result = await learner.run(ws, page="Train")
            outcome.back_after = time.perf_counter() - broken
            outcome.since_kill = time.perf_counter() - killed["at"]
            if outcome.back_after > BACK_WITHIN:
                outcome.problems.append(f"late: live again after {outcome.back_after:.1f} s")
            result = await watch_to_the_end(learner, ws, result)
        learner.shown_accuracy = next(t for t in result.texts if t.startswith("Test accuracy"))
        if f"**{learner.name}**" not in " ".join(result.texts):
            outcome.problems.append("the trained model is not the active one")
        runs = await learner.view(ws, "Runs")
        if learner.name not in " ".join(runs.texts):
            outcome.problems.append("its run is not on its Runs page")
    except (CheckFailed, OSError, TimeoutError, websockets.WebSocketException) as error:
        outcome.problems.append(f"{type(error).__name__}: {error}")
    finally:
        shown.set()
        with contextlib.suppress(Exception):
            await ws.close()


async def ray_round(url: str, number: int, learners: int, victim_of: dict[str, int],
                    victim: str) -> list[Outcome]:  # fmt: skip
    """Learners train through the balancer; the victim server is killed once all pages show it."""
    outcomes, sockets = [], []
    for i in range(learners):
        ws, server = await connect(url)
        sockets.append(ws)
        learner = Learner(number * 10 + i, url, trains=True, cookie=f"DIGITLAB_SERVER=app{server}")
        outcomes.append(Outcome(learner, server))
    if not any(o.server == victim for o in outcomes) or all(o.server == victim for o in outcomes):
        raise CheckFailed(f"round {number}: the balancer did not spread the learners")
    killed: dict[str, float] = {}  # "at": when the victim was killed
    shown = [asyncio.Event() for _ in outcomes]
    tasks = [
        asyncio.create_task(learner_round(o, ws, url, e, killed))
        for o, ws, e in zip(outcomes, sockets, shown, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in shown)), TRAIN_TIMEOUT)
    os.kill(victim_of[victim], signal.SIGKILL)
    killed["at"] = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*tasks), TRAIN_TIMEOUT + 120)
    return outcomes


def saved_epochs(run_dirs: list[Path]) -> int:
    """The most epochs any of these runs has saved (history.json, written every epoch)."""
    counts = [0]
    for run in run_dirs:
        with contextlib.suppress(OSError, ValueError, KeyError):
            counts.append(len(json.loads((run / "history.json").read_text())["epochs"]["loss"]))
    return max(counts)


async def single_server(workdir: Path) -> Outcome:
    """Threads on one server: killed after the first saved epoch, restarted, the run continued."""
    runs_dir = workdir / "runs"
    runs_dir.mkdir(parents=True)
    env = {"DIGITLAB_RAY_ADDRESS": ""}  # the plain server: trainings in its threads
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_app(port, runs_dir, env)
    outcome = Outcome(Learner(90, url, trains=True), str(port))
    learner = outcome.learner
    try:
        wait_healthy(url)
        ws, _ = await connect(url)
        async with ws:
            result = await start_training(learner, ws, "10,000", epochs=3)
            deadline = time.perf_counter() + TRAIN_TIMEOUT
            while saved_epochs(list((runs_dir / learner.owner).glob("*"))) < 1:
                if time.perf_counter() > deadline:
                    raise CheckFailed(f"{learner.name}: no epoch was saved")
                await asyncio.sleep(0.1)
            server.kill()
            server.wait(timeout=30)
        epochs = saved_epochs(list((runs_dir / learner.owner).glob("*")))
        server = start_app(port, runs_dir, env)
        wait_healthy(url)
        ws, result = await reopen(learner, url, "Runs")
        async with ws:
            if not any(f"interrupted after epoch {epochs}" in t for t in result.texts):
                raise CheckFailed(f"{learner.name}: Runs does not list the run as interrupted")
            await learner.run(ws, trigger="runs_continue")
            result = await learner.view(ws, "Train")
            result = await watch_to_the_end(learner, ws, result)
            learner.shown_accuracy = next(t for t in result.texts if t.startswith("Test accuracy"))
        check_run_folder(learner, runs_dir)
        if saved_epochs(list((runs_dir / learner.owner).glob("*"))) != 3:
            outcome.problems.append("the continued run did not reach its 3 epochs")
    except (
        CheckFailed,
        OSError,
        TimeoutError,
        RuntimeError,
        websockets.WebSocketException,
    ) as error:
        outcome.problems.append(f"{type(error).__name__}: {error}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--learners", type=int, default=4)
    args = parser.parse_args()
    state, env, url, servers = tryout_settings("rf-")
    outcomes: list[Outcome] = []
    failures: list[str] = []
    t0 = time.perf_counter()
    try:
        subprocess.run(["bash", str(TRYOUT), "start"], env=env, check=True, timeout=600)
        print(f"try-out up in {time.perf_counter() - t0:.0f} s", flush=True)
        for number in range(1, args.rounds + 1):
            victim = servers[(number - 1) % 2]
            pids = {p: int((state / f"app-{p}.pid").read_text()) for p in servers}
            t_round = time.perf_counter()
            try:
                found = asyncio.run(ray_round(url, number, args.learners, pids, victim))
            except (CheckFailed, TimeoutError, OSError) as error:
                failures.append(f"round {number}: {type(error).__name__}: {error}")
                break
            outcomes += found
            for outcome in found:
                check = outcome.problems
                if not outcome.lost:
                    try:
                        check_run_folder(outcome.learner, state / "runs")
                    except (CheckFailed, OSError) as error:
                        check.append(str(error))
            back = [
                f"{o.back_after:.1f} ({o.since_kill:.1f})"
                for o in found
                if o.back_after is not None
            ]
            print(
                f"round {number}: killed app server {victim} "
                f"({sum(o.server == victim for o in found)} of {len(found)} learners on it); "
                f"live again after {', '.join(back) or '-'} s (from the kill); "
                f"{sum(o.lost for o in found)} lost; {time.perf_counter() - t_round:.0f} s",
                flush=True,
            )
            subprocess.run(
                ["bash", str(TRYOUT), "revive", victim], env=env, check=True, timeout=300
            )
    except subprocess.SubprocessError as error:
        failures.append(f"the try-out: {error}")
    finally:
        subprocess.run(["bash", str(TRYOUT), "stop"], env=env, timeout=120)
    t_single = time.perf_counter()
    single = asyncio.run(single_server(Path(tempfile.mkdtemp(prefix="rf-single-"))))
    outcomes.append(single)
    print(
        f"single server (threads): killed after epoch 1, restarted, continued: "
        f"{'lost' if single.lost else 'kept'}; {time.perf_counter() - t_single:.0f} s"
    )
    for outcome in outcomes:
        for problem in outcome.problems:
            failures.append(f"{outcome.learner.name} (on {outcome.server}): {problem}")
    for failure in failures:
        print(f"FAILED: {failure}")
    lost = sum(o.lost for o in outcomes)
    total = args.rounds * args.learners + 1
    lost += total - len(outcomes)  # rounds that never ran count as lost
    print(f"{time.perf_counter() - t0:.0f} s; checks: {'all held' if not failures else 'failed'}")
    print(f"lost {lost} of {total} trainings")
    return 0 if not failures and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
