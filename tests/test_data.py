import shutil

import numpy as np
import pytest

from core.data import (
    DataIntegrityError,
    batches,
    class_counts,
    labels_for_loss,
    load_mnist,
    to_model_input,
)
from tests.conftest import ROOT


def test_bundled_mnist_is_the_real_set(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_test.shape == (10000, 28, 28)
    assert mnist.x_train.dtype == np.uint8 and mnist.x_train.max() == 255
    assert list(mnist.y_test[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert list(mnist.y_train[:5]) == [5, 0, 4, 1, 9]
    assert list(class_counts(mnist.y_train)) == [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ]


def test_shared_arrays_are_read_only(mnist):
    with pytest.raises(ValueError):
        mnist.x_train[0, 0, 0] = 1


def test_damaged_file_is_refused(tmp_path):
    damaged = tmp_path / "mnist.npz"
    shutil.copy(ROOT / "data" / "mnist.npz", damaged)
    with open(damaged, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    with pytest.raises(DataIntegrityError, match="sha256"):
        load_mnist(damaged)


@pytest.mark.parametrize("shape", [(784,), (28, 28), (28, 28, 1)])
def test_model_input_is_scaled_and_shaped(mnist, shape):
    x = to_model_input(mnist.x_test[:5], shape)
    assert x.shape == (5, *shape) and x.dtype == np.float32
    # Exactly the tutorials' x.astype("float32") / 255.
    np.testing.assert_array_equal(x.reshape(5, 28, 28), mnist.x_test[:5].astype("float32") / 255)


def test_labels_follow_the_loss():
    labels = np.array([3, 0, 9])
    one_hot = labels_for_loss(labels, "categorical_crossentropy")
    assert one_hot.shape == (3, 10) and list(one_hot.argmax(axis=1)) == [3, 0, 9]
    assert list(labels_for_loss(labels, "sparse_categorical_crossentropy")) == [3, 0, 9]


def test_batches_scale_shape_and_reshuffle_every_epoch():
    images = np.arange(10 * 28 * 28, dtype=np.uint8).reshape(10, 28, 28)
    labels = np.arange(10)
    ordered = list(batches(images, labels, (784,), batch_size=4))
    assert [len(y) for _, y in ordered] == [4, 4, 2]
    x, y = ordered[0]
    np.testing.assert_allclose(x.numpy(), to_model_input(images[:4], (784,)))
    np.testing.assert_array_equal(y.numpy(), labels[:4])

    shuffled = batches(images, labels, (28, 28, 1), batch_size=3, shuffle=True, seed=1)
    epochs = [np.concatenate([y.numpy() for _, y in shuffled]) for _ in range(2)]
    for order in epochs:
        assert sorted(order) == list(labels)  # every digit once per epoch
    assert list(epochs[0]) != list(epochs[1])  # a new order each epoch
    x, y = next(iter(shuffled))
    assert x.shape == (3, 28, 28, 1)
    np.testing.assert_allclose(x.numpy(), to_model_input(images[y.numpy()], (28, 28, 1)))
