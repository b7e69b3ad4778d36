"""What `model.summary()` and the model graph show, as data a page can render."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from core.i18n import DEFAULT_LANGUAGE, Message, msg, translate


@dataclass(frozen=True)
class LayerRow:
    """One line of the summary table."""

    name: str
    kind: str
    output_shape: str
    params: int
    formula: Message  # how the parameter count comes about


@dataclass(frozen=True)
class ModelSummary:
    rows: tuple[LayerRow, ...]
    input_shape: str
    total: int
    trainable: int
    non_trainable: int


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join("None" if n is None else str(n) for n in shape) + ")"


def _count(weights: list) -> int:
    return sum(int(w.numpy().size) if hasattr(w, "numpy") else int(w.size) for w in weights)


def param_formula(layer: keras.layers.Layer) -> Message:
    """The arithmetic behind a layer's parameter count, e.g. '784 inputs × 64 units + 64 biases = 50,240'."""
    params = layer.count_params()
    config = layer.get_config()
    bias = config.get("use_bias", True)
    if isinstance(layer, keras.layers.Dense):
        inputs, units = layer.kernel.shape
        biases = msg("summary.biases", count=units) if bias else ""
        return msg("summary.dense", inputs=inputs, units=units, biases=biases, params=params)
    if isinstance(layer, keras.layers.Conv2D):
        height, width, channels, filters = layer.kernel.shape
        biases = msg("summary.biases", count=filters) if bias else ""
        return msg(
            "summary.conv", height=height, width=width, channels=channels, filters=filters,
            biases=biases, params=params,
        )  # fmt: skip
    if isinstance(layer, keras.layers.BatchNormalization):
        channels = layer.gamma.shape[0] if layer.gamma is not None else params // 4
        return msg("summary.batch_norm", channels=channels, params=params)
    if params == 0:
        return msg("summary.no_weights")
    return msg("summary.count", params=params)


def summarize(model: keras.Model) -> ModelSummary:
    """Table rows and totals for a built model, in the order Keras lists its layers."""
    rows = tuple(
        LayerRow(
            name=layer.name,
            kind=type(layer).__name__,
            output_shape=_shape_text(tuple(layer.output.shape)),
            params=layer.count_params(),
            formula=param_formula(layer),
        )
        for layer in model.layers
    )
    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.non_trainable_weights)
    return ModelSummary(
        rows=rows,
        input_shape=_shape_text(tuple(model.inputs[0].shape)),
        total=trainable + non_trainable,
        trainable=trainable,
        non_trainable=non_trainable,
    )


def graph_dot(model: keras.Model, language: str = DEFAULT_LANGUAGE) -> str:
    """Graphviz DOT of the layer graph with output shapes, like keras.utils.plot_model."""
    summary = summarize(model)
    lines = [
        "digraph model {",
        '  rankdir=TB; node [shape=record, style="rounded,filled", fillcolor="#eef3fb", '
        'fontname="Helvetica", fontsize=11];',
        f'  input [label="{{{translate("summary.graph_input", language)}|{summary.input_shape}}}", '
        'fillcolor="#dde8d5"];',
    ]
    previous = "input"
    for index, row in enumerate(summary.rows):
        node = f"layer{index}"
        details = translate(
            "summary.graph_layer", language, shape=row.output_shape, params=row.params
        )
        label = f"{{{row.name}: {row.kind}|{details}}}"
        lines.append(f'  {node} [label="{label}"];')
        lines.append(f"  {previous} -> {node};")
        previous = node
    lines.append("}")
    return "\n".join(lines)
