"""Session state: the few small things a session keeps, under named keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import streamlit as st

from core.presets import DEFAULT_PRESET, PRESETS
from core.spec import NetworkSpec
from ui.i18n import t
from ui.navigation import end_page


class Keys:
    """Every session_state key the pages share."""

    ACTIVE_MODEL = "active_model"  # ActiveModel | None
    BUILD_LAYERS = "build_layers"  # list[EditorLayer]: the layer editor's rows
    BUILD_NAME = "build_name"  # the network's name in the editor
    BUILD_PRESET = "build_preset"  # key of the preset the editor started from
    BUILD_EDITING = "build_editing"  # whether Build shows the layer editor or the stack's table
    NEXT_LAYER_ID = "next_layer_id"  # counter for stable widget keys of editor rows
    PREDICTIONS = "test_predictions"  # {active model uid: (10000, 10) probabilities}
    MY_DIGITS = "draw_my_digits"  # list of (28x28 float image, label) the user kept
    CANVAS_VERSION = "draw_canvas_version"  # bumped to clear the canvas
    OWNER = "owner_token"  # names this browser session's runs; mirrored in the URL
    JOB = "training_job"  # the session's latest TrainingHandle (core.engine)
    ADOPTED_JOB = "adopted_job"  # the job whose model already became the active model
    UPLOADS = "evaluate_uploads_cache"  # {signature of uploaded files: [EvaluatedUpload]}
    LOOK_INSIDE_DIGIT = "look_inside_digit"  # test index (int) or a drawing (28x28 floats)


@dataclass
class ActiveModel:
    """The model every page works on, and where it came from."""

    model: Any  # keras.Model; Any keeps Keras out of the import path of light pages
    name: str
    source: str  # "built", "trained" or "uploaded"
    spec: NetworkSpec | None = None  # None for uploaded models
    test_accuracy: float | None = None
    run_dir: str | None = None  # the saved run it comes from (its per-epoch snapshots), if any
    uid: str = field(default_factory=lambda: uuid4().hex)  # new for every model made active


def init_session_state() -> None:
    """Create every key with its default, once per session; call at the top of every page."""
    defaults = {
        Keys.ACTIVE_MODEL: None,
        Keys.BUILD_PRESET: DEFAULT_PRESET,
        Keys.BUILD_NAME: PRESETS[DEFAULT_PRESET].spec.name,
        Keys.NEXT_LAYER_ID: 0,
        Keys.MY_DIGITS: [],
        Keys.CANVAS_VERSION: 0,
    }
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def active_model() -> ActiveModel | None:
    return st.session_state.get(Keys.ACTIVE_MODEL)


def set_active_model(active: ActiveModel) -> None:
    st.session_state[Keys.ACTIVE_MODEL] = active


def require_active_model() -> ActiveModel:
    """The active model, or a hint and a stop when there is none."""
    active = active_model()
    if active is None:
        st.info(t("app.no_active_model"))
        st.page_link(
            "app_pages/build.py", label=t("app.go_to_build"), icon=":material/construction:"
        )
        end_page()
    return active
