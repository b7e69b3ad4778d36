"""The session's owner token (kept in the URL) and its training job, across pages and refreshes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from core.runs import InvalidIdError, check_id, new_owner_token
from core.spec import NetworkSpec
from ui.resources import scheduler
from ui.state import ActiveModel, Keys, set_active_model

if TYPE_CHECKING:  # the job module imports TensorFlow; only a submitted job needs it
    from core.training import TrainingJob

QUERY_KEY = "session"


def owner_token() -> str:
    """This browser session's token; a refresh finds it again in the URL (?session=...)."""
    token = st.session_state.get(Keys.OWNER)
    if token is None:
        try:
            token = check_id(st.query_params.get(QUERY_KEY, ""), "session token")
        except InvalidIdError:
            token = new_owner_token()
        st.session_state[Keys.OWNER] = token
    if st.query_params.get(QUERY_KEY) != token:
        st.query_params[QUERY_KEY] = token
    return token


def current_job() -> TrainingJob | None:
    """The session's latest training job: the one it started, or after a refresh its live one."""
    job = st.session_state.get(Keys.JOB)
    if job is None:
        job = scheduler().active_job(owner_token())
        st.session_state[Keys.JOB] = job
    return job


def adopt_finished_job() -> None:
    """Once a job has ended with a model, make that model the active one (on any page)."""
    job = st.session_state.get(Keys.JOB)
    if job is None or st.session_state.get(Keys.ADOPTED_JOB) is job:
        return
    progress = job.snapshot()
    if progress.active or progress.status == "failed":
        return
    st.session_state[Keys.ADOPTED_JOB] = job
    summary = progress.summary
    set_active_model(
        ActiveModel(
            model=job.model,
            name=job.name,
            source="trained",
            spec=NetworkSpec.from_dict(job.spec_dict) if job.spec_dict else None,
            test_accuracy=summary.test_accuracy if summary else None,
        )
    )
