"""The Train page's settings widgets, returning a TrainConfig."""

from __future__ import annotations

import streamlit as st

from core.presets import Preset
from core.training import MONITORS, TrainConfig

SUBSETS = {1_000: "1,000 (seconds)", 10_000: "10,000", 60_000: "all 60,000"}
VALIDATION_LABELS = {
    "split": "hold out part of the training digits",
    "test": "the 10,000 test digits",
    "none": "none",
}
SCHEDULE_LABELS = {
    "none": "constant",
    "cosine": "cosine decay to 0",
    "step": "step: multiply every few epochs",
    "reduce_on_plateau": "reduce on plateau (ReduceLROnPlateau)",
}


PRESET_KEYS = ("train_epochs", "train_batch_size", "train_validation", "train_lr_schedule")


def follow_preset(network: object) -> None:
    """Another network starts from its preset's suggested settings, not the last ones used."""
    if st.session_state.get("train_settings_for") != network:
        for key in PRESET_KEYS:
            st.session_state.pop(key, None)
        st.session_state["train_settings_for"] = network


def settings_ui(preset: Preset | None, disabled: bool) -> TrainConfig:
    """Epochs, batch size, data, validation, seed and the tutorial callbacks."""
    epochs_col, batch_col, subset_col = st.columns(3)
    epochs = epochs_col.number_input(
        "Epochs", 1, 200, preset.epochs if preset else 5, key="train_epochs", disabled=disabled
    )
    batch_size = batch_col.selectbox(
        "Batch size",
        [16, 32, 64, 128, 256, 512],
        index=[16, 32, 64, 128, 256, 512].index(preset.batch_size if preset else 128),
        key="train_batch_size",
        disabled=disabled,
    )
    subset = subset_col.selectbox(
        "Training digits",
        list(SUBSETS),
        index=2,
        format_func=SUBSETS.get,
        key="train_subset",
        disabled=disabled,
        help="Fewer digits train faster; handy for a quick demo.",
    )
    validation_col, split_col, seed_col = st.columns(3)
    validation = validation_col.selectbox(
        "Validation data",
        list(VALIDATION_LABELS),
        index=list(VALIDATION_LABELS).index(preset.validation if preset else "split"),
        format_func=VALIDATION_LABELS.get,
        key="train_validation",
        disabled=disabled,
    )
    split = split_col.slider(
        "Held-out fraction",
        0.05,
        0.5,
        0.1,
        0.05,
        key="train_validation_split",
        disabled=disabled or validation != "split",
        help="The tutorials hold out 30% (0.3).",
    )
    seed_text = seed_col.text_input(
        "Random seed", "", key="train_seed", disabled=disabled,
        help="A whole number makes the run repeatable: same start weights, same shuffling.",
    )  # fmt: skip
    shuffle = st.checkbox(
        "Shuffle the digits every epoch", True, key="train_shuffle", disabled=disabled
    )

    with st.expander("Callbacks: early stopping, best checkpoint, learning-rate schedule"):
        stop_col, patience_col, monitor_col, restore_col = st.columns(4)
        early = stop_col.checkbox(
            "Early stopping", False, key="train_early_stopping", disabled=disabled
        )
        patience = patience_col.number_input(
            "Patience (epochs)", 1, 20, 2, key="train_patience", disabled=disabled or not early
        )
        monitor = monitor_col.selectbox(
            "Watch", MONITORS, key="train_early_monitor", disabled=disabled or not early
        )
        restore = restore_col.checkbox(
            "Restore best weights", True, key="train_restore_best", disabled=disabled or not early
        )
        keep_col, keep_monitor_col = st.columns(2)
        checkpoint = keep_col.checkbox(
            "Keep the best weights (ModelCheckpoint, save_best_only)",
            True,
            key="train_checkpoint",
            disabled=disabled,
        )
        checkpoint_monitor = keep_monitor_col.selectbox(
            "Best by",
            MONITORS,
            index=MONITORS.index("val_accuracy"),
            key="train_checkpoint_monitor",
            disabled=disabled or not checkpoint,
        )
        schedule_col, every_col, factor_col = st.columns(3)
        schedule = schedule_col.selectbox(
            "Learning-rate schedule",
            list(SCHEDULE_LABELS),
            index=list(SCHEDULE_LABELS).index(preset.lr_schedule if preset else "none"),
            format_func=SCHEDULE_LABELS.get,
            key="train_lr_schedule",
            disabled=disabled,
        )
        every = every_col.number_input(
            "Every (epochs)", 1, 50, 2, key="train_step_every",
            disabled=disabled or schedule not in ("step", "reduce_on_plateau"),
            help="Step: epochs between steps. Plateau: epochs without improvement.",
        )  # fmt: skip
        factor = factor_col.number_input(
            "Factor", 0.01, 0.99, 0.5, 0.05, key="train_lr_factor",
            disabled=disabled or schedule not in ("step", "reduce_on_plateau"),
        )  # fmt: skip

    return TrainConfig(
        epochs=int(epochs),
        batch_size=int(batch_size),
        validation=validation,
        validation_split=float(split),
        shuffle=shuffle,
        seed=int(seed_text) if seed_text.strip().lstrip("-").isdigit() else None,
        subset_size=None if subset == 60_000 else int(subset),
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
