"""Train page: settings, a background training job watched live, stop and continue."""

import dataclasses
from pathlib import Path

import streamlit as st

from core.engine import TrainingRequest
from core.engine.runner import save_start_model
from core.i18n import MessageError
from core.presets import preset_of
from ui.i18n import t, tm
from ui.lesson_progress import record_run
from ui.live_view import curves, live_view, stop_button, summary
from ui.navigation import end_page
from ui.resources import engine, run_store
from ui.session import (
    belongs_to_active_model,
    current_job,
    owner_token,
    watch,
)
from ui.state import Keys, active_model, init_session_state, require_active_model
from ui.train_settings import prepare_settings, settings_ui, show_settings_of, suggested_config

init_session_state()
st.title(t("train.title"))
job = current_job()
running = job is not None and job.snapshot().active
if running:
    # Also after a refresh, when the session has no active model yet: the job carries on.
    st.markdown(t("train.job_running", name=job.name))
    show_settings_of(job.config)
else:
    active = require_active_model()
    preset = preset_of(active.spec)
    how = t("train.from_spec") if active.spec else t("train.from_weights")
    st.markdown(
        t("train.model_line", name=active.name, parameters=active.model.count_params(), how=how)
    )
    prepare_settings(active.spec or active.uid, suggested_config(preset))
    if job is not None and not belongs_to_active_model(job):
        job = None  # another model's finished training (say, before Build made a new one)
config = settings_ui(disabled=running)


def start(request: TrainingRequest) -> bool:
    """Submit the training and watch it; False (with the reason shown) if it cannot start."""
    try:
        handle = engine().submit(request)
    except MessageError as error:  # busy, settings, or a model that cannot train: say why
        st.error(tm(error))
        return False
    watch(handle)
    record_run(Path(handle.run_dir).name)  # the lesson open now counts this run
    st.session_state[Keys.JOB_MODEL] = active_model().uid
    st.rerun()


if st.button(
    t("train.start"),
    type="primary",
    key="train_start",
    disabled=running,
    icon=":material/play_arrow:",
):
    owner = owner_token()
    run_dir = run_store().new_run_dir(owner)
    request = TrainingRequest(owner, str(run_dir), active.name, config)
    try:
        if active.spec:
            request = dataclasses.replace(request, spec=active.spec.to_dict())
        else:  # an uploaded model: the engine starts from a copy in the run's folder
            start_model = save_start_model(active.model, run_dir)
            request = dataclasses.replace(request, model_path=str(start_model))
    except MessageError as error:
        st.error(tm(error))
        request = None
    if request is None or not start(request):
        run_store().delete_run(owner, run_dir.name)  # nothing trained: leave no empty run
        end_page()

if job is None:
    st.caption(t("train.press_train"))
elif running:
    queued = job.snapshot().status == "queued"
    stop_button(job)
    live_view(job, queued)
else:
    progress = job.snapshot()
    summary(progress)
    curves(progress, "train_done")
    if progress.status != "failed":
        more_col, button_col = st.columns([1, 3], vertical_alignment="bottom")
        extra = more_col.number_input(t("train.more_epochs"), 1, 100, 2, key="train_more_epochs")
        if button_col.button(
            t("train.continue"), key="train_continue", icon=":material/fast_forward:"
        ):
            more = dataclasses.replace(job.config, epochs=int(extra))
            start(TrainingRequest(job.owner, job.run_dir, job.name, more, resume=True))
