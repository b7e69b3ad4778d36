"""A scale-out class: two app servers behind the load balancer, every training on a Ray head.

Starts the try-out (scripts/tryout.sh: a Ray head with 2 CPUs and its warm trainers, two app
servers sharing one runs store, HAProxy with cookie affinity, all on 127.0.0.1) and drives SESSIONS
learners over Streamlit's websocket protocol through the balancer, with bench/class_load's session
driver; the balancer spreads them over both servers. TRAINERS of them train the default preset on
10,000 digits: FIRST_EPOCHS epochs, Stop once the page has shown a few seconds of batches (long
before the last epoch, even on a quiet machine), then Continue for one more epoch to the end; the others switch pages until the last training has ended.

Checks (exit code 1 if one fails): every training ends "Training finished" with its own model (the
session's sidebar names it; its own run folder holds that name's finished run with the test
accuracy the page shows); no page a session was sent ever names another learner; no page shows an
exception; no app server spends CPU on training (threads at the training niceness, core/priority.py).

Figures: page views (script-run time of a page switch); the age of the progress a page shows (from
the request that fetched the snapshot on screen until the next one replaces it, at the browser's
refresh interval); Stop to the end of training (from the click until the first refresh showing the
final count of digits seen, the page then polled every 0.1 s) against one batch (batch size over
the rate the page shows) + 0.5 s, with the Stop click's own script run (Stop is a fragment of its
own: the click reruns only it) and each Stop listed; the first batch after Train or Continue (from
the click, or from the last refresh that still showed the training queued, polled every 0.25 s,
until a refresh shows a batch); the app servers' CPU seconds spent training, and the Ray trainers'
CPU over the class.

Run from the repository root, with Ray installed (pip install -r requirements-ray.txt):
.venv/bin/python -m bench.scale_out [--sessions 30] [--trainers 6]
Goals: page view p95 <= 1.0 s; progress age p95 <= 2 s; Stop p95 <= one batch + 0.5 s; first batch
p95 <= 3 s; training CPU in the app servers 0. The last line prints the page-view `p95 N s`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import websockets

from bench.class_load import (
    BROWSED,
    CheckFailed,
    Learner,
    RunResult,
    build,
    check_run_folder,
    make_learners,
    percentile,
)
from bench.class_load import (
    drive as drive_class,
)
from bench.cpu import cpu_seconds, thread_seconds
from core.presets import PRESETS
from core.priority import TRAINING_NICENESS
from tests.browser.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
TRYOUT = ROOT / "scripts" / "tryout.sh"


def tryout_settings(prefix: str) -> tuple[Path, dict[str, str], str, list[str]]:
    """A state folder, the environment, the balancer's URL and the app servers' ports for a
    try-out of the bench's own: free ports, a Ray head with 2 CPUs."""
    state = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))  # short: Ray's socket paths
    ports = [str(free_port()) for _ in range(3)]
    env = os.environ | {
        "TRYOUT_DIR": str(state),
        "TRYOUT_PORT": ports[0],
        "TRYOUT_SERVERS": " ".join(ports[1:]),
        "TRYOUT_RAY": "1",
        "TRYOUT_RAY_CPUS": "2",
    }
    return state, env, f"http://127.0.0.1:{ports[0]}", ports[1:]


TRAIN_TIMEOUT = 900.0  # seconds one learner's training (queue included) may take
TOTAL_TIMEOUT = 1200.0  # the whole class stops after this, whatever happens
STOP_AFTER = 3.0  # seconds of batches shown before the learner presses Stop
# Epochs of the first training: on a quiet machine one 10,000-digit epoch took ~1 s on a warm
# trainer, so a single epoch ended before the Stop it is there to measure.
FIRST_EPOCHS = 5
WAITING_POLL = 0.25  # seconds between refreshes while a training waits for its first batch
STOPPING_POLL = 0.1  # seconds between refreshes after Stop, until the training has ended
BATCH = re.compile(r"Epoch (\d+)/(\d+) · batch (\d+)/(\d+)")
RATE = re.compile(r"([\d,]+) digits/s")
SEEN = re.compile(r"([\d,]+) digits seen")
TAGS = re.compile(r"<[^>]+>")
BATCH_SIZE = PRESETS["default"].batch_size  # the default preset's, which the learners keep


@dataclass
class Display:
    """One refresh of the live view: when it was asked for, when it came, what it showed."""

    sent: float
    done: float
    text: str

    @property
    def batch(self) -> tuple[int, int] | None:
        found = BATCH.search(self.text)
        return (int(found[1]), int(found[3])) if found else None

    @property
    def seen(self) -> int | None:
        found = SEEN.search(self.text)
        return int(found[1].replace(",", "")) if found else None

    @property
    def rate(self) -> float | None:
        found = RATE.search(self.text)
        return float(found[1].replace(",", "")) if found else None


@dataclass
class Figures:
    """What the trainers measured, over the whole class."""

    ages: list[float] = field(default_factory=list)
    stops: list[tuple[float, float]] = field(default_factory=list)  # (seconds, one batch)
    stop_clicks: list[float] = field(default_factory=list)  # the Stop click's own page run
    stop_ended_at_click: int = 0  # stops whose click answered with the final count already
    first_batches: list[float] = field(default_factory=list)
    preparing: list[float] = field(default_factory=list)  # of the first batch: until fit runs
    queued: int = 0  # trainings that waited in the queue before their first batch


def progress_text(result: RunResult) -> str | None:
    """The live view's progress block as plain text, if this run drew it."""
    for text in result.texts:
        if "train-progress" in text:
            return TAGS.sub(" ", text)
    return None


def ended(result: RunResult, until: tuple[str, ...]) -> bool:
    return any(t.startswith(until) for t in result.texts)


async def watch(learner: Learner, ws, result: RunResult, pressed: float, figures: Figures,
                stop_after: float | None) -> RunResult:  # fmt: skip
    """Refresh the live view like the browser until the training has ended; measure on the way.
    With stop_after, press Stop once batches have shown for that many seconds (and end on
    "Training stopped"; else on "Training finished": the page that Continue reran said the
    earlier training stopped)."""
    until = ("Training stopped", "Training finished") if stop_after else ("Training finished",)
    deadline = time.perf_counter() + TRAIN_TIMEOUT
    next_at = {fragment: time.perf_counter() for fragment in learner.fragments}
    displays: list[Display] = []
    last_queued = pressed
    first_batch_at: float | None = None
    fitting_at: float | None = None  # the first refresh showing an epoch (the model is fitting)
    stopped_at: float | None = None
    was_queued = False
    while not ended(result, until):
        if any("raining failed" in text for text in result.texts):
            raise CheckFailed(f"{learner.name}: {result.texts}")
        if time.perf_counter() > deadline or not learner.fragments:
            raise CheckFailed(f"{learner.name}: the training did not end ({result.texts[-3:]})")
        refreshes = learner.refreshes()  # the live view's fragment and its progress feed
        due = min(refreshes, key=lambda f: next_at.get(f, 0.0))
        await asyncio.sleep(max(0.0, next_at.get(due, 0.0) - time.perf_counter()))
        interval = refreshes[due]
        if interval == min(refreshes.values()):  # the progress, not the charts
            if first_batch_at is None:
                interval = min(interval, WAITING_POLL)
            elif stopped_at is not None:
                interval = min(interval, STOPPING_POLL)
        sent = time.perf_counter()
        next_at[due] = sent + interval
        if due is None:
            html = await learner.fetch_feed()
            text = TAGS.sub(" ", html) if html else None
        else:
            result = await learner.run(ws, fragment=due)
            text = progress_text(result)
        if text is None:
            continue
        display = Display(sent, time.perf_counter(), text)
        if "Waiting for a free trainer" in text:
            last_queued, was_queued = sent, True
        if fitting_at is None and display.batch:
            fitting_at = display.done
        if first_batch_at is None and display.batch and display.batch[1] > 0:
            first_batch_at = display.done
            figures.first_batches.append(first_batch_at - last_queued)
            figures.preparing.append(fitting_at - last_queued)
            figures.queued += was_queued
        steady = first_batch_at is not None and stopped_at is None
        if steady and displays and displays[-1].batch and display.batch:
            figures.ages.append(display.done - displays[-1].sent)
        displays.append(display)
        if (
            stop_after is not None
            and steady
            and display.done - first_batch_at >= stop_after
            and display.rate
        ):
            one_batch = BATCH_SIZE / display.rate
            stopped_at = time.perf_counter()
            result = await learner.run(ws, trigger="train_stop")
            text = progress_text(result)
            # Ended already, the page shows no progress: the run itself is the end.
            displays.append(Display(stopped_at, time.perf_counter(), text or "0 digits seen"))
            next_at = {f: time.perf_counter() for f in learner.fragments}
    if stopped_at is not None:
        after = [d for d in displays if d.sent >= stopped_at and d.seen is not None]
        if not after:
            raise CheckFailed(f"{learner.name}: no refresh between Stop and the end")
        final = after[-1].seen
        end = next(d.done for d in after if d.seen == final)
        figures.stops.append((end - stopped_at, one_batch))
        figures.stop_clicks.append(after[0].done - stopped_at)
        figures.stop_ended_at_click += after[0].seen == final
    return result


async def train(learner: Learner, ws, figures: Figures) -> None:
    """Train, Stop it, Continue one more epoch to the end, as a learner would."""
    await learner.view(ws, "Train")
    learner.set_value("train_subset", string_value="10,000")
    await learner.run(ws)
    learner.set_value("train_epochs", int_value=FIRST_EPOCHS)
    await learner.run(ws)
    pressed = time.perf_counter()
    result = await learner.run(ws, trigger="train_start")
    result = await watch(learner, ws, result, pressed, figures, stop_after=STOP_AFTER)
    if not any(t.startswith("Training stopped") for t in result.texts):
        raise CheckFailed(f"{learner.name}: Stop did not stop it ({result.texts[-3:]})")
    learner.set_value("train_more_epochs", int_value=1)
    await learner.run(ws)
    pressed = time.perf_counter()
    result = await learner.run(ws, trigger="train_continue")
    result = await watch(learner, ws, result, pressed, figures, stop_after=None)
    if not any(t.startswith("Training finished") for t in result.texts):
        raise CheckFailed(f"{learner.name}: Continue did not finish ({result.texts[-3:]})")
    learner.shown_accuracy = next(t for t in result.texts if t.startswith("Test accuracy"))
    if f"**{learner.name}**" not in " ".join(result.texts):
        raise CheckFailed(f"{learner.name}: the trained model is not the active one")


async def connect(url: str):
    """A websocket through the balancer; also the app server it landed on (its cookie)."""
    ws = await websockets.connect(
        url.replace("http://", "ws://") + "/_stcore/stream",
        subprotocols=["streamlit"],
        max_size=None,
    )
    cookies = " ".join(ws.response.headers.get_all("Set-Cookie"))
    found = re.search(r"DIGITLAB_SERVER=app(\d+)", cookies)
    return ws, found[1] if found else "?"


async def session(learner: Learner, figures: Figures, servers: dict[int, str],
                  trainings_done: asyncio.Event, seed: int) -> None:  # fmt: skip
    rng = random.Random(seed)
    ws, servers[learner.index] = await connect(learner.url)
    learner.cookie = f"DIGITLAB_SERVER=app{servers[learner.index]}"  # the feed's fetches too
    async with ws:
        await learner.view(ws, "Data")
        await build(learner, ws)
        await learner.view(ws, "Inspect")
        if learner.trains:
            await train(learner, ws, figures)
        else:
            for _ in range(60):
                await learner.view(ws, rng.choice(BROWSED))
                try:
                    await asyncio.wait_for(trainings_done.wait(), rng.uniform(1.0, 4.0))
                    break
                except TimeoutError:
                    pass
        result = await learner.view(ws, "Runs")
        if learner.trains and learner.name not in " ".join(result.texts):
            raise CheckFailed(f"{learner.name}: its run is not on its Runs page")


async def teacher_opens_both(url: str, ports: list[str]) -> None:
    """Before class: Build and Train on every app server, so that each has TensorFlow loaded and
    has joined the Ray cluster when the learners come."""
    seen: set[str] = set()
    for attempt in range(6):
        ws, server = await connect(url)
        async with ws:
            teacher = Learner(90 + attempt, url, trains=False)
            await teacher.view(ws, "Data")
            await teacher.view(ws, "Build")
            await teacher.view(ws, "Train")
        seen.add(server)
        if seen >= set(ports):
            return
    raise CheckFailed(f"the balancer sent the teacher only to {sorted(seen)}")


async def drive(learners: list[Learner], figures: Figures, servers: dict[int, str]) -> None:
    """class_load's class, each learner in this bench's session (through the balancer)."""

    async def run_session(learner: Learner, trainings_done: asyncio.Event) -> None:
        await session(learner, figures, servers, trainings_done, seed=learner.index)

    await drive_class(learners, run_session, TOTAL_TIMEOUT)


def training_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of the process's threads at the training niceness, by thread id."""
    return thread_seconds(pid, TRAINING_NICENESS)


def trainer_pids(state: Path) -> list[int]:
    """The Ray trainer processes of this try-out's head (children of its raylet)."""
    marker = f"{state}/ray/"
    raylets, parents, names = set(), {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            parents[int(entry.name)] = int(
                (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            )
        except (OSError, ValueError, IndexError):
            continue
        names[int(entry.name)] = cmdline
        if "raylet" in cmdline and marker in cmdline:
            raylets.add(int(entry.name))
    return [p for p, ppid in parents.items() if ppid in raylets and "Trainer" in names[p]]


def summary_lines(learners: list[Learner], figures: Figures, servers: dict[int, str]) -> list[str]:
    lines = []
    split: dict[str, list[str]] = {}
    for learner in learners:
        split.setdefault(servers.get(learner.index, "?"), []).append(
            learner.name + ("*" if learner.trains else "")
        )
    for server, names in sorted(split.items()):
        lines.append(
            f"app server {server}: {len(names)} sessions ({sum('*' in n for n in names)} trained)"
        )
    views = [s for learner in learners for _, s in learner.page_views]
    if views:
        lines.append(
            f"page views: {len(views)}, p50 {percentile(views, 0.5):.2f} s, "
            f"p95 {percentile(views, 0.95):.2f} s, max {max(views):.2f} s (goal p95 <= 1.0 s)"
        )
    if figures.ages:
        lines.append(
            f"progress age: {len(figures.ages)} refreshes, p50 {percentile(figures.ages, 0.5):.2f} s,"
            f" p95 {percentile(figures.ages, 0.95):.2f} s, max {max(figures.ages):.2f} s (goal p95 <= 2 s)"
        )
    if figures.stops:
        over = [s - b for s, b in figures.stops]
        batch = max(b for _, b in figures.stops)
        lines.append(
            f"Stop to the end of training: {len(over)} stops, p95 "
            f"{percentile([s for s, _ in figures.stops], 0.95):.2f} s, one batch <= {batch:.2f} s, "
            f"beyond one batch p95 {percentile(over, 0.95):.2f} s (goal <= 0.5 s); of which the "
            f"Stop click's own page run p50 {percentile(figures.stop_clicks, 0.5):.2f} s, p95 "
            f"{percentile(figures.stop_clicks, 0.95):.2f} s ({figures.stop_ended_at_click} "
            "answered with the final count)"
        )
        each = zip(figures.stops, figures.stop_clicks, strict=True)
        lines.append(
            "each Stop (s to the end / one batch / the click's run): "
            + ", ".join(f"{s:.2f}/{b:.2f}/{c:.2f}" for (s, b), c in each)
        )
    if figures.first_batches:
        lines.append(
            f"first batch after Train/Continue: {len(figures.first_batches)} trainings "
            f"({figures.queued} waited in the queue, counted from leaving it), "
            f"p50 {percentile(figures.first_batches, 0.5):.2f} s, "
            f"p95 {percentile(figures.first_batches, 0.95):.2f} s (goal p95 <= 3 s); of which "
            f"until the page shows an epoch (model built, data ready, fit called) p50 "
            f"{percentile(figures.preparing, 0.5):.2f} s, p95 "
            f"{percentile(figures.preparing, 0.95):.2f} s"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--trainers", type=int, default=6)
    args = parser.parse_args()
    state, env, url, servers_ports = tryout_settings("so-")
    failures: list[str] = []
    learners: list[Learner] = []
    figures = Figures()
    servers: dict[int, str] = {}
    cpu_lines: list[str] = []
    t0 = time.perf_counter()
    try:
        subprocess.run(["bash", str(TRYOUT), "start"], env=env, check=True, timeout=600)
        print(f"try-out up in {time.perf_counter() - t0:.0f} s", flush=True)
        pids = {p: int((state / f"app-{p}.pid").read_text()) for p in servers_ports}
        try:
            asyncio.run(teacher_opens_both(url, servers_ports))
            learners = make_learners(url, args.sessions, args.trainers)
            trainers = trainer_pids(state)
            cpu0 = {p: cpu_seconds(pid) for p, pid in pids.items()}
            train0 = {p: training_cpu(pid) for p, pid in pids.items()}
            ray0 = {pid: cpu_seconds(pid) for pid in trainers}
            class_t0 = time.perf_counter()
            asyncio.run(drive(learners, figures, servers))
            seconds = time.perf_counter() - class_t0
            for port, pid in pids.items():
                training = sum(
                    used - train0[port].get(thread, 0.0)
                    for thread, used in training_cpu(pid).items()
                )
                total = cpu_seconds(pid) - cpu0[port]
                cpu_lines.append(
                    f"app server {port}: CPU {total:.0f} s over {seconds:.0f} s, training {training:.1f} s"
                )
                if training > 0:
                    failures.append(f"app server {port} spent {training:.1f} CPU s training")
            ray_cpu = sum(cpu_seconds(pid) - used for pid, used in ray0.items())
            cpu_lines.append(f"Ray trainers ({len(trainers)}): CPU {ray_cpu:.0f} s")
        except (CheckFailed, TimeoutError, OSError, websockets.WebSocketException) as error:
            failures.append(f"{type(error).__name__}: {error}")
        for learner in learners:
            if learner.trains:
                try:
                    check_run_folder(learner, state / "runs")
                except (CheckFailed, OSError) as error:
                    failures.append(str(error))
    except subprocess.SubprocessError as error:
        failures.append(f"the try-out did not start: {error}")
    finally:
        subprocess.run(["bash", str(TRYOUT), "stop"], env=env, timeout=120)
    print(
        f"{args.sessions} sessions, {args.trainers} trained on Ray, {time.perf_counter() - t0:.0f} s"
    )
    for line in summary_lines(learners, figures, servers) + cpu_lines:
        print(line)
    for failure in failures:
        print(f"FAILED: {failure}")
    print("checks: " + ("all held" if not failures else f"{len(failures)} failed"))
    views = [s for learner in learners for _, s in learner.page_views]
    print(f"p95 {percentile(views, 0.95):.2f} s" if views else "p95 n/a s")
    return 0 if not failures and views else 1


if __name__ == "__main__":
    sys.exit(main())
