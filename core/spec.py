"""A typed, validated description of a network and its compile settings."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core.digit_shape import IMAGE_SIZE, NUM_CLASSES
from core.i18n import Message, MessageError, msg

LAYER_KINDS = (
    "Dense",
    "Conv2D",
    "MaxPooling2D",
    "Dropout",
    "Flatten",
    "BatchNormalization",
    "Activation",
)
ACTIVATIONS = ("relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax", "linear")
INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "random_uniform",
    "random_normal",
)
PADDINGS = ("valid", "same")
OPTIMIZERS = ("sgd", "adam", "rmsprop")
LOSSES = ("categorical_crossentropy", "sparse_categorical_crossentropy")

# Which LayerSpec fields each kind uses; the rest are ignored for that kind.
FIELDS_BY_KIND: dict[str, tuple[str, ...]] = {
    "Dense": ("units", "activation", "kernel_initializer"),
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "activation", "kernel_initializer"),
    "MaxPooling2D": ("pool_size", "pool_strides", "padding"),
    "Dropout": ("rate",),
    "Flatten": (),
    "BatchNormalization": (),
    "Activation": ("activation",),
}
IMAGE_FIRST_KINDS = ("Conv2D", "MaxPooling2D", "Flatten")

Shape = tuple[int, ...]


@dataclass(frozen=True)
class LayerSpec:
    """One layer; only the fields in FIELDS_BY_KIND[kind] matter."""

    kind: str
    units: int = 64  # Dense: number of neurons
    activation: str = "relu"  # Dense, Conv2D, Activation
    kernel_initializer: str = "glorot_uniform"  # Dense, Conv2D: how weights start
    filters: int = 32  # Conv2D: number of feature maps
    kernel_size: int = 3  # Conv2D: square kernel side
    strides: int = 1  # Conv2D: step of the kernel
    padding: str = "valid"  # Conv2D, MaxPooling2D: "same" keeps the size (at stride 1)
    pool_size: int = 2  # MaxPooling2D: square window side
    pool_strides: int | None = None  # MaxPooling2D: None means the pool size
    rate: float = 0.2  # Dropout: fraction of inputs dropped while training

    def to_dict(self) -> dict[str, Any]:
        """The kind and the fields it uses."""
        return {"kind": self.kind} | {
            name: getattr(self, name) for name in FIELDS_BY_KIND[self.kind]
        }

    def describe(self) -> str:
        """Short human label, e.g. 'Dense(64, relu)'."""
        match self.kind:
            case "Dense":
                return f"Dense({self.units}, {self.activation})"
            case "Conv2D":
                return (
                    f"Conv2D({self.filters}, {self.kernel_size}×{self.kernel_size}, {self.padding})"
                )
            case "MaxPooling2D":
                return f"MaxPooling2D({self.pool_size}×{self.pool_size})"
            case "Dropout":
                return f"Dropout({self.rate:g})"
            case "Activation":
                return f"Activation({self.activation})"
        return f"{self.kind}()"


@dataclass(frozen=True)
class CompileSpec:
    """What `model.compile` gets."""

    optimizer: str = "adam"  # one of OPTIMIZERS
    learning_rate: float = 0.001  # step size of the optimizer
    momentum: float = 0.0  # SGD only
    loss: str = "categorical_crossentropy"  # one-hot labels; the sparse loss takes integer labels


@dataclass(frozen=True)
class NetworkSpec:
    """A whole network: a name, the layer stack and its compile settings."""

    name: str
    layers: tuple[LayerSpec, ...]
    compile: CompileSpec = field(default_factory=CompileSpec)

    @property
    def input_shape(self) -> Shape:
        """28x28x1 images for a network that starts with Conv2D/pooling/Flatten, else 784 pixels."""
        if self.layers and self.layers[0].kind in IMAGE_FIRST_KINDS:
            return (IMAGE_SIZE, IMAGE_SIZE, 1)
        return (IMAGE_SIZE * IMAGE_SIZE,)

    @property
    def from_logits(self) -> bool:
        """True when the network outputs raw scores (last activation linear), not probabilities."""
        for layer in reversed(self.layers):
            if layer.kind in ("Dense", "Conv2D", "Activation"):
                return layer.activation == "linear"
        return True

    @property
    def slug(self) -> str:
        """File- and Keras-friendly version of the name."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "model"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {
            "name": self.name,
            "layers": [layer.to_dict() for layer in self.layers],
            "compile": asdict(self.compile),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkSpec:
        """Inverse of to_dict."""
        return cls(
            name=data["name"],
            layers=tuple(LayerSpec(**layer) for layer in data["layers"]),
            compile=CompileSpec(**data.get("compile", {})),
        )


@dataclass(frozen=True)
class LayerReport:
    """What one layer turns its input into."""

    index: int  # 1-based position in the stack
    layer: LayerSpec
    output_shape: Shape | None  # None when the layer is impossible
    params: int
    non_trainable: int = 0


@dataclass(frozen=True)
class Analysis:
    """Shapes and parameter counts of every layer, and what is wrong with the stack."""

    input_shape: Shape
    layers: tuple[LayerReport, ...]
    errors: tuple[Message, ...]  # plain-language problems, in the reader's language via the UI

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total_params(self) -> int:
        return sum(report.params for report in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return sum(report.non_trainable for report in self.layers)


class SpecError(MessageError):
    """An impossible network; the message says which layer and how to fix it."""


def format_shape(shape: Shape | None) -> str:
    """(7, 7, 64) -> '7×7×64'."""
    return "—" if shape is None else "×".join(str(n) for n in shape)


def analyze(spec: NetworkSpec) -> Analysis:
    """Walk the stack like Keras would, collecting shapes, parameter counts and plain-language errors."""
    shape: Shape = spec.input_shape
    reports: list[LayerReport] = []
    errors = _compile_errors(spec.compile)
    if not spec.layers:
        errors.append(msg("spec.no_layers"))
        return Analysis(spec.input_shape, (), tuple(errors))
    for index, layer in enumerate(spec.layers, start=1):
        try:
            out, params, non_trainable = _layer_output(layer, shape)
        except SpecError as error:
            errors.append(
                msg(
                    "spec.layer_problem", index=index, layer=layer.describe(), problem=error.message
                )
            )
            reports.append(LayerReport(index, layer, None, 0))
            return Analysis(spec.input_shape, tuple(reports), tuple(errors))
        reports.append(LayerReport(index, layer, out, params, non_trainable))
        shape = out
    if shape != (NUM_CLASSES,):
        errors.append(_wrong_output_message(spec.layers[-1], len(spec.layers), shape))
    return Analysis(spec.input_shape, tuple(reports), tuple(errors))


def validate(spec: NetworkSpec) -> Analysis:
    """analyze(), raising SpecError with every problem when the network cannot be built."""
    analysis = analyze(spec)
    if not analysis.ok:
        raise SpecError(msg("spec.problems", problems=analysis.errors))
    return analysis


def _compile_errors(settings: CompileSpec) -> list[Message]:
    errors = []
    if settings.optimizer not in OPTIMIZERS:
        errors.append(
            msg("spec.unknown_optimizer", name=settings.optimizer, choices=", ".join(OPTIMIZERS))
        )
    if not settings.learning_rate > 0:
        errors.append(msg("spec.learning_rate"))
    if not 0 <= settings.momentum < 1:
        errors.append(msg("spec.momentum"))
    if settings.loss not in LOSSES:
        errors.append(msg("spec.unknown_loss", name=settings.loss, choices=", ".join(LOSSES)))
    return errors


def _wrong_output_message(last: LayerSpec, index: int, shape: Shape) -> Message:
    if len(shape) == 3:
        return msg(
            "spec.ends_with_image", shape=format_shape(shape), index=index, layer=last.describe()
        )
    return msg("spec.wrong_output", index=index, layer=last.describe(), count=shape[0])


def _check_choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise SpecError(
            msg("spec.unknown_choice", what=msg(f"spec.what.{what}"), value=value,
                choices=", ".join(choices))
        )  # fmt: skip


def _layer_output(layer: LayerSpec, shape: Shape) -> tuple[Shape, int, int]:
    """(output shape, parameters, non-trainable parameters) of one layer on an input shape."""
    is_image = len(shape) == 3
    match layer.kind:
        case "Dense":
            if layer.units < 1:
                raise SpecError(msg("spec.dense_units", units=layer.units))
            if is_image:
                raise SpecError(msg("spec.dense_needs_flat", shape=format_shape(shape)))
            _check_choice(layer.activation, ACTIVATIONS, "activation")
            _check_choice(layer.kernel_initializer, INITIALIZERS, "initializer")
            return (layer.units,), shape[0] * layer.units + layer.units, 0
        case "Conv2D":
            if not is_image:
                raise SpecError(msg("spec.conv_needs_image", size=shape[0]))
            if layer.filters < 1 or layer.kernel_size < 1 or layer.strides < 1:
                raise SpecError(msg("spec.conv_at_least_one"))
            _check_choice(layer.padding, PADDINGS, "padding")
            _check_choice(layer.activation, ACTIVATIONS, "activation")
            _check_choice(layer.kernel_initializer, INITIALIZERS, "initializer")
            height, width, channels = shape
            out = _window_output(height, layer.kernel_size, layer.strides, layer.padding, "kernel")
            out_w = _window_output(width, layer.kernel_size, layer.strides, layer.padding, "kernel")
            params = layer.kernel_size**2 * channels * layer.filters + layer.filters
            return (out, out_w, layer.filters), params, 0
        case "MaxPooling2D":
            if not is_image:
                raise SpecError(msg("spec.pool_needs_image", size=shape[0]))
            strides = layer.pool_strides or layer.pool_size
            if layer.pool_size < 1 or strides < 1:
                raise SpecError(msg("spec.pool_at_least_one"))
            _check_choice(layer.padding, PADDINGS, "padding")
            height, width, channels = shape
            out = _window_output(height, layer.pool_size, strides, layer.padding, "pool")
            out_w = _window_output(width, layer.pool_size, strides, layer.padding, "pool")
            return (out, out_w, channels), 0, 0
        case "Dropout":
            if not 0 <= layer.rate < 1:
                raise SpecError(msg("spec.dropout_rate", rate=layer.rate))
            return shape, 0, 0
        case "Flatten":
            return (math.prod(shape),), 0, 0
        case "BatchNormalization":
            channels = shape[-1]
            return shape, 4 * channels, 2 * channels
        case "Activation":
            _check_choice(layer.activation, ACTIVATIONS, "activation")
            return shape, 0, 0
    raise SpecError(msg("spec.unknown_kind", choices=", ".join(LAYER_KINDS)))


def _window_output(size: int, window: int, stride: int, padding: str, what: str) -> int:
    """Side length after a sliding window, as Keras computes it."""
    if padding == "same":
        return math.ceil(size / stride)
    if window > size:
        raise SpecError(
            msg("spec.window_too_big", window=window, what=msg(f"spec.what.{what}"), size=size)
        )
    return (size - window) // stride + 1


def dense(units: int, activation: str = "relu", **kwargs: Any) -> LayerSpec:
    return LayerSpec("Dense", units=units, activation=activation, **kwargs)


def conv(filters: int, activation: str = "relu", **kwargs: Any) -> LayerSpec:
    return LayerSpec("Conv2D", filters=filters, activation=activation, **kwargs)


def layer(kind: str, **kwargs: Any) -> LayerSpec:
    return LayerSpec(kind, **kwargs)


def with_layers(spec: NetworkSpec, layers: list[LayerSpec] | tuple[LayerSpec, ...]) -> NetworkSpec:
    """A copy of spec with another layer stack."""
    return replace(spec, layers=tuple(layers))
