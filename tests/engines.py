"""The `engine` fixture: every engine the engine-level tests run on.

Tests written against it use only the interface of core.engine: submit a TrainingRequest, watch
and stop the handle, read the run back from the runs store.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.engine import TrainingEngine
from core.engine.threads import ThreadEngine

ENGINES = ["threads", pytest.param("ray", marks=pytest.mark.ray)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, mnist) -> Iterator[TrainingEngine]:
    """An engine of each kind, training at most two at once."""
    if request.param == "threads":
        yield ThreadEngine(lambda: mnist, max_concurrent=2)
    elif request.param == "ray":  # the test session's cluster (tests/ray_cluster.py), 2 trainers
        yield request.getfixturevalue("ray_engine")
    else:
        raise ValueError(f"no engine {request.param!r}")
