"""Small display helpers reused by several pages."""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Collection, Mapping, Sequence

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


def count_bars(counts: Sequence[int], title: str, x_title: str, y_title: str) -> None:
    """One bar per class with its count written above, as one HTML element.

    Drawn by the browser without a chart library: as a Plotly figure it was the largest part of
    the browser's work for each visit of the Data page (bench/page_switch.py).
    """
    top = max(max(counts), 1)
    bars = "".join(
        f'<div title="{label}: {count:,}"><span>{count:,}</span>'
        f'<i style="height: {BAR_PX * count / top:.0f}px"></i><b>{label}</b></div>'
        for label, count in enumerate(counts)
    )
    st.html(
        f"<style>{BARS_STYLE}</style>"
        f'<figure class="count-bars"><figcaption>{html.escape(title)}</figcaption>'
        f"<small>{html.escape(y_title)}</small><div>{bars}</div>"
        f"<small>{html.escape(x_title)}</small></figure>"
    )


# The highest bar BAR_PX tall, in Streamlit's primary blue; the count above each bar and the digit
# below, the axis titles small above and below the bars.
BAR_PX = 200
BARS_STYLE = """
.count-bars { margin: 0 0 1rem; max-width: 720px; }
.count-bars figcaption { font-weight: 600; margin-bottom: 0.25rem; }
.count-bars small { display: block; font-size: 0.8rem; opacity: 0.65; text-align: center; }
.count-bars small:first-of-type { text-align: left; }
.count-bars > div { display: flex; gap: 0.5rem; align-items: flex-end; }
.count-bars > div > div { flex: 1; display: flex; flex-direction: column; align-items: center;
  font-size: 0.8rem; }
.count-bars i { display: block; width: 100%; background: #1c83e1;
  border-radius: 2px 2px 0 0; }
.count-bars b { font-weight: 400; padding-top: 0.2rem; }
"""


# What Markdown, and Streamlit's additions to it (LaTeX, colours, emoji), would read as markup.
MARKUP = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|$~:])")


def plain(text: str) -> str:
    """Text that Markdown shows as it is (a layer name from an uploaded file, say)."""
    return MARKUP.sub(r"\\\1", text).replace("\n", " ")


def markdown_table(rows: Sequence[Mapping[str, str]], right: Collection[str] = ()) -> str:
    """A Markdown table of these rows, headed by their keys; the columns in `right` right-aligned.

    Drawn by Streamlit's Markdown without a table library: as an st.dataframe, Inspect's summary
    brought 1.2 MB of JavaScript to each new tab's first visit (bench/page_switch.py).
    """
    columns = list(rows[0]) if rows else []

    def line(cells) -> str:
        return "| " + " | ".join(cells) + " |"

    head = [line(plain(c) for c in columns), line("---:" if c in right else "---" for c in columns)]
    return "\n".join(head + [line(plain(str(row[c])) for c in columns) for row in rows])
