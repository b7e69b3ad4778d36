"""Runs page: this session's saved runs, their curves side by side, and any of them made active."""

import dataclasses

import pandas as pd
import streamlit as st

from core.engine import TrainingRequest
from core.i18n import MessageError
from core.runs import BEST_WEIGHTS_FILE, RunRecord
from core.training.config import TrainConfig
from ui.charts import overlay_curves
from ui.i18n import option_labels, relabel_after_language_switch, t, tm
from ui.navigation import end_page
from ui.resources import engine, run_store
from ui.session import activate_run, owner_token, watch
from ui.state import init_session_state

init_session_state()
st.title(t("runs.title"))
owner = owner_token()
training = engine().active_job(owner)
# A run whose job never ended and that the engine does not train was interrupted.
runs = run_store().list_runs(owner, training=[training.run_dir] if training else [])
if not runs:
    st.info(t("runs.none"))
    st.page_link("app_pages/train.py", label=t("runs.go_train"), icon=":material/model_training:")
    end_page()


COLUMNS = ("run", "network", "status", "epochs", "test_accuracy", "best_val_accuracy", "wall_time")


def label(run) -> str:
    return f"{run.name} · {run.run_id}"


def continue_run(run: RunRecord) -> None:
    """An interrupted run: continue it from its last saved epoch, through the engine."""
    st.info(t("runs.interrupted", epochs=run.epochs), icon=":material/history:")
    config = TrainConfig.from_dict(run.config)
    left = min(100, max(1, (run.epochs_planned or 0) - run.epochs))  # what the job had left
    epochs_col, button_col = st.columns([1, 3], vertical_alignment="bottom")
    extra = epochs_col.number_input(t("train.more_epochs"), 1, 100, left, key="runs_more_epochs")
    if button_col.button(t("train.continue"), key="runs_continue", icon=":material/fast_forward:"):
        more = dataclasses.replace(config, epochs=int(extra))
        try:
            watch(
                engine().submit(TrainingRequest(owner, str(run.path), run.name, more, resume=True))
            )
        except MessageError as error:
            st.error(tm(error))
            return
        st.switch_page("app_pages/train.py")


status_text = option_labels("runs.status.{}")
column = {name: t(f"runs.column.{name}") for name in COLUMNS}
NUMBERS = ("epochs", "test_accuracy", "best_val_accuracy", "wall_time")


def percent(value: float | None) -> str:
    """91.68%, the way every page writes an accuracy; a dash for a run that has none."""
    return "—" if value is None else f"{value:.2%}"


table = pd.DataFrame(
    [
        {
            column["run"]: run.run_id,
            column["network"]: run.name,
            column["status"]: status_text(run.status),
            column["epochs"]: str(run.epochs),
            column["test_accuracy"]: percent(run.test_accuracy),
            column["best_val_accuracy"]: percent(run.best.get("val_accuracy")),
            column["wall_time"]: "—" if run.wall_seconds is None else f"{run.wall_seconds:.1f}",
        }
        for run in runs
    ],
    columns=list(column.values()),
)
# A data grid, not a Markdown table: a learner with many runs sorts and scrolls it.
st.dataframe(
    table,
    hide_index=True,
    key="runs_table",
    column_config={
        column[name]: st.column_config.TextColumn(alignment="right") for name in NUMBERS
    },
)
st.caption(t("runs.saved_here"))

st.subheader(t("runs.compare"))
by_label = {label(run): run for run in runs}
chosen = st.multiselect(
    t("runs.compare_runs"), list(by_label), default=list(by_label)[:3], key="runs_compare"
)
relabel_after_language_switch("runs_metric")
metric = st.radio(
    t("runs.curve"),
    ["loss", "accuracy"],
    format_func=option_labels("runs.curve.{}"),
    horizontal=True,
    key="runs_metric",
    persist_state="session",
)
if chosen:
    # Training and validation together (solid and dashed), as hist.history is read in Keras.
    st.plotly_chart(
        overlay_curves({name: by_label[name].history for name in chosen}, metric),
        key="runs_overlay",
    )

st.subheader(t("runs.use"))
pick = st.selectbox(t("runs.pick"), list(by_label), key="runs_pick")
run = by_label[pick]
activate_col, best_col, model_col = st.columns(3)
if activate_col.button(t("runs.activate"), key="runs_activate", disabled=not run.has_model):
    activate_run(owner, run)
    st.success(t("runs.activated", name=run.name, run_id=run.run_id))
if run.has_best_weights:
    best_col.download_button(
        t("runs.best_checkpoint"),
        (run.path / BEST_WEIGHTS_FILE).read_bytes,  # read on click, not on every visit
        file_name=f"{run.run_id}-best.weights.h5",
        key="runs_download_best",
    )
if not run.has_model:
    st.caption(tm(run.message) if run.message else t("runs.no_model"))
elif run.status == "interrupted":
    continue_run(run)
