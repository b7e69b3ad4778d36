"""A class of 30 on one server, over Streamlit's own websocket protocol (no browsers).

Starts the app server on 127.0.0.1 and drives SESSIONS learners the way the browser does: each
opens a websocket to /_stcore/stream, sends BackMsg rerun requests (page_script_hash for a page
switch, widget states for a typed name or a clicked button, fragment_id for the live view's
automatic refreshes) and reads the ForwardMsg deltas it gets back; between those refreshes it
fetches the live progress's feed once a second over HTTP, as the page's script does. Every learner
opens pages, builds the default preset under its own name (learner00, learner01, ...) and switches
pages; TRAINERS of them train it on 10,000 digits and watch it live, while the others keep
switching pages until the last training has ended.

Checks (exit code 1 if one fails): every training ends "Training finished" with its own model (the
session's sidebar names it, and the session's own run folder holds that name's finished run with
the test accuracy the page shows); no page a session was sent ever names another learner; no
page shows an exception. Measures the script-run time of every page view (the request to switch
page until the server says the run finished) while trainings run, over the whole class and split
in two: while the class arrives (until the last learner has built its model) and afterwards.

Run from the repository root: .venv/bin/python -m bench.class_load [--sessions 30] [--trainers 6]
Goal: p95 of a page view under that load <= 1.0 s. The last line prints `p95 N s`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import re
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import URLError
from urllib.parse import parse_qs

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from bench.cpu import cpu_seconds, thread_seconds
from core.priority import TRAINING_NICENESS
from tests.browser.conftest import free_port, start_app, wait_healthy
from ui.live_feed import FEED_EVERY, FEED_URL

# Pages a learner switches between. Mistakes and Evaluate are left out on purpose: they predict
# the 10,000 test digits with the learner's model on first visit, a computation, not a page view.
BROWSED = ("Data", "Inspect", "Runs", "Save", "Draw", "Train", "Build")
RUN_TIMEOUT = 300.0  # seconds one script run may take before the learner gives up
TRAIN_TIMEOUT = 1200.0  # seconds a training may take, queue included
TOTAL_TIMEOUT = 2400.0  # the whole benchmark stops after this, whatever happens
NAME = re.compile(r"learner\d\d")
FEED = re.compile(rf'fetch\("({FEED_URL}/[\w-]+\.html)"')


class CheckFailed(Exception):
    """A learner saw something it must not see, or did not get what it asked for."""


@dataclass
class RunResult:
    """What one script run sent back."""

    seconds: float
    texts: list[str]
    widgets: dict[str, str]  # user key -> widget id
    exceptions: list[str]
    auto_reruns: dict[str, float]  # fragment id -> interval
    messages: int = 0  # ForwardMsgs received, each a message the server built and sent
    widget_fragments: dict[str, str] = field(default_factory=dict)  # key -> its fragment's id
    whole_page: bool = False  # the whole page ran (st.navigation sent the pages again)


@dataclass
class Learner:
    """One browser tab, spoken for over the websocket protocol."""

    index: int
    url: str
    trains: bool
    name: str = ""
    pages: dict[str, str] = field(default_factory=dict)  # page name -> page_script_hash
    page: str = ""
    widget_ids: dict[str, str] = field(default_factory=dict)
    widget_fragments: dict[str, str] = field(default_factory=dict)  # key -> fragment id, if any
    values: dict[str, WidgetState] = field(default_factory=dict)  # widgets the learner has set
    query: str = ""
    fragments: dict[str, float] = field(default_factory=dict)
    page_views: list[tuple[float, float]] = field(default_factory=list)  # (started, seconds)
    cookie: str = ""  # the balancer's affinity cookie, where there is one (bench/scale_out.py)
    feed: str | None = None  # the live progress's feed that the page on screen fetches
    built_at: float = 0.0  # when its Build click made the model active
    seen_texts: list[str] = field(default_factory=list)
    shown_accuracy: str = ""

    def __post_init__(self) -> None:
        self.name = f"learner{self.index:02d}"

    @property
    def owner(self) -> str:
        return parse_qs(self.query).get("session", [""])[0]

    async def run(self, ws, *, page: str | None = None, trigger: str | None = None,
                  fragment: str | None = None) -> RunResult:  # fmt: skip
        """Send one rerun request and read the messages until the run has finished. A widget in a
        fragment (the Train page's Stop) reruns only its fragment, as a browser asks."""
        back = BackMsg()
        state = back.rerun_script
        state.query_string = self.query
        if page is not None:
            self.page = page
        state.page_script_hash = self.pages.get(self.page, "")
        states = list(self.values.values())
        if trigger:
            pressed = WidgetState(id=self.widget_ids[trigger], trigger_value=True)
            states.append(pressed)
        state.widget_states.widgets.extend(states)
        if fragment:
            state.fragment_id = fragment
            state.is_auto_rerun = True
        elif trigger and self.widget_fragments.get(trigger):
            state.fragment_id = self.widget_fragments[trigger]
        t0 = time.perf_counter()
        await ws.send(back.SerializeToString())
        result = RunResult(0.0, [], {}, [], {})
        deadline = t0 + RUN_TIMEOUT
        while True:
            raw = await asyncio.wait_for(ws.recv(), max(1.0, deadline - time.perf_counter()))
            message = ForwardMsg()
            message.ParseFromString(raw)
            result.messages += 1
            kind = message.WhichOneof("type")
            if kind == "script_finished":
                if message.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # st.rerun(): the rerun that follows belongs to this request
                break
            self._read(message, kind, result)
        result.seconds = time.perf_counter() - t0
        self.widget_ids.update(result.widgets)
        self.widget_fragments.update(result.widget_fragments)
        if result.whole_page:
            self.fragments = result.auto_reruns
        self.seen_texts.extend(result.texts)
        if result.whole_page or any("train-progress" in text for text in result.texts):
            self.feed = next((f[1] for t in result.texts if (f := FEED.search(t))), None)
        others = {n for text in result.texts for n in NAME.findall(text)} - {self.name}
        if others:
            raise CheckFailed(f"{self.name} was shown {sorted(others)} on {self.page}")
        if result.exceptions:
            raise CheckFailed(f"{self.name} got an exception on {self.page}: {result.exceptions}")
        return result

    def _read(self, message: ForwardMsg, kind: str, result: RunResult) -> None:
        if kind == "navigation":
            self.pages = {p.page_name: p.page_script_hash for p in message.navigation.app_pages}
            result.whole_page = True
        elif kind == "page_info_changed":
            self.query = message.page_info_changed.query_string
        elif kind == "auto_rerun":
            result.auto_reruns[message.auto_rerun.fragment_id] = message.auto_rerun.interval
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            element_kind = element.WhichOneof("type")
            body = getattr(element, element_kind)
            if element_kind == "exception":
                result.exceptions.append(f"{body.type}: {body.message}")
            elif element_kind == "metric":
                result.texts.append(f"{body.label} {body.body}")
            elif element_kind in ("heading", "markdown", "alert", "text", "html"):
                result.texts.append(body.body)
            elif element_kind == "code":
                result.texts.append(body.code_text)
            elif element_kind == "dataframe":
                result.texts.append(str(body))  # the Runs table's cells are in its bytes
            elif element_kind in ("selectbox", "radio", "multiselect"):
                result.texts.extend(body.options)  # e.g. the runs one can pick
            widget_id = getattr(body, "id", "")
            if widget_id.startswith("$$ID-") and widget_id.count("-") >= 2:
                key = widget_id.split("-", 2)[2]
                result.widgets[key] = widget_id
                result.widget_fragments[key] = message.delta.fragment_id

    async def fetch_feed(self) -> str | None:
        """The live progress from its feed, as the page's script fetches it; None once gone."""

        def get() -> str | None:
            request = urllib.request.Request(f"{self.url}/{self.feed}")
            if self.cookie:
                request.add_header("Cookie", self.cookie)
            try:
                with urllib.request.urlopen(request, timeout=RUN_TIMEOUT) as response:
                    return response.read().decode()
            except URLError:  # 404: the training has ended
                return None

        return await asyncio.to_thread(get) if self.feed else None

    def refreshes(self) -> dict[str | None, float]:
        """What the page on screen refreshes, at which interval: its fragments by id, and its
        progress feed (None) where it shows one."""
        return {**self.fragments, **({None: FEED_EVERY} if self.feed else {})}

    async def refresh(self, ws, next_at: dict[str | None, float], result: RunResult) -> RunResult:
        """The page's next live refresh, once due (the browser reruns each live fragment and
        fetches the feed at its interval): a fragment run's result, or after a fetch the last."""
        refreshes = self.refreshes()
        due = min(refreshes, key=lambda f: next_at.get(f, 0.0))
        try:  # a browser notices at once that its server closed the websocket
            await asyncio.wait_for(ws.wait_closed(), next_at.get(due, 0.0) - time.perf_counter())
            raise ws.close_exc
        except TimeoutError:
            pass
        next_at[due] = time.perf_counter() + refreshes[due]
        if due is None:
            await self.fetch_feed()
            return result
        return await self.run(ws, fragment=due)

    def set_value(self, key: str, **value) -> None:
        self.values[key] = WidgetState(id=self.widget_ids[key], **value)

    async def view(self, ws, page: str) -> RunResult:
        """Switch page like a click in the sidebar; its script-run time is a page view."""
        started = time.perf_counter()
        result = await self.run(ws, page=page)
        self.page_views.append((started, result.seconds))
        return result


async def build(learner: Learner, ws) -> None:
    await learner.view(ws, "Build")
    learner.set_value("build_name", string_value=learner.name)
    await learner.run(ws)  # typing the name reruns the page, as in the browser
    result = await learner.run(ws, trigger="build_submit")
    if not any("It is now the active model" in text for text in result.texts):
        raise CheckFailed(f"{learner.name}: Build did not make the model active")
    learner.built_at = time.perf_counter()


async def train(learner: Learner, ws) -> None:
    await learner.view(ws, "Train")
    learner.set_value("train_subset", string_value="10,000")
    await learner.run(ws)
    result = await learner.run(ws, trigger="train_start")
    deadline = time.perf_counter() + TRAIN_TIMEOUT
    next_at = {fragment: time.perf_counter() for fragment in learner.fragments}
    while not any(text.startswith("Training finished") for text in result.texts):
        if any("Training failed" in text or "training failed" in text for text in result.texts):
            raise CheckFailed(f"{learner.name}: {result.texts}")
        if time.perf_counter() > deadline or not learner.fragments:
            raise CheckFailed(f"{learner.name}: the training did not finish ({result.texts[-3:]})")
        result = await learner.refresh(ws, next_at, result)
    learner.shown_accuracy = next(t for t in result.texts if t.startswith("Test accuracy"))
    sidebar = " ".join(result.texts)
    if f"**{learner.name}**" not in sidebar:
        raise CheckFailed(f"{learner.name}: the trained model is not the active one")


async def learner_session(learner: Learner, trainings_done: asyncio.Event, seed: int) -> None:
    rng = random.Random(seed)
    url = learner.url.replace("http://", "ws://") + "/_stcore/stream"
    async with websockets.connect(url, subprotocols=["streamlit"], max_size=None) as ws:
        await learner.view(ws, "Data")
        await build(learner, ws)
        await learner.view(ws, "Inspect")
        if learner.trains:
            await train(learner, ws)
        else:
            for _ in range(40):  # switch pages while the others train, with time to read
                await learner.view(ws, rng.choice(BROWSED))
                try:
                    await asyncio.wait_for(trainings_done.wait(), rng.uniform(1.0, 4.0))
                    break
                except TimeoutError:
                    pass
        result = await learner.view(ws, "Runs")
        runs_shown = " ".join(result.texts)
        if learner.trains and learner.name not in runs_shown:
            raise CheckFailed(f"{learner.name}: its run is not on its Runs page")


def check_run_folder(learner: Learner, runs_dir: Path) -> None:
    """The learner's own folder holds its finished run, with the accuracy its page showed."""
    folders = [p for p in (runs_dir / learner.owner).iterdir() if (p / "spec.json").exists()]
    if len(folders) != 1:
        raise CheckFailed(f"{learner.name}: {len(folders)} runs in its folder, not 1")
    spec = json.loads((folders[0] / "spec.json").read_text())
    metrics = json.loads((folders[0] / "metrics.json").read_text())
    if spec["name"] != learner.name or metrics["status"] != "finished":
        raise CheckFailed(f"{learner.name}: its folder holds {spec['name']} ({metrics['status']})")
    if not (folders[0] / "model.keras").exists():
        raise CheckFailed(f"{learner.name}: its run saved no model")
    if f"{metrics['test_accuracy']:.2%}" not in learner.shown_accuracy:
        raise CheckFailed(
            f"{learner.name}: page showed {learner.shown_accuracy!r}, its run has "
            f"{metrics['test_accuracy']:.2%}"
        )


def make_learners(url: str, sessions: int, trainers: int) -> list[Learner]:
    """The class; every (sessions // trainers)-th learner trains, the first among them."""
    chosen = set(list(range(0, sessions, max(1, sessions // trainers)))[:trainers])
    return [Learner(i, url, trains=i in chosen) for i in range(sessions)]


async def teacher_opens_the_app(url: str) -> None:
    """Before class: one visit to Build, so that TensorFlow is loaded when the learners come."""
    teacher = Learner(99, url, trains=False)
    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None) as ws:
        await teacher.view(ws, "Data")
        await teacher.view(ws, "Build")


async def drive(learners: list[Learner], run_session=None, timeout: float = TOTAL_TIMEOUT) -> None:
    """Every learner's session, arriving 0.5 s apart; the others browse until the trainers end.
    run_session(learner, trainings_done) is learner_session unless another bench brings its own."""
    trainings_done = asyncio.Event()

    async def staggered(learner: Learner) -> None:
        await asyncio.sleep(learner.index * 0.5)  # a class arrives within seconds, not at once
        if run_session is None:
            await learner_session(learner, trainings_done, seed=learner.index)
        else:
            await run_session(learner, trainings_done)

    trainer_tasks = [asyncio.create_task(staggered(x)) for x in learners if x.trains]
    other_tasks = [asyncio.create_task(staggered(x)) for x in learners if not x.trains]

    async def trainers_then_signal() -> None:
        try:
            await asyncio.gather(*trainer_tasks)
        finally:
            trainings_done.set()

    await asyncio.wait_for(asyncio.gather(trainers_then_signal(), *other_tasks), timeout=timeout)


def where_the_cpu_went(pid: int, cpu0: float, threads0: dict[int, float], seconds: float) -> str:
    """The server's CPU over the class: training (threads at the app's training niceness, see
    core/priority.py) and the rest, the script runs of pages and live views and the websocket
    loop; the rest per second of class is how many cores the page work keeps busy."""
    total = cpu_seconds(pid) - cpu0
    training = sum(
        used - threads0.get(thread, 0.0)
        for thread, used in thread_seconds(pid, TRAINING_NICENESS).items()
    )
    rest = total - training
    return (
        f"server CPU over {seconds:.0f} s: {total:.0f} s, training {training:.0f} s, "
        f"pages, live views and websockets {rest:.0f} s ({rest / seconds:.2f} per second)"
    )


def by_phase(learners: list[Learner]) -> str:
    """Page views while the class arrives (until the last learner has built a model: 30 builds
    and their pages within seconds) and afterwards (trainings running, the others browsing)."""
    arrived = max(learner.built_at for learner in learners)
    parts = []
    for name, phase in (
        ("while the class arrives", [v for x in learners for v in x.page_views if v[0] < arrived]),
        ("afterwards", [v for x in learners for v in x.page_views if v[0] >= arrived]),
    ):
        seconds = [s for _, s in phase]
        if seconds:
            parts.append(f"{name}: {len(seconds)} views, p95 {percentile(seconds, 0.95):.2f} s")
    return "; ".join(parts)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--trainers", type=int, default=6)
    args = parser.parse_args()
    port = free_port()
    runs_dir = Path(tempfile.mkdtemp(prefix="bench-class-")) / "runs"
    server = start_app(port, runs_dir)
    url = f"http://127.0.0.1:{port}"
    failures: list[str] = []
    learners: list[Learner] = []
    cpu = ""
    t0 = time.perf_counter()
    try:
        wait_healthy(url)
        try:
            asyncio.run(teacher_opens_the_app(url))
            learners = make_learners(url, args.sessions, args.trainers)
            cpu0, threads0 = cpu_seconds(server.pid), thread_seconds(server.pid)
            class_t0 = time.perf_counter()
            asyncio.run(drive(learners))
            cpu = where_the_cpu_went(server.pid, cpu0, threads0, time.perf_counter() - class_t0)
        except (CheckFailed, TimeoutError, OSError, websockets.WebSocketException) as error:
            failures.append(f"{type(error).__name__}: {error}")
        for learner in learners:
            if learner.trains:
                try:
                    check_run_folder(learner, runs_dir)
                except (CheckFailed, OSError) as error:
                    failures.append(str(error))
    finally:
        server.terminate()
        server.wait(timeout=30)
    views = [seconds for learner in learners for _, seconds in learner.page_views]
    print(f"{args.sessions} sessions, {args.trainers} trained, {time.perf_counter() - t0:.0f} s")
    if views:
        print(
            f"page views: {len(views)}, p50 {percentile(views, 0.5):.2f} s, max {max(views):.2f} s"
        )
        print(by_phase(learners))
    if cpu:
        print(cpu)
    for failure in failures:
        print(f"FAILED: {failure}")
    print("checks: " + ("all held" if not failures else f"{len(failures)} failed"))
    print(f"p95 {percentile(views, 0.95):.2f} s" if views else "p95 n/a s")
    return 0 if not failures and views else 1


if __name__ == "__main__":
    sys.exit(main())
