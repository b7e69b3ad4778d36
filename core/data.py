"""Load the bundled MNIST set and shape it for a model's input."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.digit_shape import NUM_CLASSES
from core.i18n import MessageError, msg

if TYPE_CHECKING:
    import tensorflow as tf

DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "mnist.npz"
MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays, uint8 as published (images 0-255, labels 0-9)."""

    x_train: np.ndarray  # (60000, 28, 28)
    y_train: np.ndarray  # (60000,)
    x_test: np.ndarray  # (10000, 28, 28)
    y_test: np.ndarray  # (10000,)


class DataIntegrityError(MessageError, RuntimeError):
    """The bundled file is not the MNIST file it claims to be."""


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_mnist(path: Path = DATA_PATH) -> Mnist:
    """Load MNIST from the bundled file (sha256-verified), else download it with Keras."""
    if not path.exists():
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        return _read_only(Mnist(x_train, y_train, x_test, y_test))
    actual = file_sha256(path)
    if actual != MNIST_SHA256:
        raise DataIntegrityError(
            msg("data.damaged", path=str(path), actual=actual, expected=MNIST_SHA256)
        )
    with np.load(path) as f:
        return _read_only(Mnist(f["x_train"], f["y_train"], f["x_test"], f["y_test"]))


def _read_only(mnist: Mnist) -> Mnist:
    # The arrays are shared by every session: make accidental writes fail loudly.
    for array in (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test):
        array.setflags(write=False)
    return mnist


def to_model_input(images: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """Scale (n, 28, 28) uint8 images to float32 0-1 shaped as (n, *input_shape).

    The same numbers as the tutorials' `x.astype("float32") / 255`, made in one pass into one new
    array (60,000 digits: 188 MB, and memory the system hands over fresh is slow to touch).
    """
    x = np.divide(images, np.float32(255), dtype=np.float32)
    return x.reshape((len(images), *input_shape))


def labels_for_loss(labels: np.ndarray, loss: str) -> np.ndarray:
    """One-hot labels for categorical cross-entropy, integer labels for the sparse loss."""
    if loss == "categorical_crossentropy":
        return np.eye(NUM_CLASSES, dtype="float32")[labels]
    return labels.astype("int64")


def batches(
    images: np.ndarray,
    labels: np.ndarray,
    input_shape: tuple[int, ...],
    batch_size: int,
    shuffle: bool = False,
    seed: int | None = None,
) -> tf.data.Dataset:
    """Batches of (images scaled to 0-1 and shaped for the model, labels), for fit and evaluate.

    Used instead of handing `fit` the NumPy arrays: Keras's own pipeline for arrays (autotuned
    parallel slicing and prefetching) stalled about one epoch in three for 4-5 s with the CPU idle
    on this 2-core machine, with or without the app; this one did not once in 42 epochs. The
    images stay uint8 until a batch is drawn, which also spares a 188 MB float copy of the set.
    A shuffled dataset draws a new order every epoch, as `fit(shuffle=True)` does.
    """
    import tensorflow as tf

    pixels = tf.constant(images)
    targets = tf.constant(labels)
    shape = (-1, *input_shape)

    def gather(indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        x = tf.cast(tf.gather(pixels, indices), tf.float32) / 255.0
        return tf.reshape(x, shape), tf.gather(targets, indices)

    order = tf.data.Dataset.range(len(images))
    if shuffle:
        order = order.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = order.batch(batch_size).map(gather).prefetch(2)
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def class_counts(labels: np.ndarray) -> np.ndarray:
    """How many examples each of the ten classes has."""
    return np.bincount(labels, minlength=NUM_CLASSES)
