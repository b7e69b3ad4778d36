"""The session's durable state (core.session_store): brought back on a session's first run, kept
after every run that changed it. A refresh, or another app server, finds it through ?session=."""

from __future__ import annotations

import logging
from contextlib import suppress

import streamlit as st

from core.lessons import LESSONS_BY_KEY
from core.presets import PRESETS
from core.session_store import SavedModel, SessionRecord, SessionStore, is_plain
from core.spec import NetworkSpec
from ui.i18n import t
from ui.layer_editor import current_layers, set_editor_layers
from ui.resources import run_store
from ui.runtime import wait_for_tensorflow
from ui.session import find_unseen_end, owner_token, watched_run
from ui.state import ActiveModel, Keys, active_model, set_active_model
from ui.train_settings import SETTING_KEYS as TRAIN_KEYS

# The pages' settings a refresh brings back: Train's, Build's, the lesson, Mistakes' filters.
BUILD_KEYS = (Keys.BUILD_PRESET, Keys.BUILD_NAME, Keys.BUILD_EDITING)
BUILD_KEYS += ("build_optimizer", "build_learning_rate", "build_momentum", "build_loss")
SETTING_KEYS = TRAIN_KEYS + BUILD_KEYS + (Keys.LESSON, Keys.ACTIVE_LESSON)
SETTING_KEYS += ("mistakes_true", "mistakes_predicted", "mistakes_order")
CHOICES = {Keys.LESSON: LESSONS_BY_KEY, Keys.BUILD_PRESET: PRESETS}  # keys an old file may not know
SETTINGS_FOR_MODEL = "train_settings_for_active"  # Train's settings were the active model's
KEPT = "durable_kept"  # the SessionRecord as last read or written
FAILED_MODEL = "durable_failed_model"  # uid of an active model that could not be written
WATCHED_RUN = "durable_watched_run"  # the session's training, while it was active


def _store() -> SessionStore:
    return SessionStore(run_store())


def _network_key(active: ActiveModel) -> object:
    """What Train's settings belong to (ui.train_settings.prepare_settings' `network`)."""
    return active.spec or active.uid


def restore_session() -> None:
    """On a session's first run: the active model and the pages' settings from the owner's folder."""
    if KEPT in st.session_state:
        return
    owner = owner_token()
    record = _store().load(owner)
    st.session_state[KEPT] = record
    settings = record.settings
    for key in SETTING_KEYS:
        if key in settings and settings[key] in CHOICES.get(key, (settings[key],)):
            st.session_state[key] = settings[key]
    # Layers another version of the app wrote may not load: Build then starts from its preset.
    with suppress(KeyError, TypeError, ValueError):
        if record.layers:
            set_editor_layers(NetworkSpec.from_dict({"name": "", "layers": record.layers}).layers)
    if record.model is not None and active_model() is None:
        active = _load_model(owner, record.model)
        if active is not None:
            set_active_model(active)
            st.session_state[Keys.ACTIVE_LESSON] = settings.get(Keys.ACTIVE_LESSON)
            if settings.get(SETTINGS_FOR_MODEL):
                st.session_state["train_settings_for"] = _network_key(active)
    find_unseen_end(settings.get(WATCHED_RUN))


def _load_model(owner: str, saved: SavedModel) -> ActiveModel | None:
    wait_for_tensorflow(t("loading.tensorflow"))
    try:
        model = _store().load_model(owner, saved)
        spec = NetworkSpec.from_dict(saved.spec) if saved.spec else None
    except Exception:  # a deleted run, a damaged file: the session starts without a model
        logging.getLogger(__name__).warning(
            "The session's active model did not load", exc_info=True
        )
        return None
    run_dir = str(run_store().run_dir(owner, saved.run_id)) if saved.run_id else None
    return ActiveModel(
        model, saved.name, saved.source, spec, saved.test_accuracy, run_dir, uid=saved.uid
    )


def keep_session() -> None:
    """After a run: write the session's record (and a model no run holds) if anything changed."""
    kept: SessionRecord = st.session_state.get(KEPT) or SessionRecord()
    settings = dict(kept.settings)  # a setting its page has not drawn yet keeps its kept value
    state = st.session_state
    settings |= {k: state[k] for k in SETTING_KEYS if k in state and is_plain(state[k])}
    settings[WATCHED_RUN] = watched_run()
    layers = kept.layers
    if Keys.BUILD_LAYERS in state:
        layers = [layer.to_dict() for layer in current_layers()]
    active = active_model()
    if active is not None and "train_settings_for" in state:
        settings[SETTINGS_FOR_MODEL] = state["train_settings_for"] == _network_key(active)
    record = SessionRecord(_saved_model(active, kept.model), settings, layers)
    if record == kept:
        return
    try:
        _store().save(owner_token(), record)
    except OSError:
        logging.getLogger(__name__).warning("The session's state was not saved", exc_info=True)
        return
    st.session_state[KEPT] = record


def _saved_model(active: ActiveModel | None, kept: SavedModel | None) -> SavedModel | None:
    """The record of the active model; a model that no run holds is written to the owner's folder."""
    if active is None:
        return None
    if kept is not None and kept.uid == active.uid:
        return kept
    if st.session_state.get(FAILED_MODEL) == active.uid:
        return None
    owner = owner_token()
    run_id = _store().run_id_of(owner, active.run_dir)
    if run_id is None:
        try:
            _store().save_model(owner, active.model)
        except Exception:  # a model Keras cannot write: the session keeps it in memory only
            logging.getLogger(__name__).warning("The active model was not saved", exc_info=True)
            st.session_state[FAILED_MODEL] = active.uid
            return None
    return SavedModel(
        name=active.name,
        source=active.source,
        uid=active.uid,
        run_id=run_id,
        spec=active.spec.to_dict() if active.spec else None,
        test_accuracy=active.test_accuracy,
    )
