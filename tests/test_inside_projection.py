"""The map (PCA and t-SNE of the last hidden layer) and the per-epoch snapshots of a run."""

from __future__ import annotations

import keras
import numpy as np

from core.data import to_model_input
from core.inside.probe import Probe
from core.inside.projection import SNAPSHOT_SIZE, align_to, build_map, map_indices, tsne_2d
from core.snapshots import EpochSnapshots, read_snapshots


def test_map_has_the_right_points_classes_and_predictions(small_trained_mlp, mnist):
    probe = Probe(small_trained_mlp)
    digit_map, features = build_map(probe, mnist.x_test, mnist.y_test)
    assert len(digit_map.indices) == len(set(digit_map.indices.tolist())) == 2000
    assert digit_map.pca.shape == (2000, 2) and features.shape == (2000, 512)
    np.testing.assert_array_equal(digit_map.true, mnist.y_test[digit_map.indices])
    expected = small_trained_mlp.predict(
        to_model_input(mnist.x_test[digit_map.indices], (784,)), verbose=0
    ).argmax(axis=1)
    np.testing.assert_array_equal(digit_map.predicted, expected)
    np.testing.assert_array_equal(digit_map.indices, map_indices())  # the same for every model
    # A trained network's last hidden layer keeps classes apart: points sit nearer their own class.
    centres = np.stack([digit_map.pca[digit_map.true == d].mean(axis=0) for d in range(10)])
    nearest = np.argmin(((digit_map.pca[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert np.mean(nearest == digit_map.true) > 0.4


def test_tsne_reports_progress_and_places_every_point(small_trained_mlp, mnist):
    features, _ = Probe(small_trained_mlp).features(mnist.x_test[:300])
    seen: list[float] = []
    positions = tsne_2d(features, seen.append)
    assert positions.shape == (300, 2) and np.isfinite(positions).all()
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 10


def test_align_to_flips_axes_that_point_the_other_way():
    previous = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    flipped = previous * np.array([-1, 1], np.float32)
    np.testing.assert_allclose(align_to(previous, flipped), previous)


def test_snapshots_are_written_per_epoch_and_read_back(tmp_path, mnist):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(6, 3, activation="relu", name="conv"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    snapshots = EpochSnapshots(tmp_path, mnist)
    x = to_model_input(mnist.x_train[:2000], (28, 28, 1))
    model.fit(x, mnist.y_train[:2000], epochs=3, batch_size=100, verbose=0, callbacks=[snapshots])
    read = read_snapshots(tmp_path)
    assert [s.epoch for s in read] == [1, 2, 3]
    last = read[-1]
    assert last.weight_kind == "filters" and last.weights.shape == (6, 3, 3)
    kernel = model.get_layer("conv").get_weights()[0][:, :, 0, :]
    np.testing.assert_allclose(last.weights, np.moveaxis(kernel, -1, 0), atol=2e-3)  # float16
    assert last.positions.shape == (SNAPSHOT_SIZE, 2)
    np.testing.assert_array_equal(last.indices, map_indices()[:SNAPSHOT_SIZE])
    np.testing.assert_array_equal(last.true, mnist.y_test[last.indices])
    probabilities = model.predict(
        to_model_input(mnist.x_test[last.indices], (28, 28, 1)), verbose=0
    )
    np.testing.assert_array_equal(last.predicted, probabilities.argmax(axis=1))
    assert not np.allclose(read[0].weights, last.weights)  # the filters changed while training
    # Each epoch's map keeps the orientation of the one before (PCA signs are arbitrary).
    assert np.sum(read[1].positions * read[2].positions, axis=0).min() > 0


def test_a_run_made_before_snapshots_has_none(tmp_path):
    assert read_snapshots(tmp_path) == []
