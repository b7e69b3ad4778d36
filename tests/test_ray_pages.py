"""The Train page on the Ray engine (DIGITLAB_RAY_ADDRESS set): the same page, trained elsewhere."""

from __future__ import annotations

import pytest

from core.engine.ray_engine import RayHandle
from tests.apptest_helpers import by_key, texts
from tests.test_pages_training import JOB_TIMEOUT, built_session, train_quickly
from ui.state import Keys

pytestmark = pytest.mark.ray


@pytest.fixture
def ray_server(ray_cluster, monkeypatch):
    """This process as an app server of the test cluster (its cached engine swapped for one)."""
    from ui.resources import engine

    monkeypatch.setenv("DIGITLAB_RAY_ADDRESS", ray_cluster.address)
    monkeypatch.setenv("DIGITLAB_RAY_NAMESPACE", ray_cluster.namespace)
    engine.clear()
    yield
    engine.clear()  # the page tests after this one get their thread engine back


def test_train_and_continue_on_the_train_page_through_ray(ray_server):
    at = train_quickly(built_session("train"), epochs=2)
    job = at.session_state[Keys.JOB]
    assert isinstance(job, RayHandle)
    assert job.wait(JOB_TIMEOUT), "the training did not end"
    at.run()
    assert "Training finished" in texts(at) and "Test accuracy" in texts(at)
    active = at.session_state[Keys.ACTIVE_MODEL]
    assert active.source == "trained" and active.model is job.trained_model()
    assert active.test_accuracy > 0.2 and active.run_dir == job.run_dir
    by_key(at.number_input, "train_more_epochs").set_value(1).run()
    by_key(at.button, "train_continue").click().run()
    second = at.session_state[Keys.JOB]
    assert second.run_dir == job.run_dir
    assert second.wait(JOB_TIMEOUT)
    at.run()
    assert len(second.snapshot().history["loss"]) == 3
    model = at.session_state[Keys.ACTIVE_MODEL].model
    assert model is second.trained_model()
    assert int(model.optimizer.iterations) == 3 * 29  # the optimizer state came back from Ray
