"""Download formats round-trip; Keras 2 files and weight uploads load with the same predictions."""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest

from core.data import load_mnist, to_model_input
from core.persist import (
    FORMATS,
    UploadRefused,
    download_filename,
    group_uploads,
    input_for_model,
    load_h5_for_training,
    load_instructions,
    load_uploaded_model,
    model_to_bytes,
)
from tests.hostile_files import keras2_config, keras2_model_h5, keras2_weights_h5

N_TRAIN = 1000
N_CHECK = 200


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def _cnn() -> keras.Sequential:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
            keras.layers.BatchNormalization(name="norm"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dropout(0.2, name="dropout"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ],
        name="cnn",
    )


def _mlp_784(activation: str = "softmax") -> keras.Sequential:
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(32, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation=activation, name="out"),
        ],
        name="mlp",
    )


def _mlp_28x28() -> keras.Sequential:
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ],
        name="mlp2d",
    )


@pytest.fixture(scope="module")
def trained_cnn(mnist):
    model = _cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = to_model_input(mnist.x_train[:N_TRAIN], (28, 28, 1))
    model.fit(x, mnist.y_train[:N_TRAIN], epochs=1, batch_size=64, verbose=0)
    return model


def _predict(model: keras.Model, images: np.ndarray) -> np.ndarray:
    return model.predict(input_for_model(model, images), verbose=0)


@pytest.mark.parametrize("fmt", ["keras", "h5", "weights", "json"])
def test_each_download_format_loads_back_with_its_instruction(fmt, trained_cnn, mnist, tmp_path):
    data = model_to_bytes(trained_cnn, fmt)
    assert len(data) > 100
    (tmp_path / f"model{FORMATS[fmt]}").write_bytes(data)
    namespace = {"keras": keras, "model": _cnn()}  # the architecture, for weights-only files
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(load_instructions(fmt), namespace)  # the exact line shown to users
    finally:
        os.chdir(cwd)
    restored = namespace["model"]
    images = mnist.x_test[:N_CHECK]
    if fmt == "json":  # architecture only: same structure, fresh weights
        assert json.loads(restored.to_json())["config"]["layers"][1]["config"]["filters"] == 4
        restored.set_weights(trained_cnn.get_weights())
    np.testing.assert_allclose(_predict(restored, images), _predict(trained_cnn, images), atol=1e-5)


def test_h5_round_trip_keeps_optimizer_state_and_training_continues(trained_cnn, mnist, tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(model_to_bytes(trained_cnn, "h5"))
    with pytest.raises(ValueError, match="Unknown variable"):  # the Keras 3.15 trap
        broken = keras.models.load_model(path)
        broken.fit(to_model_input(mnist.x_train[:8], (28, 28, 1)), mnist.y_train[:8], verbose=0)
    restored = load_h5_for_training(path)
    steps = int(trained_cnn.optimizer.iterations.numpy())
    assert steps > 0
    assert int(restored.optimizer.iterations.numpy()) == steps
    saved = {v.path: v.numpy() for v in trained_cnn.optimizer.variables}
    loaded = {v.path: v.numpy() for v in restored.optimizer.variables}
    assert len(saved) > 2 and saved.keys() == loaded.keys()
    for key, value in saved.items():
        np.testing.assert_allclose(loaded[key], value)
    x = to_model_input(mnist.x_train[:64], (28, 28, 1))
    restored.fit(x, mnist.y_train[:64], epochs=1, batch_size=64, verbose=0)
    assert int(restored.optimizer.iterations.numpy()) == steps + 1


def test_h5_download_does_not_strip_the_optimizer_from_a_later_keras_download(
    trained_cnn, tmp_path
):
    model_to_bytes(trained_cnn, "h5")  # Keras's legacy saver empties the compile config
    path = tmp_path / "model.keras"
    path.write_bytes(model_to_bytes(trained_cnn, "keras"))
    restored = keras.models.load_model(path)
    assert isinstance(restored.optimizer, keras.optimizers.Adam)


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_downloads_upload_back_safely(fmt, trained_cnn, mnist):
    loaded = load_uploaded_model([(f"cnn{FORMATS[fmt]}", model_to_bytes(trained_cnn, fmt))])
    assert loaded.kind == fmt and loaded.input_shape == (28, 28, 1)
    assert not loaded.outputs_logits
    images = mnist.x_test[:N_CHECK]
    np.testing.assert_allclose(
        _predict(loaded.model, images), _predict(trained_cnn, images), atol=1e-5
    )


def test_json_plus_weights_upload(trained_cnn, mnist):
    files = [
        ("cnn.weights.h5", model_to_bytes(trained_cnn, "weights")),
        ("cnn.json", model_to_bytes(trained_cnn, "json")),
    ]
    loaded = load_uploaded_model(files)
    assert loaded.kind == "json+weights" and loaded.source_files == ["cnn.weights.h5", "cnn.json"]
    images = mnist.x_test[:N_CHECK]
    np.testing.assert_allclose(
        _predict(loaded.model, images), _predict(trained_cnn, images), atol=1e-5
    )


def test_weights_only_upload_loads_into_a_copy_of_the_architecture(trained_cnn, mnist):
    architecture = _cnn()
    before = [w.copy() for w in architecture.get_weights()]
    loaded = load_uploaded_model(
        [("cnn.weights.h5", model_to_bytes(trained_cnn, "weights"))], architecture=architecture
    )
    assert loaded.kind == "weights" and loaded.model is not architecture
    images = mnist.x_test[:N_CHECK]
    np.testing.assert_allclose(
        _predict(loaded.model, images), _predict(trained_cnn, images), atol=1e-5
    )
    for old, new in zip(before, architecture.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_weights_without_architecture_and_json_without_weights_are_explained(trained_cnn):
    with pytest.raises(UploadRefused, match="only weights"):
        load_uploaded_model([("cnn.weights.h5", model_to_bytes(trained_cnn, "weights"))])
    with pytest.raises(UploadRefused, match="without weights"):
        load_uploaded_model([("cnn.json", model_to_bytes(trained_cnn, "json"))])


def _randomize(model: keras.Model, seed: int) -> keras.Model:
    # Non-trivial weights everywhere, BatchNorm moments included, so any mix-up shows.
    rng = np.random.default_rng(seed)
    model.set_weights(
        [rng.uniform(0.5, 1.5, w.shape).astype("float32") * np.sign(rng.normal(size=w.shape) + 0.5)
         if w.ndim else w for w in model.get_weights()]
    )  # fmt: skip
    norm = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in norm:
        layer.moving_variance.assign(np.abs(layer.moving_variance.numpy()) + 0.5)
    return model


@pytest.mark.parametrize("explicit_input_layer", [False, True])
@pytest.mark.parametrize("make", [_mlp_784, _mlp_28x28, _cnn], ids=["784", "28x28", "28x28x1"])
def test_keras2_h5_loads_with_same_predictions(make, explicit_input_layer, mnist):
    source = _randomize(make(), seed=1)
    data = keras2_model_h5(source, explicit_input_layer)
    loaded = load_uploaded_model([("tutorial.h5", data)])
    assert loaded.kind == "h5" and loaded.input_shape == tuple(source.input_shape[1:])
    images = mnist.x_test[:N_CHECK]
    np.testing.assert_allclose(_predict(loaded.model, images), _predict(source, images), rtol=1e-4)


@pytest.mark.parametrize("make", [_mlp_784, _mlp_28x28, _cnn], ids=["784", "28x28", "28x28x1"])
def test_keras2_json_plus_keras2_weights(make, mnist):
    source = _randomize(make(), seed=2)
    config = keras2_config(source)
    assert "batch_input_shape" in config["config"]["layers"][0]["config"]
    files = [("net.json", json.dumps(config).encode()), ("net.h5", keras2_weights_h5(source))]
    with pytest.raises(Exception):  # noqa: B017 - plain Keras 3 refuses these files as they are
        keras.models.model_from_json(json.dumps(config)).set_weights(source.get_weights())
    loaded = load_uploaded_model(files)
    images = mnist.x_test[:N_CHECK]
    np.testing.assert_allclose(_predict(loaded.model, images), _predict(source, images), rtol=1e-4)


def test_logits_model_is_detected(mnist):
    source = _randomize(_mlp_784(activation="linear"), seed=3)
    loaded = load_uploaded_model([("logits.h5", keras2_model_h5(source))])
    assert loaded.outputs_logits
    probs = load_uploaded_model([("p.keras", model_to_bytes(_mlp_784(), "keras"))])
    assert not probs.outputs_logits


def test_input_for_model_feeds_every_input_shape(mnist):
    images = mnist.x_test[:3]
    for make, shape in [(_mlp_784, (3, 784)), (_mlp_28x28, (3, 28, 28)), (_cnn, (3, 28, 28, 1))]:
        x = input_for_model(make(), images)
        assert x.shape == shape and x.dtype == np.float32
        assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.5


def test_download_filename_and_grouping():
    assert download_filename("CNN", "keras", 0.99123) == "mnist-cnn-acc0.991.keras"
    assert download_filename("../my net", "weights", None) == "mnist-my-net.weights.h5"
    assert download_filename("mnist mlp", "h5", 0.5) == "mnist-mlp-acc0.500.h5"
    files = [
        ("a.json", b"1"),
        ("b.keras", b"2"),
        ("c.json", b"3"),
        ("c2.h5", b"4"),
        ("a.weights.h5", b"5"),
    ]
    groups = [[name for name, _ in group] for group in group_uploads(files)]
    assert groups == [["a.json", "a.weights.h5"], ["b.keras"], ["c.json", "c2.h5"]]
