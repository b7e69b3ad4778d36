"""Keras and TensorFlow state around a training: seeds, losses, and what tracing leaves behind."""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import keras
from tensorflow.python.framework import ops as tf_ops


def seed_everything(seed: int | None) -> None:
    """Seed Python, NumPy and Keras RNGs (process-wide) so that a run can be repeated."""
    if seed is not None:
        keras.utils.set_random_seed(seed)


def loss_name(model: keras.Model) -> str:
    """Name of the compiled loss, e.g. 'sparse_categorical_crossentropy'."""
    loss = model.loss
    if isinstance(loss, str):
        name = loss
    elif isinstance(loss, keras.losses.Loss):
        name = loss.name
    else:
        name = getattr(loss, "__name__", str(loss))
    return str(name).lower()


def labels_kind(model: keras.Model) -> str:
    """The loss name labels_for_loss needs: integer labels only for the sparse losses."""
    return (
        "sparse_categorical_crossentropy"
        if "sparse" in loss_name(model)
        else ("categorical_crossentropy")
    )


def canonical_metric(key: str) -> str:
    # Models compiled by others may log 'acc' or 'sparse_categorical_accuracy'.
    prefix = "val_" if key.startswith("val_") else ""
    base = key[len(prefix) :]
    if base in ("acc", "sparse_categorical_accuracy", "categorical_accuracy"):
        base = "accuracy"
    return prefix + base


def compiled_learning_rate(model: keras.Model) -> float | None:
    """The optimizer's learning rate, or None if it is itself a schedule."""
    value = model.optimizer.get_config().get("learning_rate")
    return float(value) if isinstance(value, (int, float)) else None


def build_training_state(model: keras.Model, x: Any, y: Any) -> None:
    """Create the optimizer's and the metrics' variables now, outside `fit`'s traced step.

    Created inside it, TensorFlow keeps their initialisation branches as functions it never frees
    (about 10 MB for each new CNN; clear_session does not help), so a server that trains model
    after model would grow without bound.
    """
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.compute_metrics(x, y, model(x), sample_weight=None)
    model.reset_metrics()


def release_freed_memory() -> None:
    """Collect garbage and hand the heap pages freed by a training back to the system.

    Without it glibc keeps them for reuse, and a server that trains model after model showed a
    resident size growing by about 6 MB per training (4 MB with it; bench/memory.py).
    """
    gc.collect()
    with suppress(OSError, AttributeError):  # not glibc: freed memory is reused, not returned
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@contextmanager
def forget_trace_gradients() -> Iterator[None]:
    """Drop the gradient functions that tracing `fit` registers in TensorFlow for good.

    Keras sums the gradients through tf.distribute's all_reduce, a @custom_gradient: each trace
    registers a global gradient function (never removed) that keeps the whole traced training graph
    alive, about 6 MB for each new model. Nothing ever differentiates through that op after fit.
    """
    registry = tf_ops._gradient_registry._registry
    before = set(registry)
    try:
        yield
    finally:
        for name in set(registry) - before:
            if name.startswith("CustomGradient-"):
                registry.pop(name, None)
