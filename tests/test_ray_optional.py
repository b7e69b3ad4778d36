"""Ray is optional: without DIGITLAB_RAY_ADDRESS the app trains in threads and never imports it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from core.engine import RAY_ADDRESS_ENV, engine_kind
from tests.conftest import ROOT

# In a fresh interpreter: every module of core/ and ui/ but the Ray engine's own two, the engine
# the server would use, and a run of every page of the app as Streamlit's AppTest runs them.
CHECK = """
import importlib, pkgutil, sys
import core, ui
from streamlit.testing.v1 import AppTest
ray_modules = {"core.engine.ray_engine", "core.engine.ray_worker"}
for package in (core, ui):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name not in ray_modules:
            importlib.import_module(info.name)
from ui.resources import engine
at = AppTest.from_file("streamlit_app.py", default_timeout=120).run()
for page in sorted(p.stem for p in __import__("pathlib").Path("app_pages").glob("*.py")):
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, (page, [e.value for e in at.exception])
print(engine().kind, "ray" in sys.modules, sorted(m for m in sys.modules if m.startswith("ray")))
"""


def test_the_app_imports_no_ray_unless_told_to():
    env = {k: v for k, v in os.environ.items() if k != RAY_ADDRESS_ENV}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[-1] == "threads False []"


def test_the_engine_is_chosen_by_the_ray_address(monkeypatch):
    monkeypatch.delenv(RAY_ADDRESS_ENV, raising=False)
    assert engine_kind() == "threads"
    monkeypatch.setenv(RAY_ADDRESS_ENV, "  ")
    assert engine_kind() == "threads"
    monkeypatch.setenv(RAY_ADDRESS_ENV, "10.0.0.5:6379")
    assert engine_kind() == "ray"


def test_no_cluster_at_the_address_is_said_at_once():
    from core.engine.ray_engine import RayEngine, RaySettings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    started = time.monotonic()
    with pytest.raises(ConnectionError, match="No Ray cluster answers"):
        RayEngine(RaySettings(address=f"127.0.0.1:{port}"))
    assert time.monotonic() - started < 5


def test_the_ray_settings_come_from_the_environment():
    from core.engine.ray_engine import RaySettings

    settings = RaySettings.from_env(
        {
            RAY_ADDRESS_ENV: " 10.0.0.5:6379 ",
            "DIGITLAB_RAY_TRAINING_CPUS": "4",
            "DIGITLAB_RAY_TRAINING_GPUS": "0.5",
            "DIGITLAB_RAY_TRAINERS": "6",
        }
    )
    assert settings == RaySettings("10.0.0.5:6379", "digitlab", 4.0, 0.5, 6)
    assert RaySettings.from_env({RAY_ADDRESS_ENV: "h:1"}) == RaySettings("h:1")
    with pytest.raises(ValueError, match=RAY_ADDRESS_ENV):
        RaySettings.from_env({})
