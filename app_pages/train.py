"""Train page: settings, a background training job watched live, stop and continue."""

import streamlit as st

from core.build import build_model, ensure_compiled
from core.i18n import MessageError
from core.presets import preset_of
from core.scheduler import OwnerBusyError
from core.training import TrainingJob, seed_everything
from ui.i18n import t, tm
from ui.lesson_progress import record_run
from ui.live_view import curves, live_curves, live_progress, summary
from ui.navigation import end_page
from ui.resources import mnist, run_store, scheduler
from ui.session import belongs_to_active_model, current_job, owner_token, stop_current_job
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


def start(job: TrainingJob) -> None:
    try:
        scheduler().submit(job)
    except OwnerBusyError as error:
        st.error(tm(error))
        return
    st.session_state[Keys.JOB] = job
    record_run(job.run_dir.name)  # the lesson open now counts this run
    st.session_state[Keys.JOB_MODEL] = active_model().uid
    # Let the previous job go now, not when this one ends: its model (unless still the active one)
    # is then garbage that this job's end collects and hands back (release_freed_memory).
    st.session_state[Keys.ADOPTED_JOB] = None
    st.rerun()


if st.button(
    t("train.start"),
    type="primary",
    key="train_start",
    disabled=running,
    icon=":material/play_arrow:",
):
    try:
        config.check()
        seed_everything(config.seed)
        model = build_model(active.spec) if active.spec else ensure_compiled(active.model)
        new_job = TrainingJob(
            model,
            config,
            mnist(),
            run_store().new_run_dir(owner_token()),
            spec_dict=active.spec.to_dict() if active.spec else {},
            name=active.name,
            owner=owner_token(),
        )
    except MessageError as error:  # settings or a model that cannot train: say why
        st.error(tm(error))
        end_page()
    start(new_job)

if job is None:
    st.caption(t("train.press_train"))
elif running:
    queued = job.snapshot().status == "queued"
    live_progress(job, queued)
    st.button(
        t("train.stop"),
        key="train_stop",
        on_click=stop_current_job,
        disabled=job.status == "stopping",
        icon=":material/stop_circle:",
        help=t("train.stop_help"),
    )
    if not queued:  # the charts come with a full rerun once the job leaves the queue
        live_curves(job)
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
            start(job.continue_training(int(extra)))
