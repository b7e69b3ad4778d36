"""Shared fixtures: the real MNIST set, loaded once per test session."""

from pathlib import Path

import pytest

from core.data import Mnist, load_mnist

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    return load_mnist()
