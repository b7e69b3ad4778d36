"""Plotly figures of the Look inside page: feature-map mosaics, bars, attributions, the map."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

DIGIT_COLORS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]  # fmt: skip
GAP = 1  # blank pixels between the feature maps of a mosaic
TIGHT = {"t": 10, "b": 10, "l": 10, "r": 10}


def mosaic(maps: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Channels (h, w, c) tiled in rows of `columns` with NaN gaps; and each tile's centre (x, y)."""
    height, width, channels = maps.shape
    rows = math.ceil(channels / columns)
    tiled = np.full((rows * (height + GAP) - GAP, columns * (width + GAP) - GAP), np.nan)
    centres = np.zeros((channels, 2))
    for channel in range(channels):
        row, col = divmod(channel, columns)
        top, left = row * (height + GAP), col * (width + GAP)
        tiled[top : top + height, left : left + width] = maps[:, :, channel]
        centres[channel] = (left + (width - 1) / 2, top + (height - 1) / 2)
    return tiled, centres


def feature_maps(maps: np.ndarray, hover: str) -> go.Figure:
    """Every channel of a layer in one picture, one colour scale; a click on one selects it."""
    channels = maps.shape[-1]
    columns = min(channels, 16)
    tiled, centres = mosaic(maps, columns)
    figure = go.Figure(
        go.Heatmap(
            z=tiled,
            colorscale="Viridis",
            zmin=float(np.min(maps)),
            zmax=float(np.max(maps)),
            hoverinfo="skip",
            colorbar={"thickness": 10},
        )
    )
    # Heatmaps cannot be selected in Plotly: a transparent marker over each tile takes the click.
    figure.add_trace(
        go.Scatter(
            x=centres[:, 0],
            y=centres[:, 1],
            mode="markers",
            marker={"size": 22, "symbol": "square", "color": "rgba(0,0,0,0)"},
            customdata=np.arange(channels),
            hovertemplate=hover + "<extra></extra>",
            showlegend=False,
        )
    )
    tile_px = 56 if maps.shape[0] <= 13 else 64
    rows = math.ceil(channels / columns)
    figure.update_layout(
        height=max(120, rows * tile_px + 30),
        margin=TIGHT,
        clickmode="event+select",
        dragmode=False,
        hovermode="closest",
    )
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    return figure


def picture(image: np.ndarray, colorscale: str = "Viridis", height: int = 260) -> go.Figure:
    """One 2-D array as a heatmap, square pixels, with its own colour bar."""
    figure = go.Figure(go.Heatmap(z=image, colorscale=colorscale, colorbar={"thickness": 10}))
    figure.update_layout(height=height, margin=TIGHT)
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    return figure


def unit_bars(values: np.ndarray, highlight: int = 5) -> go.Figure:
    """A dense layer's activations as bars, its strongest units highlighted."""
    strongest = set(np.argsort(values)[-highlight:].tolist())
    colors = ["#2f6fde" if i in strongest else "#c9d3e3" for i in range(len(values))]
    figure = go.Figure(
        go.Bar(
            x=np.arange(len(values)),
            y=values,
            marker_color=colors,
            hovertemplate="unit %{x}: %{y:.3f}<extra></extra>",
        )
    )
    figure.update_layout(height=200, margin=TIGHT, bargap=0.1)
    return figure


def attribution(values: np.ndarray, digit: np.ndarray) -> go.Figure:
    """A signed attribution over the digit: red speaks for the class, blue against it."""
    peak = float(np.max(np.abs(values))) or 1.0
    figure = go.Figure(
        go.Heatmap(
            z=values,
            colorscale="RdBu_r",
            zmin=-peak,
            zmax=peak,
            colorbar={"thickness": 10, "exponentformat": "power"},
            hovertemplate="row %{y}, column %{x}: %{z:.3g}<extra></extra>",
        )
    )
    # The digit's outline, so that the colours can be read against the strokes.
    figure.add_trace(
        go.Contour(
            z=digit,
            contours={"start": 0.5, "end": 0.5, "coloring": "none"},
            line={"color": "black", "width": 1.5},
            showscale=False,
            hoverinfo="skip",
        )
    )
    figure.update_layout(height=260, margin=TIGHT)
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    return figure


def weight_grid(pictures: np.ndarray, titles: list[str]) -> go.Figure:
    """Weight pictures in a mosaic with a shared, zero-centred colour scale."""
    peak = float(np.max(np.abs(pictures))) or 1.0
    columns = min(len(pictures), 16)
    tiled, centres = mosaic(np.moveaxis(pictures, 0, -1), columns)
    figure = go.Figure(
        go.Heatmap(
            z=tiled, colorscale="RdBu_r", zmin=-peak, zmax=peak, colorbar={"thickness": 10},
            hoverinfo="skip",
        )
    )  # fmt: skip
    figure.add_trace(
        go.Scatter(
            x=centres[:, 0],
            y=centres[:, 1],
            mode="markers",
            marker={"size": 20, "color": "rgba(0,0,0,0)"},
            text=titles,
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    rows = math.ceil(len(pictures) / columns)
    figure.update_layout(height=max(120, rows * 60 + 30), margin=TIGHT)
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    return figure


HALF_BLOCKS = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): "\u00a0"}


def digit_as_text(image: np.ndarray) -> str:
    """A 28x28 digit as 7 lines of 14 half-block characters (Plotly tooltips cannot show images)."""
    ink = image.astype(np.float32).reshape(14, 2, 14, 2).mean(axis=(1, 3)) > 0.35 * 255
    lines = (
        "".join(
            HALF_BLOCKS[bool(top), bool(bottom)] for top, bottom in zip(upper, lower, strict=True)
        )
        for upper, lower in zip(ink[0::2], ink[1::2], strict=True)
    )
    return "<br>".join(lines)


def digit_map(
    positions: np.ndarray,
    indices: np.ndarray,
    true: np.ndarray,
    predicted: np.ndarray,
    hover: str,
    mistake_name: str,
    selected: int | None = None,
    pictures: np.ndarray | None = None,
) -> go.Figure:
    """Test digits in 2-D coloured by true class; mistakes as crosses; the selected one ringed.

    With `pictures` (the digits' 28x28 images), hovering a point also draws its digit.
    """
    figure = go.Figure()
    for digit in range(10):
        rows = np.flatnonzero(true == digit)
        figure.add_trace(
            go.Scatter(
                x=positions[rows, 0],
                y=positions[rows, 1],
                mode="markers",
                name=str(digit),
                marker={
                    "size": np.where(predicted[rows] != digit, 9, 5),
                    "color": DIGIT_COLORS[digit],
                    "symbol": np.where(predicted[rows] != digit, "x", "circle"),
                },
                customdata=[
                    [int(indices[r]), int(true[r]), int(predicted[r])]
                    + ([digit_as_text(pictures[r])] if pictures is not None else [])
                    for r in rows
                ],
                hovertemplate=hover
                + ("<br>%{customdata[3]}" if pictures is not None else "")
                + "<extra></extra>",
                hoverlabel={"font": {"family": "monospace"}},
            )
        )
    figure.add_trace(
        go.Scatter(
            x=[None], y=[None], mode="markers", name=mistake_name,
            marker={"symbol": "x", "color": "black", "size": 9},
        )
    )  # fmt: skip
    if selected is not None and selected in set(indices.tolist()):
        row = int(np.flatnonzero(indices == selected)[0])
        figure.add_trace(
            go.Scatter(
                x=[positions[row, 0]],
                y=[positions[row, 1]],
                mode="markers",
                marker={
                    "size": 18,
                    "color": "rgba(0,0,0,0)",
                    "line": {"color": "black", "width": 2},
                },
                hoverinfo="skip",
                showlegend=False,
            )
        )
    figure.update_layout(
        height=520,
        margin=TIGHT,
        clickmode="event+select",
        dragmode=False,
        legend={"itemsizing": "constant"},
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure
