"""CPU time of a server process and of its threads, read from /proc (Linux)."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _fields(stat_file: Path) -> list[str]:
    """The fields of a /proc .../stat file after the (name), from field 3 (state) on."""
    return stat_file.read_text().rsplit(")", 1)[1].split()


def _seconds(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / TICKS  # user + system


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    return _seconds(_fields(Path(f"/proc/{pid}/stat")))


def thread_seconds(pid: int, min_niceness: int | None = None) -> dict[int, float]:
    """CPU seconds of each thread alive now (those at min_niceness or above), by thread id."""
    seconds = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = _fields(task / "stat")
        except OSError:  # ended meanwhile
            continue
        if min_niceness is None or int(fields[16]) >= min_niceness:
            seconds[int(task.name)] = _seconds(fields)
    return seconds
