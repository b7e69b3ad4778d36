import json
import subprocess
import sys
from dataclasses import replace

import keras
import numpy as np
import pytest

from core.build import build_model
from core.codegen import to_python
from core.presets import PRESETS, preset_of
from core.spec import CompileSpec, NetworkSpec, SpecError, analyze, conv, dense, layer
from core.summary import graph_dot, summarize
from core.training import TrainConfig
from tests.conftest import ROOT

CUSTOM = NetworkSpec(
    "custom all kinds",
    (
        conv(6, kernel_size=5, strides=1, padding="valid", kernel_initializer="he_normal"),
        layer("BatchNormalization"),
        layer("Activation", activation="leaky_relu"),
        layer("MaxPooling2D", pool_size=3, pool_strides=2, padding="same"),
        layer("Flatten"),
        dense(32, "elu", kernel_initializer="random_uniform"),
        layer("Dropout", rate=0.3),
        dense(10, "linear"),
    ),
    CompileSpec("sgd", 0.05, 0.9, "sparse_categorical_crossentropy"),
)


@pytest.mark.parametrize("key", list(PRESETS))
def test_presets_build_with_the_counted_parameters(key):
    spec = PRESETS[key].spec
    model = build_model(spec)
    assert model.count_params() == analyze(spec).total_params
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == [
        report.output_shape for report in analyze(spec).layers
    ]


def test_custom_network_builds_as_specified():
    model = build_model(CUSTOM)
    assert model.input_shape == (None, 28, 28, 1)
    assert model.count_params() == analyze(CUSTOM).total_params
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.momentum) == pytest.approx(0.9)
    assert model.loss.get_config()["from_logits"] is True
    assert model.get_layer("max_pooling2d_1").get_config()["strides"] == (2, 2)


def test_impossible_network_is_not_built():
    with pytest.raises(SpecError, match="Dense needs a flat vector"):
        build_model(NetworkSpec("bad", (conv(8), dense(10))))


def test_summary_formulas_match_keras():
    model = build_model(PRESETS["mlp_sgd"].spec)
    summary = summarize(model)
    assert summary.total == 50_890 and summary.non_trainable == 0
    assert str(summary.rows[0].formula) == "784 inputs × 64 units + 64 biases = 50,240"
    assert summary.rows[0].formula.render("ko") == "입력 784개 × 유닛 64개 + 편향 64개 = 50,240"
    conv_row = summarize(build_model(PRESETS["cnn"].spec)).rows[2]
    assert str(conv_row.formula) == "3 × 3 kernel × 32 channels × 64 filters + 64 biases = 18,496"
    bn = summarize(build_model(PRESETS["default"].spec))
    assert bn.non_trainable == sum(r.params for r in bn.rows if r.kind == "BatchNormalization") // 2
    assert bn.total == build_model(PRESETS["default"].spec).count_params()


def test_graph_names_every_layer_with_its_shape():
    model = build_model(PRESETS["cnn"].spec)
    dot = graph_dot(model)
    assert dot.startswith("digraph") and dot.count("->") == len(model.layers)
    assert "conv2d_2: Conv2D|output (None, 14, 14, 64)" in dot
    assert "conv2d_2: Conv2D|출력 (None, 14, 14, 64)|파라미터 18,496개" in graph_dot(model, "ko")


@pytest.mark.parametrize("spec", [PRESETS["cnn"].spec, CUSTOM], ids=["cnn", "custom"])
def test_generated_script_runs_and_builds_the_same_model(spec, tmp_path):
    config = TrainConfig(epochs=1, batch_size=64, subset_size=256)
    script = to_python(spec, config, data_path=str(ROOT / "data" / "mnist.npz"))
    (tmp_path / "train.py").write_text(script)
    result = subprocess.run(
        [sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Test loss" in result.stdout
    saved = keras.models.load_model(tmp_path / f"{spec.slug}.keras")
    ours = build_model(spec)
    assert saved.count_params() == ours.count_params()
    strip = lambda m: [  # noqa: E731
        {k: v for k, v in layer.get_config().items() if k not in ("seed", "dtype")}
        for layer in m.layers
    ]
    assert json.dumps(strip(saved), sort_keys=True, default=str) == json.dumps(
        strip(ours), sort_keys=True, default=str
    )
    assert saved.optimizer.get_config()["learning_rate"] == pytest.approx(
        spec.compile.learning_rate
    )
    assert np.isfinite(saved.predict(np.zeros((1, *spec.input_shape)), verbose=0)).all()


def test_a_preset_is_recognised_under_any_name_but_not_once_changed():
    spec = PRESETS["default"].spec
    assert preset_of(replace(spec, name="Mina's CNN")) is PRESETS["default"]
    changed = replace(spec, layers=spec.layers[:-2] + spec.layers[-1:])  # no Dropout
    assert preset_of(changed) is None
    assert preset_of(None) is None
