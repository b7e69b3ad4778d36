"""Small display helpers reused by several pages."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np
import streamlit as st
from PIL import Image

PIXEL_SCALE = 3  # 28x28 digits are shown as 84x84 sharp pixels


def _as_uint8(image: np.ndarray) -> np.ndarray:
    """A digit's pixels as 0-255 uint8, from uint8 or 0-1 floats."""
    if image.dtype == np.uint8:
        return image
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def sharp_digit(image: np.ndarray) -> np.ndarray:
    """A 28x28 digit (uint8 or 0-1 floats) enlarged with square pixels, as uint8."""
    return np.kron(_as_uint8(image), np.ones((PIXEL_SCALE, PIXEL_SCALE), dtype=np.uint8))


def digit_png(image: np.ndarray) -> bytes:
    """A 28x28 digit (uint8 or 0-1 floats) as a PNG at its own size."""
    buffer = io.BytesIO()
    Image.fromarray(_as_uint8(image)).save(buffer, format="PNG")
    return buffer.getvalue()


def digit_grid(images: Sequence[np.ndarray], captions: Sequence[str], columns: int = 8) -> None:
    """Digits in rows of `columns` (fewer on a narrow screen), each with its caption below.

    One HTML element for the whole grid: as one `st.image` per digit in `st.columns`, 24 digits
    were ~75 messages and half the Data page's server time, which a class of 30 pays each visit.
    """
    cells = "".join(
        f'<figure><img src="data:image/png;base64,{base64.b64encode(digit_png(image)).decode()}" '
        f'alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        for image, caption in zip(images, captions, strict=True)
    )
    st.html(
        f"<style>{GRID_STYLE}</style>"
        f'<div class="digit-grid" style="--columns: {columns}">{cells}</div>'
    )


# Cells at least 100 px wide, at most `--columns` of them a row; each digit 84x84 with square
# pixels (PIXEL_SCALE), its caption small below.
CELL_PX = 100
GRID_STYLE = f"""
.digit-grid {{ display: grid; gap: 0.75rem 0.5rem;
  grid-template-columns: repeat(auto-fill, minmax({CELL_PX}px, 1fr));
  max-width: calc(var(--columns) * {CELL_PX}px + (var(--columns) - 1) * 0.5rem); }}
.digit-grid figure {{ margin: 0; text-align: center; }}
.digit-grid img {{ width: {28 * PIXEL_SCALE}px; height: {28 * PIXEL_SCALE}px;
  image-rendering: pixelated; }}
.digit-grid figcaption {{ font-size: 0.8rem; line-height: 1.3; opacity: 0.65; }}
"""
