"""Plotly figures shared by pages."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


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
        yaxis={"range": [0, 1.15], "tickformat": ".0%", "title": "probability"},
        xaxis={"title": "digit", "type": "category"},
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
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    figure.update_layout(
        height=460,
        margin={"t": 10, "b": 10},
        xaxis={"title": "predicted", "type": "category"},
        yaxis={"title": "true", "type": "category", "autorange": "reversed"},
    )
    return figure
