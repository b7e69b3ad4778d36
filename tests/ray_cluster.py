"""A real Ray cluster for the tests: a head on 127.0.0.1 with 2 CPUs (scripts/ray_cluster.sh),
started once per test session and stopped at its end, and the RayEngine settings to reach it.

Without Ray installed (requirements-ray.txt) the tests that need it are skipped, saying so; with
DIGITLAB_REQUIRE_RAY=1 (test.sh, CI) they fail instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "ray_cluster.sh"
CPUS = 2
TRAINERS = 2  # one CPU each
NAMESPACE = "digitlab-test"
WARM_TIMEOUT = 300  # seconds for the trainers to load TensorFlow and MNIST on a busy machine
TIMINGS: dict[str, float] = {}  # seconds, for the report at the end of the session


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_env(state: Path, port: int) -> dict[str, str]:
    """The environment scripts/ray_cluster.sh runs with for the test cluster."""
    bin_dir = Path(sys.executable).parent
    return os.environ | {
        "DIGITLAB_RAY_DIR": str(state),
        "DIGITLAB_RAY_PORT": str(port),
        "DIGITLAB_RAY_CPUS": str(CPUS),
        "RAY": str(bin_dir / "ray"),
        "PYTHON": sys.executable,
    }


def client_env(state: Path) -> dict[str, str]:
    """What a client of the test cluster (this process, a second app server) needs set."""
    return {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(state / "auth_token"),
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # keep 127.0.0.1 (read when ray imports)
    }


@pytest.fixture(scope="session")
def ray_cluster():
    """RaySettings of a running test cluster whose trainers are warm."""
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("DIGITLAB_REQUIRE_RAY") == "1":
            pytest.fail("DIGITLAB_REQUIRE_RAY=1 but Ray is not installed (requirements-ray.txt)")
        pytest.skip("Ray is not installed: pip install -r requirements-ray.txt")
    from core.engine.ray_engine import RayEngine, RaySettings

    state = Path(tempfile.mkdtemp(prefix="dl-ray-"))  # short: Ray's socket paths must fit
    port = _free_port()
    env = cluster_env(state, port)
    started = time.monotonic()
    subprocess.run(["bash", str(SCRIPT), "start"], env=env, check=True, capture_output=True)
    TIMINGS["cluster start"] = time.monotonic() - started
    os.environ.update(client_env(state))
    settings = RaySettings(address=f"127.0.0.1:{port}", namespace=NAMESPACE, trainers=TRAINERS)
    try:
        engine = RayEngine(settings)
        deadline = time.monotonic() + WARM_TIMEOUT
        while engine.call(engine.queue.ready_count.remote()) < TRAINERS:
            assert time.monotonic() < deadline, "the Ray trainers did not warm up in time"
            time.sleep(0.5)
        TIMINGS["cluster start to warm trainers"] = time.monotonic() - started
        yield settings
    finally:
        import ray

        ray.shutdown()
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, check=False)
        shutil.rmtree(state, ignore_errors=True)
        print("\nRay test cluster:", ", ".join(f"{k} {v:.1f} s" for k, v in TIMINGS.items()))


@pytest.fixture
def ray_engine(ray_cluster) -> Iterator:
    """A RayEngine on the test cluster; trainings its tests leave active are stopped after."""
    from core.engine.ray_engine import RayEngine

    engine = RayEngine(ray_cluster)
    yield engine
    handles = []
    for owner in OWNERS:
        handle = engine.active_job(owner)
        if handle is not None:
            handle.stop()
            handles.append(handle)
    for handle in handles:
        handle.wait(60)
    # A trainer that a test killed comes back warm before the next test (Ray restarts it).
    deadline = time.monotonic() + WARM_TIMEOUT
    while engine.call(engine.queue.ready_count.remote()) < TRAINERS:
        assert time.monotonic() < deadline, "a Ray trainer did not come back"
        time.sleep(0.5)


# Every owner the Ray tests train for (the cluster outlives a test: none may stay busy).
OWNERS = ("alice", "bob", "carol", "mallory", *(f"fifo-{i}" for i in range(1, 6)))
