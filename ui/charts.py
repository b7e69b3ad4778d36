"""Plotly figures shared by pages; titles and axes in the reader's language (train.po)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly
import plotly.graph_objects as go
import streamlit as st

from ui.i18n import language, t

MAX_DRAWN_POINTS = 300  # per line of the batch-loss curve


def probability_bars(probabilities: np.ndarray, true_label: int | None = None) -> go.Figure:
    """One bar per class; the predicted class in blue, the true class (if wrong) in red."""
    predicted = int(np.argmax(probabilities))
    colors = ["#c9d3e3"] * len(probabilities)
    if true_label is not None and true_label != predicted:
        colors[true_label] = "#d9534f"
    colors[predicted] = "#2f6fde"
    figure = go.Figure(
        go.Bar(
            x=[str(digit) for digit in range(len(probabilities))],
            y=probabilities,
            marker_color=colors,
            text=[f"{p:.0%}" if p >= 0.005 else "" for p in probabilities],
            textposition="outside",
        )
    )
    figure.update_layout(
        height=260,
        margin={"t": 10, "b": 10, "l": 10, "r": 10},
        yaxis={"range": [0, 1.15], "tickformat": ".0%", "title": t("charts.probability")},
        xaxis={"title": t("charts.digit"), "type": "category"},
    )
    return figure


def confusion_heatmap(matrix: np.ndarray) -> go.Figure:
    """Counts of (true, predicted) pairs with the counts written in the cells."""
    labels = [str(digit) for digit in range(len(matrix))]
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=labels,
            y=labels,
            text=matrix,
            texttemplate="%{text}",
            colorscale="Blues",
            hovertemplate=t("charts.confusion_hover"),
        )
    )
    figure.update_layout(
        height=460,
        margin={"t": 10, "b": 10},
        xaxis={"title": t("charts.predicted"), "type": "category"},
        yaxis={"title": t("charts.true"), "type": "category", "autorange": "reversed"},
    )
    return figure


def epoch_axis(epochs: int) -> dict:
    """An x axis of whole epochs with at most about ten labels."""
    return {
        "title": t("charts.epoch"),
        "dtick": max(1, math.ceil(epochs / 10)),
        "rangemode": "nonnegative",
    }


# Above the plot, right of the title: below it, Plotly puts the legend over the x axis's title.
LEGEND_ON_TOP = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1}


def metric_title(metric: str) -> str:
    """'loss' and 'accuracy' in the reader's language; other metric names stay Keras's."""
    titles = {"loss": t("charts.metric_loss"), "accuracy": t("charts.metric_accuracy")}
    return titles.get(metric, metric)


def epoch_curves(history: dict, metric: str) -> go.Figure:
    """Training and validation curves of one metric ("loss" or "accuracy") per epoch.

    The live view asks for them every few seconds but they change once an epoch: the same history
    gets the same figure object back, and the browser redraws nothing for a figure it already has.
    """
    frozen = tuple((key, tuple(values)) for key, values in sorted(history.items()))
    return _epoch_curves(frozen, metric, language())


# Only the trainings being watched now need a hit (two figures each). Each figure holds ~50-70 KB:
# with 256 entries the cache kept ~0.1 MB of every training a class had run, its only growth that
# Python's tracemalloc saw over ten trainings (bench/memory.py); 16 is eight live views.
LIVE_FIGURES = 16


@st.cache_resource(show_spinner=False, max_entries=LIVE_FIGURES)
def _epoch_curves(
    history: tuple[tuple[str, tuple[float, ...]], ...], metric: str, language_code: str
) -> go.Figure:
    # language_code is only part of the cache key: the titles below are in that language.
    history = dict(history)
    figure = go.Figure()
    lines = (
        (metric, t("charts.training"), "solid"),
        (f"val_{metric}", t("charts.validation"), "dash"),
    )
    for key, name, dash in lines:
        values = history.get(key)
        if values:
            figure.add_scatter(
                x=list(range(1, len(values) + 1)), y=list(values), name=name,
                mode="lines+markers", line={"dash": dash},
            )  # fmt: skip
    figure.update_layout(
        title=metric_title(metric),
        height=280,
        margin={"t": 40, "b": 10, "l": 10, "r": 10},
        xaxis=epoch_axis(max((len(v) for v in history.values()), default=1)),
        legend=LEGEND_ON_TOP,
    )
    return figure


def thin_points(points: Sequence[tuple[int, float]], limit: int) -> list[tuple[int, float]]:
    """At most `limit` points: neighbours averaged in equal groups, each at its group's last x."""
    size = math.ceil(len(points) / limit) if points else 1
    if size <= 1:
        return list(points)
    groups = [points[start : start + size] for start in range(0, len(points), size)]
    return [(group[-1][0], sum(loss for _, loss in group) / len(group)) for group in groups]


def batch_loss_curve(points: Sequence[tuple[int, float]], batches_per_epoch: int) -> go.Figure:
    """Training loss batch by batch (x in epochs, so it lines up with the epoch curves)."""
    # A few hundred points draw the same line as thousands, at a fraction of the browser's work.
    drawn = thin_points(points, MAX_DRAWN_POINTS)
    figure = go.Figure(
        go.Scatter(
            x=[round(batch / batches_per_epoch, 4) for batch, _ in drawn],
            y=[round(loss, 5) for _, loss in drawn],
            mode="lines",
            name=t("charts.batch_loss"),
        )
    )
    figure.update_layout(
        title=t("charts.loss_per_batch"),
        height=280,
        margin={"t": 40, "b": 10, "l": 10, "r": 10},
        xaxis={"title": t("charts.epoch")},
    )
    return figure


def overlay_curves(runs: dict[str, dict], metric: str) -> go.Figure:
    """Each run's training (solid) and validation (dashed) curve of a metric, to compare runs."""
    figure = go.Figure()
    palette = plotly.colors.qualitative.Plotly
    for number, (name, history) in enumerate(runs.items()):
        colour = palette[number % len(palette)]
        for key, dash in ((metric, "solid"), (f"val_{metric}", "dash")):
            values = history.get(key) or []
            if values:
                figure.add_scatter(
                    x=list(range(1, len(values) + 1)), y=values, name=f"{name} · {key}",
                    mode="lines+markers", line={"dash": dash, "color": colour},
                )  # fmt: skip
    epochs = max((len(h.get(metric) or []) for h in runs.values()), default=1)
    rows = 2 * len(runs)  # each line's name may take a row of the legend
    figure.update_layout(
        height=320 + 20 * rows,
        margin={"t": 20 + 20 * rows, "b": 10},
        yaxis={"title": metric_title(metric)},  # the title's place above the plot is the legend's
        xaxis=epoch_axis(epochs),
        legend={**LEGEND_ON_TOP, "xanchor": "left", "x": 0},
    )
    return figure
