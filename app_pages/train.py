"""Train page: settings, a background training job watched live, stop and continue."""

import streamlit as st

from core.build import build_model, ensure_compiled
from core.presets import PRESETS
from core.scheduler import OwnerBusyError
from core.training import TrainingJob, seed_everything
from ui.live_view import curves, live_curves, live_progress, summary
from ui.resources import mnist, run_store, scheduler
from ui.session import current_job, owner_token
from ui.state import Keys, init_session_state, require_active_model
from ui.train_settings import prepare_settings, settings_ui, show_settings_of, suggested_config

init_session_state()
st.title("Train")
job = current_job()
running = job is not None and job.snapshot().active
if running:
    # Also after a refresh, when the session has no active model yet: the job carries on.
    st.markdown(
        f"**{job.name}** is training. It becomes the active model when it ends; "
        "meanwhile you can use the other pages and come back."
    )
    show_settings_of(job.config)
else:
    active = require_active_model()
    preset = next((p for p in PRESETS.values() if p.spec == active.spec), None)
    st.markdown(
        f"**{active.name}** · {active.model.count_params():,} parameters · "
        + (
            "trains from fresh weights built from its spec"
            if active.spec
            else "trains further from its current weights"
        )
    )
    prepare_settings(active.spec or active.uid, suggested_config(preset))
config = settings_ui(disabled=running)


def start(job: TrainingJob) -> None:
    try:
        scheduler().submit(job)
    except OwnerBusyError as error:
        st.error(str(error))
        return
    st.session_state[Keys.JOB] = job
    st.rerun()


if st.button(
    "Train", type="primary", key="train_start", disabled=running, icon=":material/play_arrow:"
):
    try:
        config.check()
    except ValueError as error:
        st.error(str(error))
        st.stop()
    seed_everything(config.seed)
    model = build_model(active.spec) if active.spec else ensure_compiled(active.model)
    start(
        TrainingJob(
            model,
            config,
            mnist(),
            run_store().new_run_dir(owner_token()),
            spec_dict=active.spec.to_dict() if active.spec else {},
            name=active.name,
            owner=owner_token(),
        )
    )

if job is None:
    st.caption("Press Train to start. You can switch pages while it trains and come back.")
elif running:
    live_progress(job)
    st.button(
        "Stop",
        key="train_stop",
        on_click=job.stop,
        disabled=job.status == "stopping",
        icon=":material/stop_circle:",
        help="Ends training after the current batch and keeps the weights learned so far.",
    )
    live_curves(job)
else:
    progress = job.snapshot()
    summary(progress)
    curves(progress, "train_done")
    if progress.status != "failed":
        more_col, button_col = st.columns([1, 3], vertical_alignment="bottom")
        extra = more_col.number_input("More epochs", 1, 100, 2, key="train_more_epochs")
        if button_col.button(
            "Continue training", key="train_continue", icon=":material/fast_forward:"
        ):
            start(job.continue_training(int(extra)))
