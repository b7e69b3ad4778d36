"""The first visit of a fresh server: how long until the first heading shows in real Chromium.

For each round: start a new app server, wait until it answers its health check, then open the
app in headless Chromium (launched beforehand, so its own start is not counted) and time the first
heading of the Data page; then, on another fresh server, open Build first and time the loading
sentence and the heading that follows once TensorFlow is imported. Then, once per round on yet
another fresh server, time the server's share alone: from opening the websocket (as the front end
does once its JavaScript has loaded) to the first heading's message, with no browser.

Run from the repository root: .venv/bin/python -m bench.first_visit [rounds, default 2]
Goal: the first heading within 2 s of the first visit.
"""

from __future__ import annotations

import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path

import websockets
from playwright.sync_api import Page, sync_playwright
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.cpu import cpu_seconds
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    served_app,
    start_app,
    wait_healthy,
)

GOAL_SECONDS = 2.0
LOADING_TEXT = "Loading TensorFlow"


def fresh_server_visit(
    page: Page, path: str, wait_for: list[str]
) -> tuple[list[float], float, float]:
    """Start a server, open path; seconds until each selector showed, the server's CPU time, and
    the seconds until the front end asked for its websocket (all before that is the browser loading
    Streamlit's JavaScript; the script's own work comes after).

    The CPU seconds the server spent between the visit and the last selector do not depend on
    what else the machine runs, unlike the wall-clock times.
    """
    port = free_port()
    server = start_app(port, Path(tempfile.mkdtemp(prefix="bench-first-visit-")) / "runs")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        cpu0 = cpu_seconds(server.pid)
        opened: list[float] = []
        page.on("websocket", lambda _: opened.append(time.perf_counter()))
        t0 = time.perf_counter()
        page.goto(f"{url}/{path}", wait_until="commit")
        seconds = []
        for selector in wait_for:
            page.wait_for_selector(selector, state="visible", timeout=120_000)
            seconds.append(time.perf_counter() - t0)
        return seconds, cpu_seconds(server.pid) - cpu0, (opened or [math.nan])[0] - t0
    finally:
        server.terminate()
        server.wait(timeout=30)


async def heading_over_websocket(url: str) -> float:
    """Seconds from opening the websocket, as the front end does, to the first heading's message:
    the server's share of a first visit, without a browser."""
    t0 = time.perf_counter()
    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None) as ws:
        back = BackMsg()
        back.rerun_script.query_string = ""
        await ws.send(back.SerializeToString())
        while True:
            message = ForwardMsg()
            message.ParseFromString(await asyncio.wait_for(ws.recv(), 120))
            if (
                message.WhichOneof("type") == "delta"
                and message.delta.WhichOneof("type") == "new_element"
                and message.delta.new_element.WhichOneof("type") == "heading"
            ):
                return time.perf_counter() - t0


def server_only_visit() -> float:
    with served_app(Path(tempfile.mkdtemp(prefix="bench-first-visit-")) / "runs") as url:
        return asyncio.run(heading_over_websocket(url))


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    firsts = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for round_ in range(1, rounds + 1):
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            (heading,), cpu, socket = fresh_server_visit(page, "", ["h1"])
            firsts.append(heading)
            page.context.close()
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            (loading, build), build_cpu, _ = fresh_server_visit(
                page, "build", [f"text={LOADING_TEXT}", "h1"]
            )
            page.context.close()
            print(
                f"round {round_}: Data heading {heading:.2f} s (websocket asked for at {socket:.2f} s, "
                f"server CPU {cpu:.2f} s); "
                f"Build first: loading sentence {loading:.2f} s, heading {build:.2f} s "
                f"(server CPU {build_cpu:.2f} s)",
                flush=True,
            )
        browser.close()
    # After the browser: Playwright's sync API keeps an event loop running while it is open.
    server_only = [server_only_visit() for _ in range(rounds)]
    print(
        "without a browser, the heading's message came "
        + ", ".join(f"{seconds:.2f}" for seconds in server_only)
        + " s after the websocket opened"
    )
    print(
        f"first heading: median {sorted(firsts)[len(firsts) // 2]:.2f} s, max {max(firsts):.2f} s"
    )
    print(f"goal {GOAL_SECONDS:.1f} s: {'met' if max(firsts) <= GOAL_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    main()
