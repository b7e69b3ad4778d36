"""CPU time of a server process and of its threads, read from /proc (Linux)."""

from __future__ import annotations

import os
from pathlib import Path

from core.priority import TRAINING_NICENESS

TICKS = os.sysconf("SC_CLK_TCK")


def _fields(stat_file: Path) -> list[str]:
    """The fields of a /proc .../stat file after the (name), from field 3 (state) on."""
    return stat_file.read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = _fields(Path(f"/proc/{pid}/stat"))
    return (int(fields[11]) + int(fields[12])) / TICKS


def training_thread_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of each thread that trains now: the app runs the trainer threads and
    TensorFlow's pools at TRAINING_NICENESS (core/priority.py), and nothing else."""
    seconds = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = _fields(task / "stat")
        except OSError:  # ended meanwhile
            continue
        if int(fields[16]) >= TRAINING_NICENESS:
            seconds[int(task.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    return seconds


def all_thread_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of every thread alive now, by thread id."""
    seconds = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = _fields(task / "stat")
        except OSError:
            continue
        seconds[int(task.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    return seconds
