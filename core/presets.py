"""Ready-made networks: the classic Keras MNIST tutorials and a recommended default."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from core.i18n import Message, msg
from core.spec import CompileSpec, LayerSpec, NetworkSpec, conv, dense, layer
from core.training import TrainConfig


@dataclass(frozen=True)
class Preset:
    """A network plus the training settings it is meant to be trained with."""

    title: Message  # shown in the preset picker
    description: Message  # one sentence on where it comes from and what to expect
    spec: NetworkSpec
    epochs: int  # suggested number of epochs
    batch_size: int  # suggested batch size
    lr_schedule: str = "none"  # "none", "reduce_on_plateau", "step" or "cosine"
    validation: str = "split"  # "split" (hold out 10%), "test" (the 10k test set) or "none"

    def train_config(self, **changes: Any) -> TrainConfig:
        """The training settings this preset is meant for, with any changes."""
        settings = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr_schedule": self.lr_schedule,
            "validation": self.validation,
        }
        return TrainConfig(**(settings | changes))


def _pool() -> LayerSpec:
    return layer("MaxPooling2D", pool_size=2)


PRESETS: dict[str, Preset] = {
    "default": Preset(
        title=msg("presets.default.title"),
        description=msg("presets.default.description"),
        spec=NetworkSpec(
            name="Digit Lab CNN",
            layers=(
                conv(16),
                _pool(),
                conv(48),
                _pool(),
                # One normalisation, before the classifier: another after the first pooling cost
                # a third of each step on CPU and did not bring 99% sooner (docs/training-speed.md).
                layer("BatchNormalization"),
                layer("Flatten"),
                # A hidden Dense layer costs a tenth of a step and brings 99% an epoch sooner.
                dense(256),
                layer("Dropout", rate=0.25),
                dense(10, "softmax"),
            ),
            compile=CompileSpec("adam", 0.005, 0.0, "sparse_categorical_crossentropy"),
        ),
        epochs=2,  # the cosine schedule reaches zero at the end of the second epoch
        batch_size=128,
        lr_schedule="cosine",
        validation="test",
    ),
    "mlp_sgd": Preset(
        title=msg("presets.mlp_sgd.title"),
        description=msg("presets.mlp_sgd.description"),
        spec=NetworkSpec(
            name="MLP 784-64-10",
            layers=(dense(64), dense(10, "softmax")),
            compile=CompileSpec("sgd", 0.01, 0.0, "categorical_crossentropy"),
        ),
        epochs=10,
        batch_size=32,
    ),
    "mlp_dropout": Preset(
        title=msg("presets.mlp_dropout.title"),
        description=msg("presets.mlp_dropout.description"),
        spec=NetworkSpec(
            name="MLP 512 dropout",
            layers=(dense(512), layer("Dropout", rate=0.2), dense(10, "softmax")),
            compile=CompileSpec("adam", 0.001, 0.0, "categorical_crossentropy"),
        ),
        epochs=5,
        batch_size=32,
    ),
    "cnn": Preset(
        title=msg("presets.cnn.title"),
        description=msg("presets.cnn.description"),
        spec=NetworkSpec(
            name="CNN 32-64-256",
            layers=(
                conv(32, padding="same"),
                _pool(),
                conv(64, padding="same"),
                _pool(),
                layer("Flatten"),
                dense(256),
                dense(10, "softmax"),
            ),
            compile=CompileSpec("adam", 0.001, 0.0, "categorical_crossentropy"),
        ),
        epochs=5,
        batch_size=128,
    ),
}
DEFAULT_PRESET = "default"


def preset_of(spec: NetworkSpec | None) -> Preset | None:
    """The preset this network is, whatever name the learner gave it (its recipe still fits)."""
    if spec is None:
        return None
    return next((p for p in PRESETS.values() if replace(spec, name=p.spec.name) == p.spec), None)
