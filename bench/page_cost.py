"""What one page view costs the server: CPU seconds and messages, page by page, on a quiet server.

Starts the app server, opens one session over Streamlit's websocket protocol (as bench/class_load.py
does), builds the default preset, then views every page it browses REPEATS times and prints the
median CPU time the server spent on each view (read from /proc, 10 ms resolution) and how many
messages the view sent. Every element is a message, and under a class's load each one also waits
its turn for Python's interpreter lock: the message count says how a page behaves under load.

Run from the repository root: .venv/bin/python -m bench.page_cost [repeats, default 8]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import websockets

from bench.class_load import BROWSED, Learner, build, teacher_opens_the_app
from bench.cpu import cpu_seconds
from tests.browser.conftest import free_port, start_app, wait_healthy

SETTLE = 0.05  # seconds for the server to finish sending before CPU time is read


async def measure(url: str, pid: int, repeats: int) -> dict[str, tuple[float, int]]:
    learner = Learner(1, url, trains=False)
    cpu: dict[str, list[float]] = {page: [] for page in BROWSED}
    messages: dict[str, int] = {}
    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None) as ws:
        await learner.view(ws, "Data")
        await build(learner, ws)
        for page in BROWSED:  # every page once, so that first-visit work is not counted
            await learner.view(ws, page)
        for _ in range(repeats):
            for page in BROWSED:
                await asyncio.sleep(SETTLE)
                before = cpu_seconds(pid)
                result = await learner.view(ws, page)
                await asyncio.sleep(SETTLE)
                cpu[page].append(cpu_seconds(pid) - before)
                messages[page] = result.messages
    return {page: (statistics.median(cpu[page]), messages[page]) for page in BROWSED}


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    port = free_port()
    server = start_app(port, Path(tempfile.mkdtemp(prefix="bench-page-cost-")) / "runs")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        asyncio.run(teacher_opens_the_app(url))
        time.sleep(2)  # TensorFlow's import finishing in the background
        costs = asyncio.run(measure(url, server.pid, repeats))
    finally:
        server.terminate()
        server.wait(timeout=30)
    for page, (cpu, messages) in costs.items():
        print(f"{page:8} CPU {cpu * 1000:4.0f} ms, {messages:3} messages (median of {repeats})")
    mean = statistics.mean(cpu for cpu, _ in costs.values())
    print(f"mean over the pages a learner browses: {mean * 1000:.0f} ms CPU per view")


if __name__ == "__main__":
    main()
