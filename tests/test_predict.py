"""predict: same probabilities whatever input shape a model expects; logits get softmaxed."""

import keras
import numpy as np
import pytest

from core.predict import as_probabilities, is_probability, predict_probabilities, predict_single

N = 1500  # more than one predict batch, so batching is exercised


def dense_model(input_shape: tuple[int, ...], activation: str | None) -> keras.Sequential:
    """Flatten then Dense(10): the same weights fit any 784-pixel input shape."""
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(10, activation=activation, name="output"),
        ]
    )


@pytest.fixture(scope="module")
def models() -> dict[tuple[int, ...], keras.Sequential]:
    keras.utils.set_random_seed(1)
    shapes = [(784,), (28, 28), (28, 28, 1)]
    built = {shape: dense_model(shape, "softmax") for shape in shapes}
    weights = built[(784,)].get_weights()
    for model in built.values():
        model.set_weights(weights)
    return built


def reference_probabilities(model: keras.Sequential, images: np.ndarray) -> np.ndarray:
    """Plain numpy forward pass of the Flatten-Dense-softmax model."""
    kernel, bias = model.get_weights()
    logits = (images.reshape(len(images), -1).astype("float64") / 255) @ kernel + bias
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_every_input_shape_gives_the_same_probabilities(models, mnist):
    images = mnist.x_test[:N]
    expected = reference_probabilities(models[(784,)], images)
    for shape, model in models.items():
        probs = predict_probabilities(model, images, batch_size=1000)
        assert probs.shape == (N, 10), shape
        assert probs.dtype == np.float32
        np.testing.assert_allclose(probs, expected, atol=1e-5, err_msg=str(shape))


def test_predict_single_matches_bulk_prediction(models, mnist):
    images = mnist.x_test[:5]
    for shape, model in models.items():
        bulk = predict_probabilities(model, images)
        for i, image in enumerate(images):
            single = predict_single(model, image.astype("float32") / 255)
            assert single.shape == (10,)
            np.testing.assert_allclose(single, bulk[i], atol=1e-6, err_msg=str(shape))


def test_logits_model_is_softmaxed(models, mnist):
    images = mnist.x_test[:N]
    logits_model = dense_model((28, 28, 1), None)
    logits_model.set_weights(models[(784,)].get_weights())
    raw = np.asarray(logits_model.predict_on_batch(images[:10].reshape(10, 28, 28, 1) / 255))
    assert not is_probability(raw)  # the check below would be vacuous otherwise
    expected = reference_probabilities(logits_model, images)
    np.testing.assert_allclose(predict_probabilities(logits_model, images), expected, atol=1e-5)
    single = predict_single(logits_model, images[0].astype("float32") / 255)
    np.testing.assert_allclose(single, expected[0], atol=1e-5)
    assert single.sum() == pytest.approx(1, abs=1e-5)


def test_probabilities_pass_through_unchanged():
    probs = np.array([[0.1] * 10, [0.0] * 9 + [1.0]], dtype="float32")
    np.testing.assert_array_equal(as_probabilities(probs), probs)


def test_softmax_of_huge_logits_does_not_overflow():
    probs = as_probabilities(np.array([[1000.0, 0.0] + [-1000.0] * 8]))
    assert np.all(np.isfinite(probs))
    assert probs[0, 0] == pytest.approx(1)


def test_non_mnist_model_is_refused():
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(name="flatten")])
    with pytest.raises(ValueError, match="28x28"):
        predict_probabilities(model, np.zeros((2, 28, 28), dtype="uint8"))


def test_models_with_free_or_several_inputs_are_refused():
    free = keras.Sequential(
        [keras.Input((None, None, 1)), keras.layers.GlobalAveragePooling2D(name="pool")]
    )
    first, second = keras.Input((784,), name="first"), keras.Input((784,), name="second")
    pair = keras.Model([first, second], keras.layers.Add(name="add")([first, second]))
    for model in (free, pair):
        with pytest.raises(ValueError, match="28x28"):
            predict_single(model, np.zeros((28, 28), dtype="float32"))
