"""How to train: the settings of a training job, checked before it starts (no TensorFlow here)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

Validation = Literal["split", "test", "none"]
Monitor = Literal["val_loss", "val_accuracy", "loss", "accuracy"]
LrSchedule = Literal["none", "reduce_on_plateau", "step", "cosine"]

VALIDATIONS = ("split", "test", "none")
MONITORS = ("val_loss", "val_accuracy", "loss", "accuracy")
LR_SCHEDULES = ("none", "reduce_on_plateau", "step", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """How to train: everything `model.fit` and its callbacks need."""

    epochs: int = 5  # epochs in this job (a continuation adds this many)
    batch_size: int = 32  # digits per gradient step
    validation: Validation = "split"  # "split": hold out the end of the training digits;
    # "test": validate on the 10k test set; "none": no validation (fastest)
    validation_split: float = 0.1  # fraction held out when validation == "split"
    shuffle: bool = True  # reshuffle the training digits every epoch
    seed: int | None = None  # set: Keras, NumPy and Python RNGs are seeded (reproducible runs)
    subset_size: int | None = None  # first N training digits (None: all 60k)
    early_stopping: bool = False  # stop when the monitored metric stops improving
    early_stopping_monitor: Monitor = "val_loss"
    early_stopping_patience: int = 2  # epochs without improvement before stopping
    restore_best_weights: bool = True  # early stopping ends with the best epoch's weights
    checkpoint_best: bool = False  # keep best.weights.h5 of the best epoch (ModelCheckpoint)
    checkpoint_monitor: Monitor = "val_accuracy"
    lr_schedule: LrSchedule = "none"  # how the learning rate changes while training
    plateau_factor: float = 0.5  # reduce_on_plateau: multiply the lr by this ...
    plateau_patience: int = 1  # ... after this many epochs without val_loss (or loss) improving
    step_every: int = 2  # step: multiply the lr by step_factor every step_every epochs
    step_factor: float = 0.5
    # cosine: decays from the compiled learning rate to ~0 over this job's batches

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for spec.json."""
        return dataclasses.asdict(self)

    def check(self) -> None:
        """Raise ValueError with a plain message if the settings cannot work together."""
        if self.epochs < 1:
            raise ValueError("Train for at least 1 epoch.")
        if self.batch_size < 1:
            raise ValueError("The batch size must be at least 1.")
        if self.validation not in VALIDATIONS:
            raise ValueError(f"Validation must be one of {VALIDATIONS}, not {self.validation!r}.")
        if self.validation == "split" and not 0 < self.validation_split < 1:
            raise ValueError("The validation split must be between 0 and 1 (e.g. 0.1).")
        if self.subset_size is not None and self.subset_size < 1:
            raise ValueError("Use at least 1 training digit.")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"Unknown learning-rate schedule {self.lr_schedule!r}.")
        if self.lr_schedule == "step" and (self.step_every < 1 or self.step_factor <= 0):
            raise ValueError("The step schedule needs step_every >= 1 and a factor above 0.")
        if self.lr_schedule == "reduce_on_plateau" and not 0 < self.plateau_factor < 1:
            raise ValueError("The plateau factor must be between 0 and 1 (e.g. 0.5).")
        for used, monitor, what in (
            (self.early_stopping, self.early_stopping_monitor, "Early stopping"),
            (self.checkpoint_best, self.checkpoint_monitor, "Keeping the best weights"),
        ):
            if not used:
                continue
            if monitor not in MONITORS:
                raise ValueError(f"{what} cannot watch {monitor!r}; use one of {MONITORS}.")
            if monitor.startswith("val_") and self.validation == "none":
                raise ValueError(
                    f"{what} watches {monitor}, but there is no validation data: "
                    f"choose a validation split or the test set, or watch {monitor[4:]} instead."
                )
