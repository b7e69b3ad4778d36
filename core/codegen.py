"""Write the plain-Keras Python script that builds and trains a NetworkSpec."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from core.build import BN_MOMENTUM, layer_names
from core.i18n import DEFAULT_LANGUAGE, code_comments
from core.presets import preset_of
from core.runs import SPEC_FILE
from core.spec import FIELDS_BY_KIND, LayerSpec, NetworkSpec, validate
from core.training.config import TrainConfig

_DEFAULTS = LayerSpec("Dense")
_OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}
_LOSS_CLASSES = {
    "categorical_crossentropy": "CategoricalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
}


def layer_code(layer: LayerSpec, name: str) -> str:
    """`layers.Dense(64, activation="relu", name="dense_1")` for one layer."""
    args: list[str] = []
    match layer.kind:
        case "Dense":
            args.append(str(layer.units))
        case "Conv2D":
            args += [str(layer.filters), f"kernel_size={layer.kernel_size}"]
        case "MaxPooling2D":
            args.append(f"pool_size={layer.pool_size}")
        case "Dropout":
            args.append(repr(layer.rate))
        case "Activation":
            args.append(f'"{layer.activation}"')
        case "BatchNormalization":
            args.append(f"momentum={BN_MOMENTUM}")
    skip = {"units", "filters", "kernel_size", "pool_size", "rate"}
    if layer.kind == "Activation":
        skip.add("activation")
    for field_name in FIELDS_BY_KIND[layer.kind]:
        value = getattr(layer, field_name)
        if field_name in skip or (
            value == getattr(_DEFAULTS, field_name) and field_name != "activation"
        ):
            continue
        keyword = "strides" if field_name == "pool_strides" else field_name
        args.append(f"{keyword}={value!r}".replace("'", '"'))
    args.append(f'name="{name}"')
    return f"layers.{layer.kind}({', '.join(args)})"


def optimizer_code(spec: NetworkSpec, lr: str | None = None) -> str:
    """`keras.optimizers.Adam(learning_rate=0.001)`; lr replaces the number (a schedule's name)."""
    settings = spec.compile
    momentum = f", momentum={settings.momentum!r}" if settings.optimizer == "sgd" else ""
    rate = lr or repr(settings.learning_rate)
    return (
        f"keras.optimizers.{_OPTIMIZER_CLASSES[settings.optimizer]}(learning_rate={rate}{momentum})"
    )


def _schedule_code(spec: NetworkSpec, config: TrainConfig) -> tuple[str, str | None]:
    """Lines that make the learning rate change as the app's training does, and the lr to pass."""
    lr = repr(spec.compile.learning_rate)
    if config.lr_schedule == "cosine":
        # The app decays per batch from the compiled rate to 0 over all batches of the training.
        return (
            "#: build.code_cosine\n"
            "STEPS_PER_EPOCH = math.ceil(len(x_train) / BATCH_SIZE)\n"
            "learning_rate = keras.optimizers.schedules.CosineDecay(\n"
            f"    initial_learning_rate={lr}, decay_steps=EPOCHS * STEPS_PER_EPOCH\n"
            ")\n",
            "learning_rate",
        )
    return "", None


def _callback_lines(spec: NetworkSpec, config: TrainConfig) -> list[str]:
    """The Keras callbacks the app's training uses for these settings, as code."""
    lines = []
    if config.lr_schedule == "step":
        lr = spec.compile.learning_rate
        lines.append(
            "keras.callbacks.LearningRateScheduler("
            f"lambda epoch: {lr!r} * {config.step_factor!r} ** (epoch // {config.step_every}))"
        )
    elif config.lr_schedule == "reduce_on_plateau":
        monitor = "loss" if config.validation == "none" else "val_loss"
        lines.append(
            f'keras.callbacks.ReduceLROnPlateau(monitor="{monitor}", '
            f"factor={config.plateau_factor!r}, patience={config.plateau_patience})"
        )
    if config.early_stopping:
        lines.append(
            f'keras.callbacks.EarlyStopping(monitor="{config.early_stopping_monitor}", '
            f"patience={config.early_stopping_patience}, "
            f"restore_best_weights={config.restore_best_weights})"
        )
    if config.checkpoint_best:
        lines.append(
            f'keras.callbacks.ModelCheckpoint("best.weights.h5", '
            f'monitor="{config.checkpoint_monitor}", save_best_only=True, save_weights_only=True)'
        )
    return lines


def _fit_code(config: TrainConfig, callbacks: list[str]) -> str:
    """The `model.fit(...)` call with the app's validation, shuffling and callbacks."""
    args = ["x_train", "y_train", "batch_size=BATCH_SIZE", "epochs=EPOCHS"]
    if config.validation == "split":
        args.append("validation_split=VALIDATION_SPLIT")
    elif config.validation == "test":
        args.append("validation_data=(x_test, y_test)")
    if not config.shuffle:
        args.append("shuffle=False")
    if callbacks:
        args.append("callbacks=[\n" + "".join(f"        {c},\n" for c in callbacks) + "    ]")
    return "model.fit(\n" + "".join(f"    {a},\n" for a in args) + ")"


def script_config(spec: NetworkSpec, run_dir: str | Path | None = None) -> TrainConfig:
    """The settings the script trains with: the run's (if the model comes from one), else the
    preset's recipe, else the defaults."""
    spec_file = Path(run_dir) / SPEC_FILE if run_dir else None
    if spec_file is not None and spec_file.exists():
        stored = json.loads(spec_file.read_text()).get("config", {})
        known = {f.name for f in dataclasses.fields(TrainConfig)}
        return TrainConfig(**{k: v for k, v in stored.items() if k in known})
    preset = preset_of(spec)
    return preset.train_config() if preset else TrainConfig()


def to_python(
    spec: NetworkSpec,
    config: TrainConfig | None = None,
    data_path: str = "data/mnist.npz",
    language: str = DEFAULT_LANGUAGE,
) -> str:
    """A complete script that trains as the app trains with these settings, its comments in a
    language. Runs as is."""
    validate(spec)
    config = config or TrainConfig()
    layer_lines = "\n".join(
        f"        {layer_code(layer, name)},"
        for layer, name in zip(spec.layers, layer_names(spec), strict=True)
    )
    sparse = spec.compile.loss == "sparse_categorical_crossentropy"
    labels = (
        "#: build.code_sparse_labels\n"
        if sparse
        else "#: build.code_one_hot_labels\n"
        "y_train = keras.utils.to_categorical(y_train, NUM_CLASSES)\n"
        "y_test = keras.utils.to_categorical(y_test, NUM_CLASSES)\n"
    )
    subset = "None" if config.subset_size is None else str(config.subset_size)
    seed = "" if config.seed is None else f"keras.utils.set_random_seed({config.seed})\n"
    schedule, lr = _schedule_code(spec, config)
    validation = {
        "split": f"VALIDATION_SPLIT = {config.validation_split!r}  #: build.code_split\n",
        "test": "#: build.code_validate_on_test\n",
        "none": "#: build.code_no_validation\n",
    }[config.validation]
    if config.validation == "split" and config.lr_schedule == "cosine":
        # fit(validation_split=...) trains on the first floor(n * (1 - split)) digits only.
        schedule = schedule.replace(
            "len(x_train)", "math.floor(len(x_train) * (1 - VALIDATION_SPLIT))"
        )
    script = f'''"""{spec.name}: train a Keras network on MNIST (generated by Digit Lab)."""

{"import math" + chr(10) if schedule else ""}from pathlib import Path

import numpy as np
import keras
from keras import layers

NUM_CLASSES = 10
INPUT_SHAPE = {spec.input_shape!r}
EPOCHS = {config.epochs}
BATCH_SIZE = {config.batch_size}
{validation}TRAIN_SUBSET = {subset}  #: build.code_subset
DATA_PATH = Path({data_path!r})
{seed}
#: build.code_data
if DATA_PATH.exists():
    with np.load(DATA_PATH) as data:
        x_train, y_train = data["x_train"], data["y_train"]
        x_test, y_test = data["x_test"], data["y_test"]
else:
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
if TRAIN_SUBSET:
    x_train, y_train = x_train[:TRAIN_SUBSET], y_train[:TRAIN_SUBSET]

#: build.code_scale
x_train = x_train.astype("float32").reshape((-1, *INPUT_SHAPE)) / 255
x_test = x_test.astype("float32").reshape((-1, *INPUT_SHAPE)) / 255
{labels}
model = keras.Sequential(
    [
        keras.Input(shape=INPUT_SHAPE),
{layer_lines}
    ],
    name="{spec.slug.replace("-", "_")}",
)
model.summary()

{schedule}model.compile(
    optimizer={optimizer_code(spec, lr)},
    loss=keras.losses.{_LOSS_CLASSES[spec.compile.loss]}(from_logits={spec.from_logits}),
    metrics=["accuracy"],
)
{_fit_code(config, _callback_lines(spec, config))}

test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"Test loss: {{test_loss:.4f}}  test accuracy: {{test_accuracy:.4f}}")
model.save("{spec.slug}.keras")
'''
    return code_comments(script, language)
