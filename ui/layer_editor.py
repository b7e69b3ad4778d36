"""The Build page's widgets: a list of layer rows that can be added, removed, moved and edited."""

from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st

from core.presets import PRESETS
from core.spec import (
    ACTIVATIONS,
    FIELDS_BY_KIND,
    INITIALIZERS,
    LAYER_KINDS,
    LOSSES,
    OPTIMIZERS,
    PADDINGS,
    Analysis,
    CompileSpec,
    LayerSpec,
    format_shape,
)
from ui.i18n import option_labels, relabel_after_language_switch, t
from ui.state import Keys


@dataclass(frozen=True)
class EditorLayer:
    """A layer row; the id keeps its widgets' state attached to it when rows move."""

    id: int
    spec: LayerSpec


def _new_rows(layers: tuple[LayerSpec, ...]) -> list[EditorLayer]:
    first = st.session_state[Keys.NEXT_LAYER_ID]
    st.session_state[Keys.NEXT_LAYER_ID] = first + len(layers)
    return [EditorLayer(first + offset, layer) for offset, layer in enumerate(layers)]


def set_editor_layers(layers: tuple[LayerSpec, ...]) -> None:
    """Put these layers in the editor (the session's kept ones, after a refresh)."""
    st.session_state[Keys.BUILD_LAYERS] = _new_rows(layers)


def load_preset(key: str) -> None:
    """Replace the editor's network and compile settings by a preset's."""
    spec = PRESETS[key].spec
    st.session_state[Keys.BUILD_LAYERS] = _new_rows(spec.layers)
    st.session_state[Keys.BUILD_NAME] = spec.name
    st.session_state[Keys.BUILD_PRESET] = key
    st.session_state["build_optimizer"] = spec.compile.optimizer
    st.session_state["build_learning_rate"] = spec.compile.learning_rate
    st.session_state["build_momentum"] = spec.compile.momentum
    st.session_state["build_loss"] = spec.compile.loss


def load_chosen_preset() -> None:
    """The preset picker's callback. A module function, not a lambda in the page: Streamlit keeps
    a widget's callback, and a lambda would keep the page's whole namespace (its model) alive."""
    load_preset(st.session_state["build_preset_choice"])


def ensure_editor_state() -> None:
    """Start the editor from the current preset the first time."""
    if Keys.BUILD_LAYERS not in st.session_state:
        load_preset(st.session_state[Keys.BUILD_PRESET])


def current_layers() -> list[LayerSpec]:
    """The editor's layers as they stand, without drawing the editor."""
    return [row.spec for row in st.session_state[Keys.BUILD_LAYERS]]


def _move(index: int, offset: int) -> None:
    rows = st.session_state[Keys.BUILD_LAYERS]
    target = index + offset
    if 0 <= target < len(rows):
        rows[index], rows[target] = rows[target], rows[index]


def _remove(index: int) -> None:
    del st.session_state[Keys.BUILD_LAYERS][index]


def _insert(kind: str, position: int) -> None:
    defaults = {
        "Dense": LayerSpec("Dense", units=64),
        "Conv2D": LayerSpec("Conv2D", padding="same"),
    }
    st.session_state[Keys.BUILD_LAYERS].insert(
        position, *_new_rows((defaults.get(kind, LayerSpec(kind)),))
    )


def _field_widget(row: EditorLayer, name: str, container) -> object:
    """One parameter widget, keyed by the row id so its value follows the row."""
    key = f"build_layer{row.id}_{name}"
    value = getattr(row.spec, name)
    label = t(f"build.field.{name}")
    match name:
        case "units" | "filters":
            return container.number_input(label, min_value=0, value=value, step=1, key=key)
        case "kernel_size" | "strides" | "pool_size":
            return container.number_input(label, min_value=1, max_value=28, value=value, key=key)
        case "pool_strides":
            strides = container.number_input(
                label, min_value=0, max_value=28, value=value or 0, key=key
            )
            return strides or None
        case "rate":
            return container.number_input(
                label, min_value=0.0, max_value=1.0, value=float(value), step=0.05, key=key
            )
        case "activation":
            return container.selectbox(label, ACTIVATIONS, index=ACTIVATIONS.index(value), key=key)
        case "kernel_initializer":
            return container.selectbox(
                label, INITIALIZERS, index=INITIALIZERS.index(value), key=key
            )
        case "padding":
            return container.selectbox(label, PADDINGS, index=PADDINGS.index(value), key=key)
    raise ValueError(name)


def layer_rows_ui() -> tuple[list[LayerSpec], list]:
    """Edit every row; returns the edited layers and one placeholder per row for its heading.

    A row is one bordered container with a single row of columns (heading, one per setting,
    buttons): every element is a message the server sends and, with a class on one server, waits
    its turn for, and nested columns cost ~4 more per row.
    """
    rows: list[EditorLayer] = st.session_state[Keys.BUILD_LAYERS]
    edited: list[EditorLayer] = []
    headings = []
    for index, row in enumerate(rows):
        names = FIELDS_BY_KIND[row.spec.kind]
        widths = [7 / len(names)] * len(names) if names else [7]
        with st.container(border=True):
            heading, *cells, buttons = st.columns([2.2, *widths, 1.3], vertical_alignment="center")
            headings.append(heading.empty())
            # A layer without settings has one cell and no names: the cell gets a caption.
            fields = zip(names, cells, strict=False)
            values = {name: _field_widget(row, name, cell) for name, cell in fields}
            if not names:
                cells[0].caption(t("build.no_settings"))
            with buttons.container(horizontal=True, gap=None):
                for name, icon, hint, action, args in (
                    ("up", ":material/arrow_upward:", t("build.move_up"), _move, (index, -1)),
                    ("down", ":material/arrow_downward:", t("build.move_down"), _move, (index, 1)),
                    ("remove", ":material/close:", t("build.remove"), _remove, (index,)),
                ):
                    st.button(
                        "",
                        icon=icon,
                        key=f"build_{name}{row.id}",
                        on_click=action,
                        args=args,
                        help=hint,
                        type="tertiary",
                    )
        edited.append(EditorLayer(row.id, replace(row.spec, **values)))
    st.session_state[Keys.BUILD_LAYERS] = edited
    return [row.spec for row in edited], headings


def show_headings(layers: list[LayerSpec], analysis: Analysis, headings: list) -> None:
    """Each row's heading: its number and kind, then its output shape and parameter count, or
    that it is impossible there (the rows after an impossible one get no shape)."""
    reports = {report.index: report for report in analysis.layers}
    for index, (layer, heading) in enumerate(zip(layers, headings, strict=True), start=1):
        title = f"**{index}. {layer.kind}**"
        report = reports.get(index)
        if report is None:
            heading.markdown(title)
        elif report.output_shape is None:
            heading.markdown(f"{title}  \n{t('build.impossible')}")
        else:
            line = t(
                "build.shape_line", shape=format_shape(report.output_shape), params=report.params
            )
            heading.markdown(f"{title}  \n:gray[:small[{line}]]")


def add_layer_ui(count: int) -> None:
    """Pick a layer type and where it goes."""
    kind_col, position_col, button_col = st.columns([3, 3, 2], vertical_alignment="bottom")
    kind = kind_col.selectbox(t("build.add_kind"), LAYER_KINDS, key="build_add_kind")
    position = position_col.number_input(
        t("build.add_position"),
        min_value=1,
        max_value=count + 1,
        value=max(count, 1),
        key=f"build_add_position_{count}",  # a new stack length starts at its own default
        help=t("build.add_position_help"),
    )
    button_col.button(
        t("build.add_button"),
        key="build_add",
        on_click=_insert,
        args=(kind, int(position) - 1),
        icon=":material/add:",
    )


def compile_ui() -> CompileSpec:
    """Optimizer, learning rate, momentum and loss."""
    # Three to a row and the loss on its own: narrower boxes cut their option off (Korean).
    optimizer_col, rate_col, momentum_col = st.columns(3)
    relabel_after_language_switch("build_optimizer", "build_loss")
    optimizer = optimizer_col.selectbox(
        t("build.optimizer"),
        OPTIMIZERS,
        format_func=option_labels("build.optimizer.{}"),
        key="build_optimizer",
        persist_state="session",
    )
    learning_rate = rate_col.number_input(
        t("build.learning_rate"),
        min_value=0.0,
        max_value=10.0,
        step=0.0005,
        format="%.4f",
        key="build_learning_rate",
        persist_state="session",
    )
    momentum = momentum_col.number_input(
        t("build.momentum"),
        min_value=0.0,
        max_value=0.999,
        step=0.1,
        key="build_momentum",
        persist_state="session",
        disabled=optimizer != "sgd",
        help=t("build.momentum_help"),
    )
    loss = st.selectbox(
        t("build.loss"),
        LOSSES,
        format_func=option_labels("build.loss.{}"),
        key="build_loss",
        persist_state="session",
    )
    settings = CompileSpec(optimizer, float(learning_rate), float(momentum), loss)
    return settings
