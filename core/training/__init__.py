"""Training in a background thread: config, live progress, stop, continue, and the saved run.

`config` and `progress` import no TensorFlow, so that light pages (and core.presets) can use them
while TensorFlow is still loading; the job and its callbacks load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from core.training.config import (
    LR_SCHEDULES,
    MONITORS,
    VALIDATIONS,
    LrSchedule,
    Monitor,
    TrainConfig,
    Validation,
)
from core.training.progress import ACTIVE_STATUSES, Progress, Status, Summary

_HEAVY = {
    "TrainingJob": "core.training.job",
    "CosineDecayPerBatch": "core.training.callbacks",
    "seed_everything": "core.training.keras_state",
    "build_training_state": "core.training.keras_state",
    "release_freed_memory": "core.training.keras_state",
    "forget_trace_gradients": "core.training.keras_state",
    "labels_kind": "core.training.keras_state",
    "loss_name": "core.training.keras_state",
}

__all__ = [
    "ACTIVE_STATUSES",
    "LR_SCHEDULES",
    "MONITORS",
    "VALIDATIONS",
    "LrSchedule",
    "Monitor",
    "Progress",
    "Status",
    "Summary",
    "TrainConfig",
    "Validation",
    *_HEAVY,
]


def __getattr__(name: str) -> Any:
    """Import the TensorFlow-backed parts only when something asks for them."""
    if name in _HEAVY:
        return getattr(importlib.import_module(_HEAVY[name]), name)
    raise AttributeError(f"module 'core.training' has no attribute {name!r}")
