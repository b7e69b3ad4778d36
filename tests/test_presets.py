"""The recommended preset's recipe, and the keras.io reference that bench/time_to_99 races it against."""

import math

import pytest

from bench.time_to_99 import REFERENCE, REFERENCE_BATCH
from core.build import build_model
from core.presets import PRESETS
from core.training import TrainingJob
from tests.test_training import run_to_end


def test_the_reference_is_the_keras_io_simple_mnist_convnet():
    model = build_model(REFERENCE)
    # keras.io/examples/vision/mnist_convnet: "Total params: 34,826", batch_size = 128, Adam().
    assert model.count_params() == 34_826
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dropout",
        "Dense",
    ]
    assert model.layers[5].rate == 0.5 and REFERENCE_BATCH == 128
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(0.001)


def test_recommended_preset_normalises_once_just_before_the_classifier():
    kinds = [layer.kind for layer in PRESETS["default"].spec.layers]
    assert kinds.count("BatchNormalization") == 1
    assert kinds.index("BatchNormalization") == kinds.index("Flatten") - 1


def test_recommended_recipe_learns_in_its_own_epochs_and_anneals_to_zero(store, mnist):
    preset = PRESETS["default"]
    config = preset.train_config(subset_size=2_000, validation="none", seed=3)
    job = run_to_end(
        TrainingJob(build_model(preset.spec), config, mnist, store.new_run_dir("a"), {}, "d", "a")
    )
    snapshot = job.snapshot()
    assert job.status == "finished" and len(snapshot.history["loss"]) == preset.epochs == 2
    batches = preset.epochs * job.batches_per_epoch  # 2 x 16: the last ran at lr * ~0.002
    last_lr = preset.spec.compile.learning_rate * (1 + math.cos(math.pi * (batches - 1) / batches))
    assert snapshot.learning_rate == pytest.approx(last_lr / 2)
    assert snapshot.summary.test_accuracy > 0.9, snapshot.summary.test_accuracy
