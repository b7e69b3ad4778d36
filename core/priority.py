"""Trainings yield the CPU to page views: the threads that train run at a lower priority.

On a class server two trainings can hold both cores; at the same priority every page view then
waits its turn behind them. Linux gives each thread its own niceness, so the training threads and
TensorFlow's own pools are reniced; threads that serve pages are not. TensorFlow names its pools
`tf_...`, except the intra-op pool that runs the kernels (most of a training's CPU): its threads
keep the process's name. So every native thread that Python did not start and nobody named counts
as TensorFlow's (numpy's BLAS threads, idle outside large products, too).
Elsewhere (a learner's laptop: macOS, Windows) this does nothing.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

TRAINING_NICENESS = 10  # at 10 a thread weighs ~1/10 of a default one in Linux's scheduler
TENSORFLOW_THREAD_PREFIX = "tf_"
THREADS = Path("/proc/self/task")


def lower_training_priority() -> None:
    """Renice this thread and TensorFlow's worker threads to TRAINING_NICENESS (Linux only)."""
    if not hasattr(os, "setpriority") or not THREADS.is_dir():
        return
    for thread_id in {threading.get_native_id(), *tensorflow_thread_ids()}:
        try:
            # Never raise a priority: an unprivileged process may only lower it.
            if os.getpriority(os.PRIO_PROCESS, thread_id) < TRAINING_NICENESS:
                os.setpriority(os.PRIO_PROCESS, thread_id, TRAINING_NICENESS)
        except OSError:  # the thread has ended meanwhile
            continue


def tensorflow_thread_ids() -> list[int]:
    """Native ids of this process's TensorFlow threads: its named pools and graph runners, and the
    unnamed native threads (its intra-op pool)."""
    python_threads = {thread.native_id for thread in threading.enumerate()}
    unnamed = _thread_name(THREADS / str(os.getpid()))  # a new thread inherits the process's name
    ids = []
    for thread in THREADS.iterdir():
        name = _thread_name(thread)
        if name is None:
            continue
        if name.startswith(TENSORFLOW_THREAD_PREFIX) or (
            name == unnamed and int(thread.name) not in python_threads
        ):
            ids.append(int(thread.name))
    return ids


def _thread_name(thread: Path) -> str | None:
    try:
        return (thread / "comm").read_text()
    except OSError:  # ended meanwhile
        return None
