"""How many heaps glibc's malloc keeps for a process's threads (imports no TensorFlow)."""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # mallopt parameter from glibc's malloc.h
SERVER_ARENAS = 2


def limit_malloc_arenas(count: int = SERVER_ARENAS) -> bool:
    """Let every thread started from now on share at most `count` malloc heaps; False if not glibc.

    glibc gives new threads heaps of their own, up to 8 per core. A Streamlit server runs each
    script run in a new thread, and Keras builds and calls models in them; memory freed in one of
    those heaps stays there for threads that never come back. Measured with the app's own steps
    (two models built in fresh threads, one trained in the scheduler's, per training): 16 heaps
    grew by 7.6 MB per training and 2 heaps by none (-2.5 MB, 140 MB less in all); the server
    under bench/memory.py rose 8.9 MB per training. A MALLOC_ARENA_MAX set by whoever runs the
    server wins.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, count))
    except (OSError, AttributeError):  # not glibc: its allocator keeps its own ways
        return False
