"""The Train page's settings widgets, returning a TrainConfig."""

from __future__ import annotations

import streamlit as st

from core.presets import Preset
from core.training import MONITORS, TrainConfig
from ui.i18n import option_labels, relabel_after_language_switch, t

ALL_DIGITS = 60_000
SUBSETS = (1_000, 10_000, ALL_DIGITS)
VALIDATIONS = ("split", "test", "none")
SCHEDULES = ("none", "cosine", "step", "reduce_on_plateau")


# The settings a preset suggests; a new network takes these from its preset, the rest stay.
PRESET_KEYS = ("train_epochs", "train_batch_size", "train_validation", "train_lr_schedule")
BATCH_SIZES = (16, 32, 64, 128, 256, 512)


def suggested_config(preset: Preset | None) -> TrainConfig:
    """What a network starts with: its preset's recipe, best weights kept."""
    if preset is None:
        return TrainConfig(batch_size=128, checkpoint_best=True)
    return preset.train_config(checkpoint_best=True)


def _widget_values(config: TrainConfig) -> dict[str, object]:
    """The value of every settings widget that shows this config."""
    return {
        "train_epochs": config.epochs,
        "train_batch_size": config.batch_size,
        "train_subset": config.subset_size or ALL_DIGITS,
        "train_validation": config.validation,
        "train_validation_split": config.validation_split,
        "train_seed": "" if config.seed is None else str(config.seed),
        "train_shuffle": config.shuffle,
        "train_early_stopping": config.early_stopping,
        "train_patience": config.early_stopping_patience,
        "train_early_monitor": config.early_stopping_monitor,
        "train_restore_best": config.restore_best_weights,
        "train_checkpoint": config.checkpoint_best,
        "train_checkpoint_monitor": config.checkpoint_monitor,
        "train_lr_schedule": config.lr_schedule,
        "train_step_every": config.step_every,
        "train_lr_factor": config.step_factor,
    }


SETTING_KEYS = tuple(_widget_values(TrainConfig()))  # every settings widget's key


def prepare_settings(network: object, suggested: TrainConfig) -> None:
    """Give every setting a value; another network starts from its suggested ones."""
    values = _widget_values(suggested)
    if st.session_state.get("train_settings_for") != network:
        st.session_state.update({key: values[key] for key in PRESET_KEYS})
        st.session_state["train_settings_for"] = network
    for key, value in values.items():
        st.session_state.setdefault(key, value)


def show_settings_of(config: TrainConfig) -> None:
    """Set every setting to a running job's (also for a session that did not start it)."""
    st.session_state.update(_widget_values(config))


def settings_ui(disabled: bool) -> TrainConfig:
    """Epochs, batch size, data, validation, seed and the tutorial callbacks."""
    epochs_col, batch_col, subset_col = st.columns(3)
    epochs = epochs_col.number_input(
        t("train_settings.epochs"),
        1,
        200,
        key="train_epochs",
        persist_state="session",
        disabled=disabled,
    )
    batch_size = batch_col.selectbox(
        t("train_settings.batch_size"),
        BATCH_SIZES,
        key="train_batch_size",
        persist_state="session",
        disabled=disabled,
    )
    relabel_after_language_switch("train_subset", "train_validation", "train_lr_schedule")
    subset = subset_col.selectbox(
        t("train_settings.subset"),
        SUBSETS,
        format_func=option_labels("train_settings.subset.{}"),
        key="train_subset",
        persist_state="session",
        disabled=disabled,
        help=t("train_settings.subset_help"),
    )
    validation_col, split_col, seed_col = st.columns(3)
    validation = validation_col.selectbox(
        t("train_settings.validation"),
        VALIDATIONS,
        format_func=option_labels("train_settings.validation.{}"),
        key="train_validation",
        persist_state="session",
        disabled=disabled,
    )
    split = split_col.slider(
        t("train_settings.split"),
        0.05,
        0.5,
        step=0.05,
        key="train_validation_split",
        persist_state="session",
        disabled=disabled or validation != "split",
        help=t("train_settings.split_help"),
    )
    seed_text = seed_col.text_input(
        t("train_settings.seed"), key="train_seed", persist_state="session", disabled=disabled,
        help=t("train_settings.seed_help"),
    )  # fmt: skip
    shuffle = st.checkbox(
        t("train_settings.shuffle"), key="train_shuffle", persist_state="session", disabled=disabled
    )

    with st.expander(t("train_settings.callbacks")):
        stop_col, patience_col, monitor_col, restore_col = st.columns(4)
        early = stop_col.checkbox(
            t("train_settings.early_stopping"),
            key="train_early_stopping",
            persist_state="session",
            disabled=disabled,
        )
        patience = patience_col.number_input(
            t("train_settings.patience"),
            1,
            20,
            key="train_patience",
            persist_state="session",
            disabled=disabled or not early,
        )
        monitor = monitor_col.selectbox(
            t("train_settings.watch"),
            MONITORS,
            key="train_early_monitor",
            persist_state="session",
            disabled=disabled or not early,
        )
        restore = restore_col.checkbox(
            t("train_settings.restore_best"),
            key="train_restore_best",
            persist_state="session",
            disabled=disabled or not early,
        )
        keep_col, keep_monitor_col = st.columns(2)
        checkpoint = keep_col.checkbox(
            t("train_settings.checkpoint"),
            key="train_checkpoint",
            persist_state="session",
            disabled=disabled,
        )
        checkpoint_monitor = keep_monitor_col.selectbox(
            t("train_settings.best_by"),
            MONITORS,
            key="train_checkpoint_monitor",
            persist_state="session",
            disabled=disabled or not checkpoint,
        )
        schedule_col, every_col, factor_col = st.columns(3)
        schedule = schedule_col.selectbox(
            t("train_settings.schedule"),
            SCHEDULES,
            format_func=option_labels("train_settings.schedule.{}"),
            key="train_lr_schedule",
            persist_state="session",
            disabled=disabled,
        )
        every = every_col.number_input(
            t("train_settings.every"), 1, 50, key="train_step_every", persist_state="session",
            disabled=disabled or schedule not in ("step", "reduce_on_plateau"),
            help=t("train_settings.every_help"),
        )  # fmt: skip
        factor = factor_col.number_input(
            t("train_settings.factor"), 0.01, 0.99, step=0.05, key="train_lr_factor", persist_state="session",
            disabled=disabled or schedule not in ("step", "reduce_on_plateau"),
        )  # fmt: skip

    return TrainConfig(
        epochs=int(epochs),
        batch_size=int(batch_size),
        validation=validation,
        validation_split=float(split),
        shuffle=shuffle,
        seed=int(seed_text) if seed_text.strip().lstrip("-").isdigit() else None,
        subset_size=None if subset == ALL_DIGITS else int(subset),
        early_stopping=early,
        early_stopping_monitor=monitor,
        early_stopping_patience=int(patience),
        restore_best_weights=restore,
        checkpoint_best=checkpoint
        and (validation != "none" or not checkpoint_monitor.startswith("val_")),
        checkpoint_monitor=checkpoint_monitor,
        lr_schedule=schedule,
        plateau_factor=float(factor),
        plateau_patience=int(every),
        step_every=int(every),
        step_factor=float(factor),
    )
