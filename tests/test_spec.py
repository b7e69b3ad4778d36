from dataclasses import replace

import pytest

from core.presets import PRESETS
from core.spec import CompileSpec, NetworkSpec, SpecError, analyze, conv, dense, layer, validate
from tests.i18n_checks import is_english


def net(*layers, **compile_settings) -> NetworkSpec:
    return NetworkSpec("test", tuple(layers), CompileSpec(**compile_settings))


@pytest.mark.parametrize(
    ("preset", "params"), [("mlp_sgd", 50_890), ("mlp_dropout", 407_050), ("cnn", 824_458)]
)
def test_tutorial_parameter_counts(preset, params):
    assert analyze(PRESETS[preset].spec).total_params == params


def test_input_shape_follows_first_layer():
    assert net(dense(10, "softmax")).input_shape == (784,)
    assert net(conv(8), layer("Flatten"), dense(10)).input_shape == (28, 28, 1)
    assert net(layer("Flatten"), dense(10)).input_shape == (28, 28, 1)


def test_shapes_of_every_layer():
    analysis = analyze(PRESETS["cnn"].spec)
    shapes = [report.output_shape for report in analysis.layers]
    assert shapes == [(28, 28, 32), (14, 14, 32), (14, 14, 64), (7, 7, 64), (3136,), (256,), (10,)]


def test_valid_padding_and_strides():
    analysis = analyze(net(conv(4, kernel_size=5, strides=2), layer("Flatten"), dense(10)))
    assert analysis.layers[0].output_shape == (12, 12, 4)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            (layer("Flatten"), conv(8), layer("Flatten"), dense(10)),
            "Layer 2 (Conv2D(8, 3×3, valid)): Conv2D needs an image",
        ),
        ((dense(64), conv(8), dense(10)), "Layer 2 (Conv2D(8, 3×3, valid)): Conv2D needs an image"),
        (
            (dense(64), layer("MaxPooling2D"), dense(10)),
            "Layer 2 (MaxPooling2D(2×2)): pooling needs an image",
        ),
        (
            (conv(8), *[layer("MaxPooling2D")] * 5, layer("Flatten"), dense(10)),
            "Layer 6 (MaxPooling2D(2×2)): its 2×2 pool does not fit in the 1×1 input",
        ),
        ((dense(0), dense(10)), "Layer 1 (Dense(0, relu)): a Dense layer needs at least 1 unit"),
        (
            (dense(64), layer("Dropout", rate=1.0), dense(10)),
            "Layer 2 (Dropout(1)): the dropout rate must be",
        ),
        (
            (dense(64), layer("Dropout", rate=-0.1), dense(10)),
            "the dropout rate must be at least 0",
        ),
        ((dense(64), dense(12)), "outputs 12 values, but MNIST has 10 classes"),
        ((conv(8),), "ends with an image of 26×26×8"),
        ((conv(8), dense(10)), "Layer 2 (Dense(10, relu)): Dense needs a flat vector"),
        ((), "no layers"),
    ],
)
def test_impossible_stacks_get_plain_messages(layers, message):
    analysis = analyze(net(*layers))
    assert not analysis.ok
    assert any(message in str(error) for error in analysis.errors), analysis.errors
    with pytest.raises(SpecError):
        validate(net(*layers))
    for error in analysis.errors:  # the same message reads fully in Korean
        korean = error.render("ko")
        assert korean != str(error) and not is_english(korean), korean


@pytest.mark.parametrize(
    "settings",
    [
        {"optimizer": "adagrad"},
        {"loss": "mse"},
        {"learning_rate": 0.0, "momentum": 1.5},
    ],
)
def test_compile_and_choice_errors_read_in_korean(settings):
    stack = (dense(64, "swish"), layer("Dense", units=10, kernel_initializer="ones"))
    for spec in (net(dense(10), **settings), net(*stack), net(conv(8, padding="full"))):
        errors = analyze(spec).errors
        assert errors
        with pytest.raises(SpecError) as raised:
            validate(spec)
        korean = raised.value.message.render("ko")
        assert korean.count("\n") == len(errors) - 1 and not is_english(korean), korean


def test_compile_settings_are_checked():
    errors = analyze(net(dense(10), learning_rate=0.0, momentum=1.5)).errors
    assert any("learning rate" in str(e) for e in errors) and any(
        "Momentum" in str(e) for e in errors
    )


def test_logits_when_last_activation_is_linear():
    assert net(dense(64), dense(10, "linear")).from_logits
    assert not net(dense(64), dense(10, "softmax")).from_logits
    assert not net(
        dense(64), dense(10, "linear"), layer("Activation", activation="softmax")
    ).from_logits


def test_dict_round_trip():
    spec = PRESETS["default"].spec
    assert NetworkSpec.from_dict(spec.to_dict()) == spec
    custom = replace(spec, layers=(layer("MaxPooling2D", pool_strides=1), *spec.layers))
    assert NetworkSpec.from_dict(custom.to_dict()) == custom
