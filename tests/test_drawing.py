"""Drawing: canvas RGBA becomes an MNIST-like digit; drawn-digit sets survive an npz trip."""

import io

import keras
import numpy as np
import pytest
from PIL import Image

from core.data import to_model_input
from core.drawing import (
    CANVAS_SIZE,
    canvas_to_mnist,
    center_of_mass,
    digits_from_npz_bytes,
    digits_to_npz_bytes,
)
from core.predict import predict_probabilities

TRAIN_DIGITS = 10_000
CHECK_DIGITS = 500


def to_canvas(image28: np.ndarray, transparent: bool = False) -> np.ndarray:
    """A 28x28 uint8 digit as a 280x280 RGBA canvas drawing: white ink on black (or clear)."""
    big = np.asarray(Image.fromarray(image28).resize((CANVAS_SIZE, CANVAS_SIZE), Image.BILINEAR))
    rgba = np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), dtype="uint8")
    rgba[..., :3] = 255 if transparent else big[..., None]
    rgba[..., 3] = big if transparent else 255
    return rgba


def stroke_canvas(transparent: bool) -> np.ndarray:
    """A small, thick "7" drawn off-centre in the top-left corner."""
    rgba = np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), dtype="uint8")
    if not transparent:
        rgba[..., 3] = 255
    ink = np.zeros((CANVAS_SIZE, CANVAS_SIZE), dtype=bool)
    ink[20:32, 30:90] = True  # the bar
    for row in range(32, 110):  # the diagonal
        col = 90 - (row - 32) * 40 // 78
        ink[row, col - 6 : col + 6] = True
    rgba[ink, :3] = 255
    rgba[ink, 3] = 255
    return rgba


def bounding_box(image: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.mark.parametrize("transparent", [False, True])
def test_small_off_centre_digit_is_centred_and_scaled(transparent):
    digit = canvas_to_mnist(stroke_canvas(transparent))
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() >= 0 and digit.max() == pytest.approx(1, abs=0.02)
    height, width = bounding_box(digit > 0)
    assert height <= 20 and width <= 20
    assert max(height, width) >= 19  # scaled up from 90 px to fill the 20 px box
    cy, cx = center_of_mass(digit)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def test_transparent_and_black_backgrounds_agree(mnist):
    for image in mnist.x_test[:20]:
        black = canvas_to_mnist(to_canvas(image, transparent=False))
        clear = canvas_to_mnist(to_canvas(image, transparent=True))
        np.testing.assert_allclose(black, clear, atol=1e-3)


def test_empty_and_nearly_empty_canvases_give_none():
    assert canvas_to_mnist(np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), dtype="uint8")) is None
    black = np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), dtype="uint8")
    black[..., 3] = 255
    assert canvas_to_mnist(black) is None
    faint = black.copy()
    faint[100:120, 100:120, :3] = 10  # below the ink threshold
    assert canvas_to_mnist(faint) is None
    hidden = np.zeros_like(black)
    hidden[..., :3] = 255  # white paint, but fully transparent
    assert canvas_to_mnist(hidden) is None


def test_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="RGBA"):
        canvas_to_mnist(np.zeros((28, 28), dtype="uint8"))


def test_preprocessed_mnist_digits_are_read_almost_as_well(mnist):
    keras.utils.set_random_seed(0)
    # A plain MLP is sensitive to position and scale, so it is a strict judge of the recipe.
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(128, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax", name="output"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    x_train = to_model_input(mnist.x_train[:TRAIN_DIGITS], (784,))
    model.fit(x_train, mnist.y_train[:TRAIN_DIGITS], epochs=2, batch_size=64, verbose=0)

    images, labels = mnist.x_test[:CHECK_DIGITS], mnist.y_test[:CHECK_DIGITS]
    drawn = np.stack([canvas_to_mnist(to_canvas(image)) for image in images])
    drawn_uint8 = np.round(drawn * 255).astype("uint8")
    before = np.mean(predict_probabilities(model, images).argmax(axis=1) == labels)
    after = np.mean(predict_probabilities(model, drawn_uint8).argmax(axis=1) == labels)
    assert before > 0.85  # the model learned something, else the comparison means nothing
    assert after >= before - 0.03, (before, after)
    # Centred like MNIST: the drawn digits' mean centre of mass stays near (14, 14).
    centres = np.array([center_of_mass(d) for d in drawn])
    np.testing.assert_allclose(centres.mean(axis=0), [14, 14], atol=0.3)


def test_npz_round_trip():
    rng = np.random.default_rng(0)
    images = rng.random((7, 28, 28)).astype("float32")
    images[0] = 0
    images[1] = 1
    labels = np.array([0, 1, 2, 3, 4, 5, 9])
    data = digits_to_npz_bytes(images, labels)
    assert isinstance(data, bytes)
    back, back_labels = digits_from_npz_bytes(data)
    assert back.shape == (7, 28, 28) and back.dtype == np.float32
    np.testing.assert_allclose(back, images, atol=0.5 / 255 + 1e-6)  # uint8 quantisation
    np.testing.assert_array_equal(back_labels, labels)
    with np.load(io.BytesIO(data)) as f:
        assert f["x"].dtype == np.uint8 and set(f.files) == {"x", "y"}


def test_npz_shapes_are_checked():
    with pytest.raises(ValueError):
        digits_to_npz_bytes(np.zeros((2, 28, 28)), np.zeros(3))
    with pytest.raises(ValueError):
        digits_to_npz_bytes(np.zeros((2, 20, 20)), np.zeros(2))
    with pytest.raises(ValueError, match="0-9"):
        digits_to_npz_bytes(np.zeros((2, 28, 28)), [3, 10])


def test_rgb_and_high_dpi_canvases_read_like_the_plain_one(mnist):
    image = mnist.x_test[0]
    plain = canvas_to_mnist(to_canvas(image))
    rgb = canvas_to_mnist(to_canvas(image)[..., :3])  # a PNG decoded without alpha
    np.testing.assert_allclose(rgb, plain, atol=1e-6)
    # A 2x device-pixel-ratio browser may send 560x560 pixels for the 280x280 canvas.
    big = np.asarray(Image.fromarray(to_canvas(image)).resize((560, 560), Image.BILINEAR))
    assert np.abs(canvas_to_mnist(big) - plain).mean() < 0.02


def test_npz_accepts_a_list_of_drawings_and_an_empty_set():
    drawings = [np.full((28, 28), 0.5, dtype="float32"), np.zeros((28, 28), dtype="float32")]
    images, labels = digits_from_npz_bytes(digits_to_npz_bytes(drawings, [3, 8]))
    assert images.shape == (2, 28, 28) and list(labels) == [3, 8]
    images, labels = digits_from_npz_bytes(digits_to_npz_bytes([], []))
    assert images.shape == (0, 28, 28) and labels.shape == (0,)
