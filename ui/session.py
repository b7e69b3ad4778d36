"""The session's owner token and nickname (kept in the URL) and its job, across pages and refreshes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from core.engine.ended import EndedRunHandle
from core.i18n import msg
from core.runs import NICKNAME_MAX, NicknameError, RunRecord, is_owner_token, new_owner_token
from core.spec import NetworkSpec
from ui.i18n import t, tm
from ui.resources import engine, run_store
from ui.runtime import wait_for_tensorflow
from ui.state import ActiveModel, Keys, set_active_model

if TYPE_CHECKING:
    from core.engine import TrainingHandle

QUERY_KEY = "session"
NAME_QUERY_KEY = "name"
NICKNAME = "session_nickname_saved"  # the session's valid nickname (or None)
NICKNAME_INPUT = "session_nickname"  # the sidebar's text input
NICKNAME_ERROR = "session_nickname_error"  # why the last nickname typed was refused


def owner_token() -> str:
    """This browser session's token; a refresh finds it again in the URL (?session=...)."""
    token = st.session_state.get(Keys.OWNER)
    if token is None:
        # Only a token this app could have made comes back from the URL: a short or chosen one
        # could be guessed by another learner.
        token = st.query_params.get(QUERY_KEY, "")
        if not is_owner_token(token):
            token = new_owner_token()
        st.session_state[Keys.OWNER] = token
    if st.query_params.get(QUERY_KEY) != token:
        st.query_params[QUERY_KEY] = token
    return token


def current_job() -> TrainingHandle | None:
    """The session's latest training: the one it started, or after a refresh its live one."""
    job = st.session_state.get(Keys.JOB)
    if job is None:
        job = engine().active_job(owner_token())
        st.session_state[Keys.JOB] = job
    return job


def watch(job: TrainingHandle) -> None:
    """Make a submitted training the session's job (the Train page shows it)."""
    st.session_state[Keys.JOB] = job
    # Let the previous job go now, not when this one ends: its model (unless still the active one)
    # is then garbage that this job's end collects and hands back (release_freed_memory).
    st.session_state[Keys.ADOPTED_JOB] = None


def watched_run() -> str | None:
    """The run id of the session's training until its model has been adopted (or it failed):
    a refresh then looks for its end (find_unseen_end)."""
    job = st.session_state.get(Keys.JOB)
    if job is None or st.session_state.get(Keys.ADOPTED_JOB) is job or job.status == "failed":
        return None
    return Path(job.run_dir).name


def find_unseen_end(run_id: object) -> None:
    """After a refresh: the session's training that ended while no page of it was open becomes
    the session's job again, as if watched to its end (adopt_finished_job then takes its model)."""
    owner = owner_token()
    if not isinstance(run_id, str) or engine().active_job(owner) is not None:
        return
    try:
        job = EndedRunHandle(run_store(), owner, run_id, msg("train.ended_unseen"))
    except (FileNotFoundError, ValueError):  # deleted, or interrupted (the Runs page continues it)
        return
    wait_for_tensorflow(t("loading.tensorflow"))
    if job.status != "failed" and job.trained_model() is None:
        return  # no model to make active (cancelled, or its file unreadable): Runs lists the run
    st.session_state[Keys.JOB] = job


def stop_current_job() -> None:
    """The Stop button's callback: stop the session's job. It looks the job up when pressed, so
    that Streamlit's record of the button does not keep a finished job (and its model) alive."""
    job = current_job()
    if job is not None:
        job.stop()


def belongs_to_active_model(job: TrainingHandle) -> bool:
    """Whether a job trained the active model: it made it (its run) or started from it (a failed one)."""
    active = st.session_state.get(Keys.ACTIVE_MODEL)
    if active is None:
        return False
    return active.run_dir == str(job.run_dir) or st.session_state.get(Keys.JOB_MODEL) == active.uid


def adopt_finished_job() -> None:
    """Once a job has ended with a model, make that model the active one (on any page)."""
    job = st.session_state.get(Keys.JOB)
    if job is None or st.session_state.get(Keys.ADOPTED_JOB) is job:
        return
    progress = job.snapshot()
    if progress.active or progress.status == "failed":
        return
    st.session_state[Keys.ADOPTED_JOB] = job
    model = job.trained_model()
    if model is None:
        return
    summary = progress.summary
    try:
        spec = run_store().load_run(job.owner, Path(job.run_dir).name).spec
    except FileNotFoundError:
        spec = {}
    set_active_model(
        ActiveModel(
            model=model,
            name=job.name,
            source="trained",
            spec=NetworkSpec.from_dict(spec) if spec else None,
            test_accuracy=summary.test_accuracy if summary else None,
            run_dir=job.run_dir,
        )
    )


def nickname() -> str | None:
    """The nickname this session chose; on its first run, the one in the URL (?name=...)."""
    if NICKNAME not in st.session_state:
        try:
            saved = run_store().save_nickname(owner_token(), st.query_params.get(NAME_QUERY_KEY))
        except NicknameError:
            saved = None
        st.session_state[NICKNAME] = saved
        st.session_state[NICKNAME_INPUT] = saved or ""
    return st.session_state[NICKNAME]


def _nickname_typed() -> None:
    typed = st.session_state[NICKNAME_INPUT]
    try:
        saved = run_store().save_nickname(owner_token(), typed)
    except NicknameError as error:
        st.session_state[NICKNAME_ERROR] = error  # the box keeps what was typed, to be corrected
        return
    st.session_state[NICKNAME_ERROR] = None
    st.session_state[NICKNAME] = saved
    st.session_state[NICKNAME_INPUT] = saved


def nickname_input() -> str | None:
    """A one-line nickname box, where the caller draws it (the sidebar); the name goes to the URL
    and beside the runs."""
    saved = nickname()
    # A page change made by st.switch_page forgets every widget's value, this box's too.
    st.session_state.setdefault(NICKNAME_INPUT, saved or "")
    st.text_input(
        t("class.nickname_label"),
        key=NICKNAME_INPUT,
        max_chars=NICKNAME_MAX,
        placeholder=t("class.nickname_placeholder"),
        help=t("class.nickname_help"),
        on_change=_nickname_typed,
    )
    error = st.session_state.get(NICKNAME_ERROR)
    if error is not None:
        st.error(tm(error))
    name = st.session_state[NICKNAME]
    if name and st.query_params.get(NAME_QUERY_KEY) != name:
        st.query_params[NAME_QUERY_KEY] = name  # a refresh or a bookmark keeps the nickname
    return name


def activate_run(owner: str, run: RunRecord, name: str | None = None) -> ActiveModel:
    """Load a saved run's model and make it this session's active model."""
    spec = NetworkSpec.from_dict(run.spec) if run.spec else None
    active = ActiveModel(
        run_store().load_model(owner, run.run_id),
        name or run.name,
        "trained",
        spec=spec,
        test_accuracy=run.test_accuracy,
        run_dir=str(run.path),
    )
    set_active_model(active)
    return active
