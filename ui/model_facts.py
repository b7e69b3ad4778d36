"""What the Inspect page shows of a model, worked out once per model: learners come back to it
often, and the summary, the graph and the JSON cost 10-40 ms of the server's CPU each time (the
page's whole view went from ~60 to ~30 ms)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import streamlit as st

from core.summary import ModelSummary, graph_dot, summarize

if TYPE_CHECKING:
    import keras

# Keyed by the active model's uid (new for every model made active, never reused); the model
# itself is not hashed (a leading underscore tells Streamlit so).
CACHED_MODELS = 64


@st.cache_resource(max_entries=CACHED_MODELS, show_spinner=False)
def model_summary(uid: str, _model: keras.Model) -> ModelSummary:
    return summarize(_model)


@st.cache_resource(max_entries=CACHED_MODELS, show_spinner=False)
def model_graph(uid: str, language: str, _model: keras.Model) -> str:
    return graph_dot(_model, language)


@st.cache_resource(max_entries=CACHED_MODELS, show_spinner=False)
def model_json(uid: str, _model: keras.Model) -> dict[str, Any]:
    return json.loads(_model.to_json())
