"""The live view's training curves as small static SVG pictures.

A Plotly chart whose figure changes is mounted anew in the browser (a full layout of axes, hover
layers and mode bar): during a training that was most of what watching cost a headless Chromium
(bench/watch_cpu.py). These pictures are a few dozen SVG elements, each shown as an image (st.html
removes inline SVG), which the browser swaps in one go; the finished view shows the interactive
Plotly charts of ui.charts.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from html import escape

from core.training import Progress
from ui.charts import MAX_DRAWN_POINTS, metric_title, thin_points
from ui.i18n import t

WIDTH, HEIGHT = 320, 240  # the viewBox; the picture scales to its column
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 34, 42  # room for the title, tick labels and axis title
COLOURS = ("#0068c9", "#83c9ff")  # Streamlit's first two chart colours, as the Plotly charts use
TEXT = "#31333f"  # Streamlit's text colour (an image does not inherit the page's)
MAX_MARKERS = 40  # epochs up to which each epoch's value is marked with a dot

Line = tuple[str, Sequence[float], Sequence[float]]  # name, x values, y values


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round values between low and high, 1, 2 or 5 times a power of ten apart."""
    span = high - low
    if span <= 0:
        return [low]
    step = 10 ** math.floor(math.log10(span / count))
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= count + 0.5:
            step *= factor
            break
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    return [round(n * step, 10) for n in range(first, last + 1)]


def svg_chart(title: str, lines: Sequence[Line], x_title: str, markers: bool = False) -> str:
    """A line chart from x = 0: the first line solid, the second dashed, a legend if two."""
    xs = [x for _, line_x, _ in lines for x in line_x]
    ys = [y for _, _, line_y in lines for y in line_y if math.isfinite(y)]
    x_high = max(xs, default=0.0) or 1.0
    y_low, y_high = (min(ys), max(ys)) if ys else (0.0, 1.0)
    pad = (y_high - y_low) * 0.05 or abs(y_high) * 0.05 or 1.0
    y_low, y_high = y_low - pad, y_high + pad
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> str:
        return f"{LEFT + x / x_high * plot_width:.1f}"

    def sy(y: float) -> str:
        return f"{TOP + (y_high - y) / (y_high - y_low) * plot_height:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'font-family="sans-serif" font-size="12" fill="{TEXT}">',
        f'<text x="4" y="16" font-size="16" font-weight="600">{escape(title)}</text>',
    ]
    for tick in nice_ticks(y_low, y_high, 4):
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{sy(tick)}" y2="{sy(tick)}" '
            f'stroke="#e6e9ef"/><text x="{LEFT - 6}" y="{sy(tick)}" dy="4" text-anchor="end" '
            f'opacity="0.7">{tick:.4g}</text>'
        )
    for tick in nice_ticks(0.0, x_high, 5):
        parts.append(
            f'<text x="{sx(tick)}" y="{TOP + plot_height + 16}" text-anchor="middle" '
            f'opacity="0.7">{tick:.4g}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_width / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle" '
        f'opacity="0.7">{escape(x_title)}</text>'
    )
    for number, (name, line_x, line_y) in enumerate(lines):
        colour = COLOURS[number % len(COLOURS)]
        dash = ' stroke-dasharray="5 3"' if number else ""
        points = [(sx(x), sy(y)) for x, y in zip(line_x, line_y, strict=True) if math.isfinite(y)]
        parts.append(
            f'<polyline points="{" ".join(f"{x},{y}" for x, y in points)}" fill="none" '
            f'stroke="{colour}" stroke-width="2"{dash}/>'
        )
        if markers:
            parts += [f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>' for x, y in points]
        if len(lines) > 1:
            key_x = WIDTH - RIGHT - 160 + 82 * number
            parts.append(
                f'<line x1="{key_x}" x2="{key_x + 16}" y1="12" y2="12" stroke="{colour}" '
                f'stroke-width="2"{dash}/><text x="{key_x + 20}" y="16">{escape(name)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def picture(svg: str, title: str) -> str:
    """An SVG picture as an image that fills its grid cell."""
    data = base64.b64encode(svg.encode()).decode()
    return f'<img alt="{escape(title)}" src="data:image/svg+xml;base64,{data}" style="width: 100%">'


def live_curves_html(p: Progress) -> str:
    """Loss and accuracy per epoch and the loss batch by batch, side by side, as one HTML block."""
    history, cells = dict(p.history), []
    for metric in ("loss", "accuracy"):
        names = ((metric, t("charts.training")), (f"val_{metric}", t("charts.validation")))
        lines = [
            (name, range(1, len(values) + 1), values)
            for key, name in names
            if (values := history.get(key))
        ]
        if lines:
            title, markers = metric_title(metric), len(lines[0][1]) <= MAX_MARKERS
            cells.append(picture(svg_chart(title, lines, t("charts.epoch"), markers), title))
    if not cells:  # the first epoch: its place (two columns) says when they come
        later = escape(t("train.curves_later"))
        cells.append(
            f'<p style="grid-column: span 2; font-size: 0.875rem; opacity: 0.7">{later}</p>'
        )
    if p.batch_losses:
        drawn = thin_points(p.batch_losses, MAX_DRAWN_POINTS)
        x = [batch / p.batches_per_epoch for batch, _ in drawn]
        line = (t("charts.batch_loss"), x, [loss for _, loss in drawn])
        title = t("charts.loss_per_batch")
        cells.append(picture(svg_chart(title, [line], t("charts.epoch")), title))
    return (
        '<div class="train-curves" style="display: grid; grid-template-columns: repeat(3, 1fr); '
        f'gap: 1rem; contain: content">{"".join(cells)}</div>'
    )
