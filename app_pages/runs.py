"""Runs page: this session's saved runs, their curves side by side, and any of them made active."""

import pandas as pd
import streamlit as st

from core.runs import BEST_WEIGHTS_FILE
from core.spec import NetworkSpec
from ui.charts import overlay_curves
from ui.resources import run_store
from ui.session import owner_token
from ui.state import ActiveModel, init_session_state, set_active_model

init_session_state()
st.title("Runs")
owner = owner_token()
runs = run_store().list_runs(owner)
if not runs:
    st.info("No runs yet. Every training is saved here as it ends, and comes back after a refresh.")
    st.page_link("app_pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()


def label(run) -> str:
    return f"{run.name} · {run.run_id}"


table = pd.DataFrame(
    [
        {
            "Run": run.run_id,
            "Network": run.name,
            "Status": run.status,
            "Epochs": run.epochs,
            "Test accuracy": run.test_accuracy,
            "Best val accuracy": run.best.get("val_accuracy"),
            "Wall time (s)": run.wall_seconds,
        }
        for run in runs
    ]
)
st.dataframe(
    table,
    hide_index=True,
    key="runs_table",
    column_config={
        "Test accuracy": st.column_config.NumberColumn(format="percent"),
        "Best val accuracy": st.column_config.NumberColumn(format="percent"),
        "Wall time (s)": st.column_config.NumberColumn(format="%.1f"),
    },
)
st.caption(
    f"Saved under `{run_store().owner_dir(owner)}`; bookmark this page's address to find them again."
)

st.subheader("Compare")
by_label = {label(run): run for run in runs}
chosen = st.multiselect("Runs", list(by_label), default=list(by_label)[:3], key="runs_compare")
metric = st.radio(
    "Curve",
    ["val_accuracy", "accuracy", "val_loss", "loss"],
    horizontal=True,
    key="runs_metric",
)
if chosen:
    st.plotly_chart(
        overlay_curves({name: by_label[name].history for name in chosen}, metric),
        key="runs_overlay",
    )

st.subheader("Use a run")
pick = st.selectbox("Run", list(by_label), key="runs_pick")
run = by_label[pick]
activate_col, best_col, model_col = st.columns(3)
if activate_col.button("Make it the active model", key="runs_activate", disabled=not run.has_model):
    model = run_store().load_model(owner, run.run_id)
    spec = NetworkSpec.from_dict(run.spec) if run.spec else None
    set_active_model(
        ActiveModel(model, run.name, "trained", spec=spec, test_accuracy=run.test_accuracy)
    )
    st.success(f"{run.name} ({run.run_id}) is now the active model.")
if run.has_best_weights:
    best_col.download_button(
        "Best checkpoint (.weights.h5)",
        (run.path / BEST_WEIGHTS_FILE).read_bytes(),
        file_name=f"{run.run_id}-best.weights.h5",
        key="runs_download_best",
    )
if not run.has_model:
    st.caption(run.message or "This run saved no model.")
