"""Small display helpers reused by several pages."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

PIXEL_SCALE = 3  # 28x28 digits are shown as 84x84 sharp pixels


def sharp_digit(image: np.ndarray) -> np.ndarray:
    """A 28x28 digit (uint8 or 0-1 floats) enlarged with square pixels, as uint8."""
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    return np.kron(image, np.ones((PIXEL_SCALE, PIXEL_SCALE), dtype=np.uint8))


def digit_grid(images: Sequence[np.ndarray], captions: Sequence[str], columns: int = 8) -> None:
    """Digits in rows of `columns`, each with its caption below."""
    for start in range(0, len(images), columns):
        cells = st.columns(columns)
        for cell, image, caption in zip(
            cells, images[start : start + columns], captions[start : start + columns], strict=False
        ):
            cell.image(sharp_digit(image), caption=caption)
