"""A server killed mid-training (kill -9) leaves its run interrupted after its last saved epoch,
listed with its curves and model, and it continues from there with its optimizer state."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.engine import TrainingRequest
from core.runs import HISTORY_FILE, MODEL_FILE, RunStore, new_owner_token
from core.training import TrainConfig
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_page, texts
from tests.conftest import ROOT
from ui.state import Keys

STEPS = 29  # 900 training digits / batch 32, per epoch
TRAINS_UNTIL_KILLED = """
import sys
from core.data import load_mnist
from core.engine import TrainingRequest
from core.engine.threads import ThreadEngine
from core.presets import PRESETS
from core.training import TrainConfig

owner, run_dir = sys.argv[1:]
config = TrainConfig(epochs=100, batch_size=32, subset_size=1000, validation="split")
spec = PRESETS["mlp_dropout"].spec.to_dict()
handle = ThreadEngine(load_mnist).submit(TrainingRequest(owner, run_dir, "dies", config, spec))
handle.wait()
"""


def session_of(owner: str) -> AppTest:
    """A new browser session that brings the owner's token in its URL."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["session"] = owner
    return at.run()


def saved_epochs(run_dir: Path) -> int:
    try:
        return len(json.loads((run_dir / HISTORY_FILE).read_text())["epochs"]["loss"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.fixture
def killed_run() -> tuple[RunStore, str, Path]:
    """A run whose server process was killed with SIGKILL after its first epoch was saved."""
    store = RunStore(Path(os.environ["DIGITLAB_RUNS_DIR"]))
    owner = new_owner_token()
    run_dir = store.new_run_dir(owner)
    server = subprocess.Popen(
        [sys.executable, "-c", TRAINS_UNTIL_KILLED, owner, str(run_dir)],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while saved_epochs(run_dir) < 1:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the first epoch was never saved"
            time.sleep(0.02)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
        server.stderr.close()
    assert (run_dir / MODEL_FILE).exists()
    return store, owner, run_dir


def test_a_killed_run_is_interrupted_and_continues_with_its_optimizer_state(killed_run, engine):
    store, owner, run_dir = killed_run
    (record,) = store.list_runs(owner, training=[])
    assert record.status == "interrupted" and record.has_model and record.epochs >= 1
    assert len(record.history["loss"]) == record.epochs and record.history["val_accuracy"]
    assert record.final["loss"] == record.history["loss"][-1]
    assert record.test_accuracy is None and record.epochs_planned == 100
    assert store.list_runs(owner)[0].status == "incomplete"  # without the engine: not known
    assert store.list_runs(owner, training=[str(run_dir)])[0].status == "running"
    model = store.load_model(owner, record.run_id)  # make-active loads this
    assert int(model.optimizer.iterations) == record.epochs * STEPS

    config = dataclasses.replace(TrainConfig.from_dict(record.config), epochs=1)
    handle = engine.submit(TrainingRequest(owner, str(run_dir), record.name, config, resume=True))
    assert handle.wait(TIMEOUT) and handle.status == "finished", handle.snapshot().message
    assert int(handle.trained_model().optimizer.iterations) == (record.epochs + 1) * STEPS
    (after,) = store.list_runs(owner, training=[])
    assert after.status == "finished" and after.epochs == record.epochs + 1
    assert after.history["loss"][: record.epochs] == record.history["loss"]
    assert after.test_accuracy is not None and after.created == record.created


def test_the_runs_page_offers_continue_and_make_active_for_an_interrupted_run(killed_run):
    store, owner, run_dir = killed_run
    at = open_page("runs", session_of(owner))
    assert at.dataframe[0].value["Status"][0] == "interrupted"
    assert "interrupted after epoch" in texts(at)
    by_key(at.button, "runs_activate").click().run()
    assert at.session_state[Keys.ACTIVE_MODEL].run_dir == str(run_dir)
    by_key(at.number_input, "runs_more_epochs").set_value(1).run()
    by_key(at.button, "runs_continue").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = at.session_state[Keys.JOB]
    assert job.run_dir == str(run_dir) and job.wait(TIMEOUT)
    at = open_page("train", at)  # where the button went (AppTest stays on the page it ran)
    assert "Training finished" in texts(at)
    (record,) = store.list_runs(owner, training=[])
    assert record.status == "finished" and record.epochs == saved_epochs(run_dir)
    assert at.session_state[Keys.ACTIVE_MODEL].model is job.trained_model()
