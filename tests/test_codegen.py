"""The generated plain-Keras script trains as the app trains: same schedule, data and callbacks."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import pytest

from core.build import build_model
from core.codegen import script_config, to_python
from core.engine.scheduler import TrainingScheduler
from core.presets import PRESETS
from core.runs import RunStore
from core.training import TrainingJob
from tests.conftest import ROOT


class LearningRates(keras.callbacks.Callback):
    """The learning rate each batch of the app's training ran at."""

    def __init__(self) -> None:
        super().__init__()
        self.rates: list[float] = []

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.rates.append(float(self.model.optimizer.learning_rate))


@pytest.mark.parametrize("validation", ["test", "split"])
def test_the_script_decays_the_learning_rate_as_the_app_trains_the_preset(
    validation, mnist, tmp_path
):
    preset = PRESETS["default"]
    config = preset.train_config(epochs=2, subset_size=1040, validation=validation)
    recorder = LearningRates()
    job = TrainingJob(
        build_model(preset.spec),
        config,
        mnist,
        RunStore(tmp_path / "runs").new_run_dir("alice"),
        callbacks=[recorder],
    )
    TrainingScheduler(1).submit(job)
    assert job.wait(120), "the app's training did not end in time"
    assert job.status == "finished", job.snapshot().message
    # 1,040 digits (936 after a 10% split) in batches of 128, two epochs.
    assert len(recorder.rates) == 2 * (9 if validation == "test" else 8)

    script = to_python(preset.spec, config, data_path=str(ROOT / "data" / "mnist.npz"))
    (tmp_path / "train.py").write_text(script)
    result = subprocess.run(
        [sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    saved = keras.models.load_model(tmp_path / f"{preset.spec.slug}.keras")
    schedule = keras.optimizers.schedules.deserialize(saved.optimizer.get_config()["learning_rate"])
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    script_rates = [float(schedule(step)) for step in range(len(recorder.rates))]
    assert script_rates == pytest.approx(recorder.rates, rel=1e-5, abs=1e-9)
    assert int(saved.optimizer.iterations) == len(recorder.rates)


def test_the_script_uses_the_app_s_validation_and_callbacks():
    preset = PRESETS["cnn"]
    script = to_python(preset.spec, preset.train_config(validation="test"))
    assert "validation_data=(x_test, y_test)" in script and "validation_split=" not in script
    assert "CosineDecay" not in script and "import math" not in script
    script = to_python(
        preset.spec,
        preset.train_config(
            lr_schedule="reduce_on_plateau", early_stopping=True, checkpoint_best=True, seed=7
        ),
    )
    assert "validation_split=VALIDATION_SPLIT" in script
    assert 'ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)' in script
    assert 'EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)' in script
    assert 'ModelCheckpoint("best.weights.h5", monitor="val_accuracy"' in script
    assert "keras.utils.set_random_seed(7)" in script
    compile(script, "train.py", "exec")


def test_the_script_takes_the_run_s_settings_else_the_preset_s(tmp_path):
    preset = PRESETS["default"]
    assert script_config(preset.spec) == preset.train_config()
    assert "CosineDecay(" in to_python(preset.spec, script_config(preset.spec))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    stored = preset.train_config(epochs=7, lr_schedule="step").to_dict() | {"later_field": 1}
    (run_dir / "spec.json").write_text(json.dumps({"config": stored}))
    config = script_config(preset.spec, run_dir)
    assert (config.epochs, config.lr_schedule) == (7, "step")
