"""Inspect page: the active model's summary with the arithmetic, its graph and its JSON."""

import json

import pandas as pd
import streamlit as st

from core.summary import graph_dot, summarize
from ui.lesson_progress import record_event
from ui.state import init_session_state, require_active_model

init_session_state()
st.title("Inspect the model")
active = require_active_model()
model = active.model
summary = summarize(model)
record_event("inspected")  # the Lessons tick off reading the summary

st.markdown(f"**{active.name}** · input {summary.input_shape}")
total, trainable, non_trainable = st.columns(3)
total.metric("Total parameters", f"{summary.total:,}")
trainable.metric("Trainable", f"{summary.trainable:,}")
non_trainable.metric("Non-trainable", f"{summary.non_trainable:,}")

summary_tab, graph_tab, json_tab = st.tabs(["Summary", "Graph", "Architecture JSON"])
with summary_tab:
    table = pd.DataFrame(
        [
            {
                "Layer": row.name,
                "Type": row.kind,
                "Output shape": row.output_shape,
                "Params": row.params,
                "How the count comes about": row.formula,
            }
            for row in summary.rows
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch", key="inspect_summary_table")
    st.caption("`None` in a shape is the batch size, decided when data flows through the model.")
with graph_tab:
    st.graphviz_chart(graph_dot(model))
with json_tab:
    st.caption("What `model.to_json()` returns: the architecture without the weights.")
    st.json(json.loads(model.to_json()), expanded=2)
