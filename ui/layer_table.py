"""The layer stack as one read-only table: what the Build page shows while the editor is closed.

One markdown table is one message for the whole stack, where the editor sends ~15 per layer:
a learner who only takes a preset gets a page that is cheap to send, even with a class on one
server, and reads like `model.summary()`.
"""

from __future__ import annotations

from core.spec import FIELDS_BY_KIND, Analysis, LayerSpec, format_shape
from ui.i18n import t


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)  # a rate: 0.25, not 0.250


def _settings(layer: LayerSpec) -> str:
    """'units 64, activation relu, ...' in the editor's own field names; '—' if it has none."""
    parts = [
        f"{t(f'build.field.{name}')} {_shown(getattr(layer, name))}"
        for name in FIELDS_BY_KIND[layer.kind]
        if getattr(layer, name) is not None  # a pooling stride of None means "the pool size"
    ]
    return ", ".join(parts) or "—"


def stack_table(layers: list[LayerSpec], analysis: Analysis) -> str:
    """A markdown table: number, kind, settings, output shape and parameters of every layer."""
    reports = {report.index: report for report in analysis.layers}
    lines = [
        "| # | {} | {} | {} | {} |".format(
            t("build.table.layer"),
            t("build.table.settings"),
            t("build.table.output"),
            t("build.table.params"),
        ),
        "|--:|---|---|---|--:|",
    ]
    for index, layer in enumerate(layers, start=1):
        report = reports.get(index)
        if report is None:  # after an impossible layer nothing is known
            shape, params = "—", "—"
        elif report.output_shape is None:
            shape, params = t("build.impossible"), "—"
        else:
            shape, params = format_shape(report.output_shape), f"{report.params:,}"
        lines.append(f"| {index} | **{layer.kind}** | {_settings(layer)} | {shape} | {params} |")
    return "\n".join(lines)
