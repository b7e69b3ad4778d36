"""What a server keeps after a training: no ended job or model, and only a few malloc heaps."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path

import keras
import pytest

from core.runs import RunStore
from core.scheduler import TrainingScheduler
from core.training import TrainConfig, TrainingJob
from core.training.malloc_arenas import limit_malloc_arenas

ROOT = Path(__file__).resolve().parent.parent
GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None

# Eight threads alive at once each allocate with libc's malloc; glibc's malloc_info then lists the
# heaps it made for them. (A thread that has ended hands its heap to the next one, so they overlap.)
COUNT_HEAPS = textwrap.dedent(
    """
    import ctypes, sys, tempfile, threading
    from core.training.malloc_arenas import limit_malloc_arenas
    if sys.argv[1] == "limited":
        assert limit_malloc_arenas(2)
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.fopen.restype = ctypes.c_void_p
    barrier = threading.Barrier(8)
    def allocate():
        block = libc.malloc(64 * 1024 - 100)
        barrier.wait()
        libc.free(ctypes.c_void_p(block))
    threads = [threading.Thread(target=allocate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with tempfile.NamedTemporaryFile(suffix=".xml") as report:
        stream = libc.fopen(report.name.encode(), b"w")
        libc.malloc_info(0, ctypes.c_void_p(stream))
        libc.fclose(ctypes.c_void_p(stream))
        print(open(report.name).read().count("<heap nr="))
    """
)


def heaps_after_eight_threads(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", COUNT_HEAPS, mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC, reason="malloc heaps are glibc's; other allocators differ")
def test_threads_share_the_few_heaps_a_server_allows():
    # Without the limit glibc gives threads heaps of their own (up to 8 per core); with it the
    # eight share two, and memory one frees is reused by the others.
    assert heaps_after_eight_threads("default") >= 4
    assert heaps_after_eight_threads("limited") <= 2


def test_a_limit_set_by_whoever_runs_the_server_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False


def test_an_ended_job_and_its_model_are_freed_once_nothing_holds_them(tmp_path, mnist):
    # The scheduler's long-lived worker threads must not keep the last job (and its model) alive.
    model = keras.Sequential(
        [keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax", name="output")]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    config = TrainConfig(epochs=1, batch_size=64, subset_size=256, validation="none")
    job = TrainingJob(model, config, mnist, RunStore(tmp_path).new_run_dir("o"), {}, "t")
    scheduler = TrainingScheduler(1)
    scheduler.submit(job)
    assert job.wait(120), "the training did not end"
    assert job.status == "finished", job.snapshot().message
    job_ref, model_ref = weakref.ref(job), weakref.ref(model)
    del job, model
    gc.collect()
    assert job_ref() is None
    assert model_ref() is None
