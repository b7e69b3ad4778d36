"""Turn a canvas drawing into an MNIST-like 28x28 input, and store a set of drawn digits."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from core.digit_shape import IMAGE_SIZE

DIGIT_BOX = 20  # MNIST scaled each digit so its longer side fits a 20x20 box
INK_THRESHOLD = 0.1  # luminance (0-1) above which a canvas pixel counts as ink
RESAMPLE = Image.Resampling.LANCZOS  # anti-aliased downscaling, like MNIST's grey edges
CANVAS_SIZE = 280  # the page's canvas, 10x the MNIST field
STROKE_WIDTH = 20  # ~2 px after scaling to 28x28, close to MNIST's stroke thickness
LUMA = np.array([0.299, 0.587, 0.114], dtype="float32")


def ink_of(rgba: np.ndarray) -> np.ndarray:
    """Ink intensity 0-1: RGB luminance weighted by alpha (transparent or black = no ink)."""
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 4) RGBA image, got shape {rgba.shape}")
    luminance = (rgba[..., :3].astype("float32") / 255) @ LUMA
    if rgba.shape[2] == 3:  # a PNG without alpha decodes as RGB: fully opaque
        return luminance
    return luminance * (rgba[..., 3].astype("float32") / 255)


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted (row, column) centre of an image with some ink."""
    total = image.sum()
    rows = np.arange(image.shape[0], dtype="float64")
    cols = np.arange(image.shape[1], dtype="float64")
    return float(image.sum(axis=1) @ rows / total), float(image.sum(axis=0) @ cols / total)


def canvas_to_mnist(rgba: np.ndarray) -> np.ndarray | None:
    """MNIST-like (28, 28) float32 0-1 image from canvas RGBA, or None if nothing is drawn."""
    ink = ink_of(rgba)
    mask = ink > INK_THRESHOLD
    if not mask.any():
        return None
    # Crop to the ink's bounding box.
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    # Strongest ink becomes 1, so a grey or translucent pen still reads like MNIST's white.
    crop = crop / crop.max()
    digit = _fit_box(crop, DIGIT_BOX)
    return _place_centered(digit, IMAGE_SIZE)


def _fit_box(image: np.ndarray, box: int) -> np.ndarray:
    """Resize so the longer side is `box` pixels, keeping the aspect ratio."""
    height, width = image.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # PIL wants (w, h)
    resized = Image.fromarray(image.astype("float32"), mode="F").resize(size, RESAMPLE)
    # Lanczos rings slightly below 0 and above 1 next to sharp edges.
    return np.clip(np.asarray(resized, dtype="float32"), 0, 1)


def _place_centered(digit: np.ndarray, field: int) -> np.ndarray:
    """Paste into a field so the centre of mass lands on (field/2, field/2), as MNIST did."""
    height, width = digit.shape
    cy, cx = center_of_mass(digit)
    # Shift by the rounded offset (the classic recipe), but never push ink off the field.
    top = min(max(0, round(field / 2 - cy)), field - height)
    left = min(max(0, round(field / 2 - cx)), field - width)
    out = np.zeros((field, field), dtype="float32")
    out[top : top + height, left : left + width] = digit
    return out


def digits_to_npz_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    """Compressed .npz of drawn digits: x uint8 (n, 28, 28) 0-255 like MNIST, y uint8."""
    images = np.asarray(images, dtype="float32")
    labels = np.asarray(labels, dtype="int64")
    if images.size == 0:  # an empty list of drawings is an empty set, not an error
        images = images.reshape(0, IMAGE_SIZE, IMAGE_SIZE)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"expected (n, 28, 28) images, got shape {images.shape}")
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if labels.size and not (labels.min() >= 0 and labels.max() <= 9):
        raise ValueError("labels must be digits 0-9")
    x = np.round(np.clip(images, 0, 1) * 255).astype("uint8")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=x, y=labels.astype("uint8"))
    return buffer.getvalue()


def digits_from_npz_bytes(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Images float32 0-1 (n, 28, 28) and int64 labels from digits_to_npz_bytes's output."""
    # allow_pickle=False: an uploaded .npz must not be able to run code.
    with np.load(io.BytesIO(data), allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if x.ndim != 3 or x.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE) or len(x) != len(y):
        raise ValueError(f"not a digits file: x {x.shape}, y {y.shape}")
    return x.astype("float32") / 255, y.astype("int64")
