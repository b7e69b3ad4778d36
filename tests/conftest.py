"""Shared fixtures: the real MNIST set, loaded once per test session."""

import os
import tempfile
from pathlib import Path

import pytest

from core.data import Mnist, load_mnist
from core.runs import RunStore
from tests.engines import engine  # noqa: F401  (a fixture, parametrized over the engines)
from tests.ray_cluster import ray_cluster, ray_engine  # noqa: F401  (the test session's cluster)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
# Runs saved by page tests go to a throwaway folder, never to the repository's runs/.
os.environ["DIGITLAB_RUNS_DIR"] = tempfile.mkdtemp(prefix="digitlab-test-runs-")


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    return load_mnist()


@pytest.fixture
def store(tmp_path) -> RunStore:
    """An empty runs store of the test's own."""
    return RunStore(tmp_path)


@pytest.fixture(scope="session")
def small_trained_mlp(mnist):
    """A 784-64-10 MLP trained for two epochs on 10k digits (about 93% test accuracy)."""
    import keras

    from core.build import build_model
    from core.data import labels_for_loss, to_model_input
    from core.presets import PRESETS

    keras.utils.set_random_seed(0)
    spec = PRESETS["mlp_dropout"].spec
    model = build_model(spec)
    x = to_model_input(mnist.x_train[:10000], spec.input_shape)
    y = labels_for_loss(mnist.y_train[:10000], spec.compile.loss)
    model.fit(x, y, epochs=2, batch_size=128, verbose=0)
    return model
