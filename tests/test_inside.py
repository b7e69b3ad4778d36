"""Look inside: activations, saliency, Grad-CAM, occlusion and first-layer weights, any layout."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.data import to_model_input
from core.inside.attribution import occlusion_map
from core.inside.layers import describe, feature_layer, last_conv
from core.inside.probe import InsideError, Probe
from core.inside.weights import filter_of, first_weights
from core.persist import load_uploaded_model
from tests.hostile_files import keras2_model_h5


def _randomized(model: keras.Model, seed: int) -> keras.Model:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()])
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_variance.assign(np.abs(layer.moving_variance.numpy()) + 0.5)
    return model


def mlp_784(activation: str = "relu", hidden: int = 32, out: str = "softmax") -> keras.Sequential:
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(hidden, activation=activation, name="hidden"),
            keras.layers.Dense(10, activation=out, name="out"),
        ]
    )


def mlp_28x28() -> keras.Sequential:
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dropout(0.3, name="drop"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ]
    )


def cnn(filters: int = 4) -> keras.Sequential:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(filters, 3, activation="relu", name="conv"),
            keras.layers.BatchNormalization(name="norm"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dropout(0.2, name="dropout"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ]
    )


LAYOUTS = {"784": mlp_784, "28x28": mlp_28x28, "28x28x1": cnn}


def _assert_matches_submodels(model: keras.Model, images: np.ndarray) -> None:
    probe = Probe(model)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    x = to_model_input(images, tuple(model.input_shape[1:]))
    for image, row in zip(images, x, strict=True):
        reading = probe.read(image / 255.0)
        assert len(reading.activations) == len(layers)
        for layer, activation in zip(layers, reading.activations, strict=True):
            expected = np.asarray(keras.Model(model.inputs[0], layer.output)(row[None]))[0]
            np.testing.assert_allclose(activation, expected, atol=1e-5, err_msg=layer.name)
        np.testing.assert_allclose(
            reading.probabilities, np.asarray(model(row[None]))[0], atol=1e-5
        )
        assert reading.target == int(np.argmax(reading.probabilities))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_activations_equal_keras_submodels_at_every_layer(layout, mnist):
    model = _randomized(LAYOUTS[layout](), seed=1)
    _assert_matches_submodels(model, mnist.x_test[:3])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_activations_of_an_uploaded_keras2_model(layout, mnist):
    source = _randomized(LAYOUTS[layout](), seed=2)
    loaded = load_uploaded_model([("tutorial.h5", keras2_model_h5(source))]).model
    _assert_matches_submodels(loaded, mnist.x_test[:2])
    np.testing.assert_allclose(
        Probe(loaded).read(mnist.x_test[0] / 255).saliency,
        Probe(source).read(mnist.x_test[0] / 255).saliency,
        atol=1e-6,
    )


@pytest.mark.parametrize("layout", ["784", "28x28x1"])
def test_saliency_agrees_with_finite_differences(layout, mnist):
    # Smooth networks (tanh, no ReLU or max-pooling kinks) so that central differences are exact.
    smooth_cnn = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(4, 3, activation="tanh", name="conv"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ]
    )
    model = _randomized(mlp_784("tanh") if layout == "784" else smooth_cnn, seed=3)
    probe = Probe(model)
    image = mnist.x_test[1] / 255.0
    target = 4
    saliency = probe.read(image, target).saliency
    assert saliency.shape == (28, 28)
    strongest = np.argsort(np.abs(saliency).ravel())[-5:]
    eps = 1e-2
    for flat in strongest:
        row, col = divmod(int(flat), 28)
        up, down = image.copy(), image.copy()
        up[row, col] += eps
        down[row, col] -= eps
        p_up, p_down = probe.probabilities(np.stack([up, down]))[:, target]
        numeric = (p_up - p_down) / (2 * eps)
        np.testing.assert_allclose(saliency[row, col], numeric, rtol=0.05, atol=1e-6)


def test_logits_are_turned_into_probabilities(mnist):
    model = _randomized(mlp_784(out="linear"), seed=4)
    reading = Probe(model).read(mnist.x_test[0] / 255)
    assert reading.probabilities.sum() == pytest.approx(1, abs=1e-5)
    logits = np.asarray(model(to_model_input(mnist.x_test[:1], (784,))))[0]
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(reading.probabilities, expected, atol=1e-5)


@pytest.fixture(scope="module")
def trained_cnn(mnist):
    keras.utils.set_random_seed(0)
    model = cnn(filters=8)
    model.compile(optimizer=keras.optimizers.Adam(0.003), loss="sparse_categorical_crossentropy")
    x = to_model_input(mnist.x_train[:6000], (28, 28, 1))
    model.fit(x, mnist.y_train[:6000], epochs=2, batch_size=64, verbose=0)
    return model


def _stroke_share(attribution: np.ndarray, image: np.ndarray) -> tuple[float, float]:
    """Share of the positive attribution on the strokes (grown by 2 pixels), and their area."""
    ink = image > 0.3
    grown = ink.copy()
    for shift in (-2, -1, 1, 2):
        grown |= np.roll(ink, shift, axis=0) | np.roll(ink, shift, axis=1)
    positive = np.clip(attribution, 0, None)
    return float(positive[grown].sum() / max(positive.sum(), 1e-12)), float(grown.mean())


def test_grad_cam_and_occlusion_have_the_input_size_and_sit_on_the_strokes(trained_cnn, mnist):
    probe = Probe(trained_cnn)
    assert probe.conv is not None and probe.conv.name == "conv"
    shares = {"grad_cam": [], "occlusion": [], "area": []}
    for index in range(20):
        image = mnist.x_test[index] / 255.0
        reading = probe.read(image)
        occlusion = occlusion_map(probe, image, reading.target)
        assert reading.grad_cam.shape == occlusion.shape == (28, 28)
        cam_share, area = _stroke_share(reading.grad_cam, image)
        occlusion_share, _ = _stroke_share(occlusion, image)
        shares["grad_cam"].append(cam_share)
        shares["occlusion"].append(occlusion_share)
        shares["area"].append(area)
    area = np.mean(shares["area"])
    # The strokes cover about half of the picture at most: the maps must favour them clearly.
    assert np.mean(shares["grad_cam"]) > area + 0.15, (np.mean(shares["grad_cam"]), area)
    assert np.mean(shares["occlusion"]) > area + 0.15, (np.mean(shares["occlusion"]), area)


def test_occlusion_explains_a_chosen_class_and_drops_where_covered(small_trained_mlp, mnist):
    probe = Probe(small_trained_mlp)
    image = mnist.x_test[0] / 255.0  # a 7
    for_seven = occlusion_map(probe, image, 7)
    # Covering part of the 7 costs the class probability, and the costliest spot is on its ink.
    assert for_seven.max() > 0.005
    row, col = np.unravel_index(np.argmax(for_seven), for_seven.shape)
    assert image[max(row - 3, 0) : row + 4, max(col - 3, 0) : col + 4].max() > 0.5
    empty = occlusion_map(probe, np.zeros((28, 28)), 7)
    np.testing.assert_allclose(empty, 0, atol=1e-6)  # covering black with black changes nothing


def test_layers_are_described_and_the_special_layers_found(trained_cnn, small_trained_mlp):
    infos = describe(trained_cnn)
    assert [i.view for i in infos] == ["maps", "maps", "maps", "vector", "vector", "vector"]
    assert infos[0].shape == (26, 26, 8)
    assert last_conv(infos).name == "conv"
    assert feature_layer(infos).name == "flatten"  # Dropout copies it at prediction time
    mlp_infos = describe(small_trained_mlp)
    assert last_conv(mlp_infos) is None
    assert feature_layer(mlp_infos).kind == "Dense"


def test_a_layer_without_a_picture_is_marked_and_still_read(mnist):
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Reshape((28, 28), name="rows"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ]
    )
    probe = Probe(_randomized(model, seed=5))
    assert [i.view for i in probe.layers] == ["none", "vector", "vector"]
    assert probe.read(mnist.x_test[0] / 255).activations[0].shape == (28, 28)


def test_a_model_that_cannot_take_a_digit_is_refused_in_words():
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(10, activation="softmax")])
    with pytest.raises(InsideError) as caught:
        Probe(model)
    assert "28x28" in str(caught.value)


def test_first_weights_as_filters_units_and_templates(trained_cnn, small_trained_mlp):
    filters = first_weights(trained_cnn)
    assert filters.kind == "filters" and filters.pictures.shape == (8, 3, 3)
    kernel = trained_cnn.get_layer("conv").get_weights()[0]
    np.testing.assert_allclose(filters.pictures[2], kernel[:, :, 0, 2])
    np.testing.assert_allclose(filter_of(trained_cnn, "conv", 2), kernel[:, :, 0, 2])
    units = first_weights(small_trained_mlp)
    assert units.kind == "units" and units.pictures.shape == (64, 28, 28) and units.total == 512
    dense = small_trained_mlp.layers[0].get_weights()[0]
    np.testing.assert_allclose(units.pictures[5], dense[:, 5].reshape(28, 28))
    one_layer = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, name="out")])
    templates = first_weights(one_layer)
    assert templates.kind == "templates" and templates.pictures.shape == (10, 28, 28)
