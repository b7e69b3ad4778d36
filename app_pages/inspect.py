"""Inspect page: the active model's summary with the arithmetic, its graph and its JSON."""

import streamlit as st

from ui.i18n import language, t, tab_labels, tm
from ui.lesson_progress import record_event
from ui.model_facts import model_graph, model_json, model_summary
from ui.state import init_session_state, require_active_model
from ui.widgets import markdown_table

init_session_state()
st.title(t("inspect.title"))
active = require_active_model()
model = active.model
summary = model_summary(active.uid, model)
record_event("inspected")  # the Lessons tick off reading the summary

st.markdown(t("inspect.headline", name=active.name, shape=summary.input_shape))
total, trainable, non_trainable = st.columns(3)
total.metric(t("inspect.total"), f"{summary.total:,}")
trainable.metric(t("inspect.trainable"), f"{summary.trainable:,}")
non_trainable.metric(t("inspect.non_trainable"), f"{summary.non_trainable:,}")

# Only the open tab is drawn: the graph (laid out by Graphviz in the browser) and the JSON viewer
# were most of the browser's work for each visit of this page (bench/page_switch.py); the summary
# is a Markdown table, not an st.dataframe, for the same reason.
summary_tab, graph_tab, json_tab = st.tabs(
    tab_labels("inspect_tabs", "inspect.tab_summary", "inspect.tab_graph", "inspect.tab_json"),
    key="inspect_tabs",
    on_change="rerun",
)
if summary_tab.open:
    params = t("inspect.column.params")
    rows = [
        {
            t("inspect.column.layer"): row.name,
            t("inspect.column.type"): row.kind,
            t("inspect.column.output_shape"): row.output_shape,
            params: f"{row.params:,}",  # 50,240 as everywhere else
            t("inspect.column.formula"): tm(row.formula),
        }
        for row in summary.rows
    ]
    summary_tab.markdown(markdown_table(rows, right=(params,)))
    summary_tab.caption(t("inspect.none_caption"))
if graph_tab.open:
    graph_tab.graphviz_chart(model_graph(active.uid, language(), model))
if json_tab.open:
    json_tab.caption(t("inspect.json_caption"))
    json_tab.json(model_json(active.uid, model), expanded=2)
