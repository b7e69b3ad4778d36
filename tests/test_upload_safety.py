"""Hostile uploads are refused with a plain message, never run code, never take the app down."""

from __future__ import annotations

import base64
import json
import marshal
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

import core.inspect as inspect_module
from core.i18n import Message
from core.inspect import ROOT, inspect_upload, prepare_checker
from core.persist import UploadRefused, load_uploaded_model
from tests.hostile_files import (
    _lambda_h5,
    _mlp_config,
    checkpoint_corpus,
    hostile_corpus,
    hostile_savedmodels,
    keras_zip,
    lambda_code,
)


@pytest.fixture(scope="module")
def marker(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("marker") / "pwned.txt"


def test_the_lambda_payload_is_live(tmp_path):
    # Proves the corpus is real: run the payload on purpose, it writes its marker.
    target = tmp_path / "ran.txt"
    code = marshal.loads(base64.b64decode(lambda_code(target)))
    assert types.FunctionType(code, {})(41) == 41
    assert target.read_text() == "pwned"


def test_every_hostile_file_is_refused_with_its_message(marker):
    corpus = hostile_corpus(marker)
    assert len(corpus) >= 15
    problems = []
    for case in corpus:
        try:
            load_uploaded_model(case.files, architecture=case.architecture)
            problems.append(f"{case.name}: loaded")
        except UploadRefused as refusal:
            message = str(refusal)
            if case.expected.lower() not in message.lower():
                problems.append(f"{case.name}: {message!r} lacks {case.expected!r}")
            if case.files[0][0] not in message and case.files[-1][0] not in message:
                problems.append(f"{case.name}: message does not name the file: {message!r}")
    assert not problems, "\n".join(problems)
    assert not marker.exists()
    # The test process is fine afterwards: Keras still works here.
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="ok")])
    assert model.predict(np.ones((1, 2)), verbose=0).shape == (1, 1)


def test_keras_safe_mode_refuses_the_lambda_too(marker, tmp_path):
    # Defence in depth: even without the inspector, Keras's safe mode stops both payloads.
    path = tmp_path / "lambda.keras"
    lambda_layer = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "boom",
            "function": {
                "class_name": "__lambda__",
                "config": {"code": lambda_code(marker).decode(), "defaults": None, "closure": None},
            },
            "arguments": {},
        },
        "registered_name": None,
    }
    path.write_bytes(keras_zip(_mlp_config(lambda_layer), b""))
    with pytest.raises(ValueError, match="unsafe|safe_mode|Lambda"):
        keras.models.load_model(path, safe_mode=True)
    h5_path = tmp_path / "lambda.h5"
    h5_path.write_bytes(_lambda_h5(marker))
    with pytest.raises(ValueError, match="unsafe|safe_mode|Lambda"):
        keras.models.load_model(h5_path, safe_mode=True)
    assert not marker.exists()


def test_the_inspector_process_has_a_memory_limit(tmp_path):
    path = tmp_path / "big.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        # 160 MB when read, under the declared-size cap, a few kB on disk.
        f.create_dataset("dense/kernel", shape=(40 << 20,), dtype="float32", chunks=(1 << 20,))
    with pytest.raises(UploadRefused, match="memory"):
        inspect_upload(path, "big.h5", memory_mb=150)
    assert inspect_upload(path, "big.h5").kind == "h5_weights"  # fine under the normal limit


def test_the_inspector_process_has_a_time_limit(tmp_path):
    path = tmp_path / "weights.h5"  # its check imports h5py first, far longer than 10 ms
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        f.create_dataset("dense/kernel", data=np.zeros((784, 10), "float32"))
    start = time.perf_counter()
    with pytest.raises(UploadRefused, match="longer than"):
        inspect_upload(path, "weights.h5", timeout_s=0.01)
    assert time.perf_counter() - start < 5
    assert inspect_upload(path, "weights.h5").kind == "h5_weights"  # the next checker is fine


def test_a_checker_waits_ready_and_checks_one_file_only(tmp_path):
    """The checker started ahead is a fresh process for every upload, never one reused."""
    path = tmp_path / "arch.json"
    path.write_text(json.dumps({"class_name": "Sequential"}))
    prepare_checker()
    first = inspect_module._spare
    with pytest.raises(UploadRefused):
        inspect_upload(path, "arch.json")
    assert first.poll() is not None, "the checker that read a file is still running"
    assert inspect_module._spare is not first and inspect_module._spare.poll() is None


def test_the_worker_imports_neither_tensorflow_nor_keras(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(keras_zip(_mlp_config(), b""))
    probe = (
        "import sys; from core.inspect.worker import main; main([sys.argv[1]]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", probe, str(path)], cwd=ROOT, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "[]"
    reason = Message.from_dict(json.loads(lines[0])["reason"])
    assert "model.weights.h5 inside the archive" in str(reason)  # empty weights file
    assert elapsed < 5  # typically 0.3-0.5 s; generous for a busy 2-core machine


def test_uploaded_names_never_become_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UploadRefused):
        load_uploaded_model([("../../evil.h5", b"not a model")])
    assert not (tmp_path.parent.parent / "evil.h5").exists()
    assert os.listdir(tmp_path) == []


def test_hostile_savedmodels_really_act_when_tensorflow_runs_them(tmp_path):
    # Proves the SavedModel corpus is live: plain TensorFlow loading and calling one writes.
    import tensorflow as tf

    marker = tmp_path / "ran.txt"
    cases = {c.name: c for c in hostile_savedmodels(tmp_path / "models", marker, huge=False)}
    assert not marker.exists()
    for name in ("writes-in-called-function", "writes-file"):
        served = tf.saved_model.load(str(tmp_path / "models" / name))
        served.signatures["serving_default"](tf.zeros([1, 784]))
        assert marker.read_text() == "pwned"
        marker.unlink()
    assert len(cases) == 11


def test_hostile_savedmodels_are_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "marker" / "pwned.txt"
    marker.parent.mkdir()
    cases = hostile_savedmodels(tmp_path / "models", marker)
    problems = []
    for case in cases:
        try:
            load_uploaded_model(case.files)
            problems.append(f"{case.name}: loaded")
        except UploadRefused as refusal:
            message = str(refusal)
            if case.expected not in message or case.files[0][0] not in message:
                problems.append(f"{case.name}: {message!r} lacks {case.expected!r} or the name")
    assert not problems, "\n".join(problems)
    assert not marker.exists() and os.listdir(marker.parent) == []


def test_damaged_and_mismatched_checkpoints_are_refused():
    problems = []
    for case in checkpoint_corpus():
        try:
            load_uploaded_model(case.files)
            problems.append(f"{case.name}: loaded")
        except UploadRefused as refusal:
            message = str(refusal)
            if case.expected not in message:
                problems.append(f"{case.name}: {message!r} lacks {case.expected!r}")
            if not any(name in message for name, _ in case.files):
                problems.append(f"{case.name}: the message names no file: {message!r}")
    assert not problems, "\n".join(problems)
