"""Judge an untrusted model file in an isolated, resource-limited process before Keras sees it.

The package must never import TensorFlow or Keras: the worker process (`core._inspect_worker`)
imports it to do the checks, and it has to start fast and stay small. One module per format
(`hdf5`, `keras_zip`, `savedmodel` with `graph`, `checkpoint` with `bundle`, `archive`), the config checks in `config`/`shapes`, every allow-list and
limit in `allowlists`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from core.i18n import Message, msg
from core.inspect.allowlists import (
    ACCEPTED_INPUT_SHAPES,
    INSPECT_MEMORY_MB,
    INSPECT_TIMEOUT_S,
    MAX_UPLOAD_MB,
    MODELS,
    NUM_CLASSES,
)
from core.inspect.verdict import Refusal, UploadRefused, Verdict

ROOT = Path(__file__).resolve().parent.parent.parent

__all__ = [
    "ACCEPTED_INPUT_SHAPES",
    "MAX_UPLOAD_MB",
    "MODELS",
    "NUM_CLASSES",
    "ROOT",
    "Refusal",
    "UploadRefused",
    "Verdict",
    "inspect_upload",
    "prepare_checker",
]

# A checker process started ahead, with the default limits, waiting on stdin for its file: an
# upload then does not wait for Python to start (~40-60 ms). Each process checks one file only.
_spare: subprocess.Popen | None = None
_spare_lock = threading.Lock()


def _start_checker(memory_mb: int) -> subprocess.Popen:
    def limit_memory() -> None:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    # One BLAS thread: each extra thread reserves address space that counts against the limit.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "core._inspect_worker", "--stdin"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=limit_memory,
    )


def prepare_checker() -> None:
    """Start the next checker process now, if none is waiting (the Evaluate page calls this)."""
    global _spare
    with _spare_lock:
        if _spare is None or _spare.poll() is not None:
            _spare = _start_checker(INSPECT_MEMORY_MB)


def _checker(memory_mb: int) -> subprocess.Popen:
    global _spare
    if memory_mb != INSPECT_MEMORY_MB:
        return _start_checker(memory_mb)
    with _spare_lock:
        checker, _spare = _spare, None
    if checker is None or checker.poll() is not None:
        checker = _start_checker(memory_mb)
    return checker


def inspect_upload(
    path: Path,
    display_name: str,
    companions: tuple[Path, ...] = (),
    timeout_s: float = INSPECT_TIMEOUT_S,
    memory_mb: int = INSPECT_MEMORY_MB,
) -> Verdict:
    """Inspect a file in a separate, memory- and time-limited process; raise UploadRefused.

    companions: the data files of a checkpoint whose .index is `path`.
    """
    checker = _checker(memory_mb)
    paths = json.dumps([str(path), *map(str, companions)]) + "\n"
    try:
        stdout, _ = checker.communicate(paths.encode(), timeout=timeout_s)
    except subprocess.TimeoutExpired:
        checker.kill()
        checker.communicate()
        reason = msg("upload.too_slow", seconds=timeout_s)
        raise UploadRefused(msg("upload.refused", file=display_name, reason=reason)) from None
    finally:
        prepare_checker()
    try:
        verdict = json.loads(stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        reason = msg("upload.checker_crashed", memory_mb=memory_mb, status=checker.returncode)
        raise UploadRefused(msg("upload.refused", file=display_name, reason=reason)) from None
    if not verdict.get("ok"):
        reason = Message.from_dict(verdict["reason"])
        raise UploadRefused(msg("upload.refused", file=display_name, reason=reason))
    shape = verdict.get("input_shape")
    return Verdict(
        kind=verdict["kind"],
        config=verdict.get("config"),
        input_shape=tuple(shape) if shape else None,
        num_params=verdict.get("num_params"),
        variables=verdict.get("variables"),
        folder=verdict.get("folder", ""),
        shards=verdict.get("shards", 1),
        signature=verdict.get("signature"),
    )
