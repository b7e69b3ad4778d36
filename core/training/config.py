"""How to train: the settings of a training job, checked before it starts (no TensorFlow here)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from core.i18n import MessageError, msg

Validation = Literal["split", "test", "none"]
Monitor = Literal["val_loss", "val_accuracy", "loss", "accuracy"]
LrSchedule = Literal["none", "reduce_on_plateau", "step", "cosine"]

VALIDATIONS = ("split", "test", "none")
MONITORS = ("val_loss", "val_accuracy", "loss", "accuracy")
LR_SCHEDULES = ("none", "reduce_on_plateau", "step", "cosine")
MNIST_TRAIN = 60_000  # digits in MNIST's training set


class ConfigError(MessageError):
    """Training settings that cannot work together."""


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

    def train_digits(self, available: int = MNIST_TRAIN) -> int:
        """Digits each epoch trains on, out of those available: the subset, less the held-out
        split (Keras keeps the first floor(n * (1 - split)) for training)."""
        n = min(self.subset_size or available, available)
        if self.validation == "split":
            n = math.floor(n * (1.0 - self.validation_split))
        return n

    def batches_per_epoch(self, available: int = MNIST_TRAIN) -> int:
        """Batches in one epoch."""
        return max(1, math.ceil(self.train_digits(available) / self.batch_size))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for spec.json."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """The config to_dict wrote (spec.json); keys this version does not know are ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def check(self) -> None:
        """Raise ConfigError (a ValueError) in plain words if the settings cannot work together."""
        if self.epochs < 1:
            raise ConfigError("train.config_epochs")
        if self.batch_size < 1:
            raise ConfigError("train.config_batch_size")
        if self.validation not in VALIDATIONS:
            raise ConfigError(
                "train.config_validation", choices=", ".join(VALIDATIONS), value=self.validation
            )
        if self.validation == "split" and not 0 < self.validation_split < 1:
            raise ConfigError("train.config_split")
        if self.subset_size is not None and self.subset_size < 1:
            raise ConfigError("train.config_subset")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError("train.config_schedule", value=self.lr_schedule)
        if self.lr_schedule == "step" and (self.step_every < 1 or self.step_factor <= 0):
            raise ConfigError("train.config_step")
        if self.lr_schedule == "reduce_on_plateau" and not 0 < self.plateau_factor < 1:
            raise ConfigError("train.config_plateau")
        for used, monitor, what in (
            (self.early_stopping, self.early_stopping_monitor, msg("train.early_stopping")),
            (self.checkpoint_best, self.checkpoint_monitor, msg("train.keeping_best")),
        ):
            if not used:
                continue
            if monitor not in MONITORS:
                raise ConfigError(
                    "train.config_monitor", what=what, monitor=monitor, choices=", ".join(MONITORS)
                )
            if monitor.startswith("val_") and self.validation == "none":
                raise ConfigError(
                    "train.config_no_validation", what=what, monitor=monitor, plain=monitor[4:]
                )
