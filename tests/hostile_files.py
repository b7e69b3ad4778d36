"""Hand-made model files: Keras 2 layouts that must load, and a corpus that must be refused.

Reusable by page tests: `hostile_corpus(marker)` returns cases with the files to upload and a
fragment the refusal message must contain. Files are written by hand (json, zipfile, h5py,
marshal) so the refusals are the inspector's, not only Keras's.
"""

from __future__ import annotations

import base64
import io
import json
import marshal
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

KERAS2_VERSION = "2.15.0"


@dataclass
class Case:
    """One bad upload and a fragment its refusal message must contain."""

    name: str
    files: list[tuple[str, bytes]]
    expected: str
    architecture: Any = None  # a keras.Model for weights-only uploads


# ---------------------------------------------------------------- Keras 2 layouts (loadable)


def keras2_config(model: Any, explicit_input_layer: bool = False) -> dict:
    """The model's config as tf.keras 2.x wrote it: no module keys, batch_input_shape."""
    layers = []
    input_shape = [None, *model.input_shape[1:]]
    if explicit_input_layer:
        layers.append(
            {
                "class_name": "InputLayer",
                "config": {
                    "batch_input_shape": input_shape,
                    "dtype": "float32",
                    "sparse": False,
                    "ragged": False,
                    "name": f"{model.layers[0].name}_input",
                },
            }
        )
    for i, layer in enumerate(model.layers):
        config = _keras2_layer_config(layer.get_config())
        if i == 0 and not explicit_input_layer:
            config["batch_input_shape"] = input_shape
        layers.append({"class_name": layer.__class__.__name__, "config": config})
    return {
        "class_name": "Sequential",
        "config": {"name": model.name, "layers": layers},
        "keras_version": KERAS2_VERSION,
        "backend": "tensorflow",
    }


def _keras2_layer_config(config: dict) -> dict:
    config = dict(config)
    config["dtype"] = "float32"
    for key in ("quantization_config", "build_config", "synchronized"):
        config.pop(key, None)
    if "axis" in config and isinstance(config["axis"], int):
        config["axis"] = [3]  # Keras 2 BatchNormalization stored a list of positive axes
    if "momentum" in config:
        config["renorm"] = False  # a Keras 2 setting Keras 3 BatchNormalization also knows
    if "rate" in config:
        config["noise_shape"] = None
    for key, value in list(config.items()):
        if isinstance(value, dict) and "class_name" in value:
            inner = {
                k: v for k, v in value["config"].items() if k not in ("input_axes", "output_axes")
            }
            config[key] = {"class_name": value["class_name"], "config": inner}
    return config


def _write_keras2_weights(group: h5py.Group, model: Any) -> None:
    """Keras 2 save_weights layout: a group per layer, weight_names attrs, 'layer/kernel:0'."""
    group.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = KERAS2_VERSION.encode()
    for layer in model.layers:
        layer_group = group.create_group(layer.name)
        variables = layer.trainable_weights + layer.non_trainable_weights
        names = [f"{layer.name}/{v.name}:0" for v in variables]
        layer_group.attrs["weight_names"] = [n.encode() for n in names]
        for name, variable in zip(names, variables, strict=True):
            layer_group.create_dataset(name, data=np.asarray(variable.numpy()))


def _h5_bytes(write: Any) -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        write(f)
    return buffer.getvalue()


def keras2_weights_h5(model: Any) -> bytes:
    """A Keras 2 `model.save_weights("x.h5")` file for the model."""
    return _h5_bytes(lambda f: _write_keras2_weights(f, model))


def keras2_model_h5(model: Any, explicit_input_layer: bool = False) -> bytes:
    """A Keras 2 `model.save("x.h5")` file: model_config attribute and model_weights group."""

    def write(f: h5py.File) -> None:
        f.attrs["model_config"] = json.dumps(keras2_config(model, explicit_input_layer))
        f.attrs["keras_version"] = KERAS2_VERSION
        f.attrs["backend"] = "tensorflow"
        _write_keras2_weights(f.create_group("model_weights"), model)

    return _h5_bytes(write)


# ---------------------------------------------------------------- hostile corpus


def lambda_code(marker: Path) -> bytes:
    """A real marshalled function that would create the marker file if ever run."""
    source = f"lambda x: (__import__('pathlib').Path({str(marker)!r}).write_text('pwned'), x)[1]"
    function = eval(compile(source, "<payload>", "eval"))  # noqa: S307 - building the payload
    return base64.b64encode(marshal.dumps(function.__code__))


def _dense_layer(name: str, units: int, activation: str = "softmax", **extra: Any) -> dict:
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"name": name, "units": units, "activation": activation, **extra},
        "registered_name": None,
    }


def _sequential(layers: list[dict], input_shape: list) -> dict:
    input_layer = {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, *input_shape], "dtype": "float32", "name": "input"},
        "registered_name": None,
    }
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": [input_layer, *layers]},
        "registered_name": None,
    }


def _weights_h5(shapes: dict[str, list[tuple[int, ...]]]) -> bytes:
    """A Keras 3 .weights.h5 layout with zeros of the given shapes per layer."""

    def write(f: h5py.File) -> None:
        f.create_group("vars")
        for layer, layer_shapes in shapes.items():
            group = f.create_group(f"layers/{layer}/vars")
            for i, shape in enumerate(layer_shapes):
                group.create_dataset(str(i), data=np.zeros(shape, "float32"))

    return _h5_bytes(write)


def keras_zip(config: dict, weights: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    """A .keras archive written by hand."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _mlp_config(*layers: dict) -> dict:
    return _sequential([_dense_layer("out", 10), *layers], [784])


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps(_mlp_config()))
        archive.writestr("metadata.json", "{}")
        with archive.open("model.weights.h5", "w", force_zip64=True) as member:
            block = bytes(1 << 24)
            for _ in range(16):  # 256 MB of zeros, a few hundred kB compressed
                member.write(block)
    return buffer.getvalue()


def _huge_dataset_h5() -> bytes:
    def write(f: h5py.File) -> None:
        f.attrs["model_config"] = json.dumps(_mlp_config())
        group = f.create_group("model_weights")
        # 8 GB declared, a few kB on disk: chunks never written read back as zeros.
        group.create_dataset("huge", shape=(1 << 31,), dtype="float32", chunks=(1 << 20,))

    return _h5_bytes(write)


def _external_link_h5() -> bytes:
    def write(f: h5py.File) -> None:
        f.attrs["layer_names"] = [b"dense"]
        f["dense"] = h5py.ExternalLink("/etc/passwd", "/")

    return _h5_bytes(write)


def _lambda_h5(marker: Path) -> bytes:
    lambda_layer = {
        "class_name": "Lambda",
        "config": {
            "name": "boom",
            "function": [lambda_code(marker).decode(), None, None],
            "function_type": "lambda",
            "module": "__main__",
            "output_shape": None,
            "arguments": {},
        },
    }
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 784]}},
                lambda_layer,
                {"class_name": "Dense", "config": {"name": "out", "units": 10}},
            ],
        },
    }

    def write(f: h5py.File) -> None:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = KERAS2_VERSION
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [b"boom", b"out"]
        group.create_group("boom").attrs["weight_names"] = []
        out = group.create_group("out")
        out.attrs["weight_names"] = [b"out/kernel:0", b"out/bias:0"]
        out.create_dataset("out/kernel:0", data=np.zeros((784, 10), "float32"))
        out.create_dataset("out/bias:0", data=np.zeros((10,), "float32"))

    return _h5_bytes(write)


def _keras_model_bytes(input_shape: tuple[int, ...], outputs: int) -> bytes:
    import keras

    from core.persist import model_to_bytes

    model = keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(outputs, activation="softmax", name="out"),
        ],
        name="other_data",
    )
    return model_to_bytes(model, "keras")


def _small_mlp(hidden: int) -> Any:
    import keras

    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(hidden, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ],
        name=f"mlp{hidden}",
    )


def hostile_corpus(marker: Path) -> list[Case]:
    """Bad and hostile uploads, each with a fragment of the message that must refuse it."""
    from core.inspect import MAX_UPLOAD_MB
    from core.persist import model_to_bytes

    lambda_layer = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "boom",
            "function": {
                "class_name": "__lambda__",
                "config": {"code": lambda_code(marker).decode(), "defaults": None, "closure": None},
            },
            "arguments": {},
        },
        "registered_name": None,
    }
    out_weights = _weights_h5({"dense": [(784, 10), (10,)]})
    good = keras_zip(_mlp_config(), out_weights)
    valid_h5 = keras2_model_h5(_small_mlp(8))
    # A Lambda nested where only a plain activation may be: the serialized function itself.
    python_function = {"module": "builtins", "class_name": "function", "config": "eval"}
    custom = {"module": None, "class_name": "MyDense", "config": {"name": "mine", "units": 10}}
    custom["registered_name"] = "Custom>MyDense"
    return [
        Case("lambda.keras", [("lambda.keras", keras_zip(_mlp_config(lambda_layer), out_weights))],
             "Lambda layer named 'boom'"),
        Case("lambda.h5", [("lambda.h5", _lambda_h5(marker))], "Lambda layer named 'boom'"),
        Case("lambda-json", [("lambda.json", json.dumps(_mlp_config(lambda_layer)).encode()),
                             ("lambda.weights.h5", out_weights)], "Lambda"),
        Case("os-module.keras", [("os.keras", keras_zip(_mlp_config(
            {"module": "os", "class_name": "system", "config": {"command": "touch x"}}),
            out_weights))], "module 'os'"),
        Case("builtins-activation.json", [("builtins.json", json.dumps(_mlp_config(
            _dense_layer("act", 10, activation=python_function))).encode()),
            ("builtins.weights.h5", out_weights)], "module 'builtins'"),
        Case("subprocess-initializer.keras", [("init.keras", keras_zip(_mlp_config(_dense_layer(
            "d", 10, kernel_initializer={"module": "subprocess", "class_name": "Popen",
                                         "config": {"args": ["id"]}})), out_weights))],
             "module 'subprocess'"),
        Case("activation-name.keras", [("act.keras", keras_zip(_mlp_config(
            _dense_layer("d", 10, activation="eval")), out_weights))], "activation 'eval'"),
        Case("numpy-object.keras", [("np.keras", keras_zip(_mlp_config(_dense_layer(
            "d", 10, bias_initializer={"class_name": "__numpy__", "config": {"value": [1]}})),
            out_weights))], "__numpy__"),
        Case("custom-object.keras", [("custom.keras", keras_zip(_mlp_config(custom), out_weights))],
             "Custom>MyDense"),
        Case("unknown-layer.keras", [("lstm.keras", keras_zip(_mlp_config(
            {"module": "keras.layers", "class_name": "LSTM", "config": {"name": "rnn"}}),
            out_weights))], "'LSTM'"),
        Case("extra-member.keras", [("extra.keras", keras_zip(
            _mlp_config(), out_weights, {"evil.py": b"import os"}))], "'evil.py'"),
        Case("traversal.keras", [("traversal.keras", keras_zip(
            _mlp_config(), out_weights, {"../evil.py": b"import os"}))], "'../evil.py'"),
        Case("truncated.keras", [("truncated.keras", good[: len(good) // 2])], "damaged"),
        Case("truncated.h5", [("truncated.h5", valid_h5[: len(valid_h5) // 2])], "truncated"),
        Case("random.h5", [("random.h5", np.random.default_rng(0).bytes(4096))],
             "not a Keras model"),
        Case("empty.h5", [("empty.h5", b"")], "empty"),
        Case("oversized.keras", [("big.keras", bytes(MAX_UPLOAD_MB * 1024 * 1024 + 1))],
             f"more than the {MAX_UPLOAD_MB} MB"),
        Case("32x32x3.keras", [("cifar.keras", _keras_model_bytes((32, 32, 3), 10))],
             "(32, 32, 3)"),
        Case("100-classes.keras", [("cifar100.keras", _keras_model_bytes((28, 28), 100))],
             "(100,)"),
        Case("wrong-weights.weights.h5",
             [("other.weights.h5", model_to_bytes(_small_mlp(16), "weights"))],
             "do not fit", architecture=_small_mlp(8)),
        Case("wrong-keras2-weights.h5", [("other.h5", keras2_weights_h5(_small_mlp(16)))],
             "do not fit", architecture=_small_mlp(8)),
        Case("not-a-model.json", [("notes.json", b'{"hello": "world"}')],
             "not a Keras model architecture"),
        Case("huge-dataset.h5", [("huge.h5", _huge_dataset_h5())], "8,192 MB"),
        Case("zip-bomb.keras", [("bomb.keras", _zip_bomb())], "zip bomb"),
        Case("external-link.h5", [("link.h5", _external_link_h5())], "link"),
        Case("text.h5", [("notes.h5", b"print('hello')\n")], "not a Keras model"),
    ]  # fmt: skip


# ---------------------------------------------------------------- checkpoints and SavedModels

OLD_KERAS = Path(__file__).resolve().parent / "fixtures" / "old_keras" / "tf2.15.1"


def checkpoint_corpus() -> list[Case]:
    """Damaged and mismatched TF checkpoints (from a real tf.keras 2.15 one), each with its message."""
    index = (OLD_KERAS / "mlp_cp.ckpt.index").read_bytes()
    data = (OLD_KERAS / "mlp_cp.ckpt.data-00000-of-00001").read_bytes()
    arch = ("mlp.json", (OLD_KERAS / "mlp.json").read_bytes())
    cnn_arch = ("cnn.json", (OLD_KERAS / "cnn.json").read_bytes())
    data_name = "cp.ckpt.data-00000-of-00001"
    random_index = np.random.default_rng(1).bytes(700)
    return [
        Case("truncated-index", [arch, ("cp.ckpt.index", index[: len(index) // 2]),
                                 (data_name, data)], "not a Keras model"),
        Case("random-index", [arch, ("cp.ckpt.index", random_index), (data_name, data)],
             "not a Keras model"),
        Case("damaged-index", [arch, ("cp.ckpt.index", index[:100] + bytes(300) + index[400:]),
                               (data_name, data)], "damaged"),
        Case("truncated-data", [arch, ("cp.ckpt.index", index), (data_name, data[:1000])],
             "outside its data file"),
        Case("random-data", [arch, ("cp.ckpt.index", index),
                             (data_name, np.random.default_rng(2).bytes(100))],
             "outside its data file"),
        Case("data-only", [arch, (data_name, data)], "upload its .index"),
        Case("index-only", [arch, ("cp.ckpt.index", index)], "data file"),
        Case("no-architecture", [("cp.ckpt.index", index), (data_name, data)], "architecture .json"),
        Case("other-architecture", [cnn_arch, ("cp.ckpt.index", index), (data_name, data)],
             "layer 'conv1'"),
    ]  # fmt: skip


def zip_folder(folder: Path, top: str = "my_model", extra: dict[str, bytes] | None = None) -> bytes:
    """A folder zipped as a user would: every file under one top-level folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _harmless_serving_with_a_payload(tf: Any, spec: Any, target: str) -> list[tuple]:
    """SavedModels whose own serving function is pure maths, the harm lying one step away."""

    @tf.function
    def hidden_write(x):  # reached only through the `f` attr of a call op
        tf.io.write_file(target, "pwned")
        return x

    class CallsAWriter(tf.Module):
        @tf.function(input_signature=[spec])
        def serve(self, x):
            return tf.nn.softmax(hidden_write(x)[:, :10])

    asset_file = Path(target).parent.parent / "vocabulary.txt"
    asset_file.write_text("0\n1\n")

    class CarriesAnAsset(tf.Module):
        def __init__(self):
            super().__init__()
            self.vocabulary = tf.saved_model.Asset(str(asset_file))

        @tf.function(input_signature=[spec])
        def serve(self, x):
            return tf.nn.softmax(x[:, :10])

    class CarriesATable(tf.Module):  # its initializer runs when tf.saved_model.load loads it
        def __init__(self):
            super().__init__()
            init = tf.lookup.KeyValueTensorInitializer(tf.constant([1, 2]), tf.constant([3, 4]))
            self.table = tf.lookup.StaticHashTable(init, default_value=0)

        @tf.function(input_signature=[spec])
        def serve(self, x):
            return tf.nn.softmax(x[:, :10])

    class SplatConstant(tf.Module):  # 256 MB declared in a few bytes of saved_model.pb
        @tf.function(input_signature=[spec])
        def serve(self, x):
            return tf.nn.softmax(x[:, :10] + tf.constant(0.0, shape=[64 << 20])[:10])

    @tf.function(experimental_attributes={"api_implements": "digitlab_swap"})
    def swappable(x):  # Grappler could replace it by any function claiming the same API
        return x

    class CallsASwappable(tf.Module):
        @tf.function(input_signature=[spec])
        def serve(self, x):
            return tf.nn.softmax(swappable(x)[:, :10])

    return [
        ("swappable-function", CallsASwappable(), "api_implements"),
        ("writes-in-called-function", CallsAWriter(), "'WriteFile'"),
        ("carries-asset", CarriesAnAsset(), "carries assets"),
        ("carries-hash-table", CarriesATable(), "run code of its own when loaded"),
        ("splat-constant", SplatConstant(), "constant of 256 MB"),
    ]


def hostile_savedmodels(folder: Path, marker: Path, huge: bool = True) -> list[Case]:
    """SavedModels whose serving function would touch files or the console, or hold a huge constant.

    Each really does what it says when loaded with tf.saved_model.load and called (see
    test_upload_safety), so Digit Lab must never run any of them.
    """
    import tensorflow as tf

    spec = tf.TensorSpec([None, 784], tf.float32)
    target = str(marker)
    actions = {
        "writes-file": lambda x: tf.io.write_file(target, "pwned"),
        "reads-file": lambda x: tf.io.read_file("/etc/hostname"),
        "lists-directory": lambda x: tf.io.matching_files(str(marker.parent / "*")),
        "saves-checkpoint": lambda x: tf.raw_ops.SaveV2(
            prefix=target, tensor_names=["x"], shape_and_slices=[""], tensors=[x]
        ),
        "prints": lambda x: tf.print("pwned", output_stream=f"file://{target}"),
    }

    def payload(action: Any) -> Any:
        class Payload(tf.Module):
            @tf.function(input_signature=[spec])
            def serve(self, x):
                effect = action(x)
                with tf.control_dependencies([effect] if effect is not None else []):
                    return tf.nn.softmax(tf.zeros([tf.shape(x)[0], 10]))

        return Payload()

    ops = {
        "writes-file": "'WriteFile'",
        "reads-file": "'ReadFile'",
        "lists-directory": "'MatchingFiles'",
        "saves-checkpoint": "'SaveV2'",
        "prints": "not plain tensor maths",  # PrintV2 or the StringFormat feeding it
    }
    cases = []
    for name, action in actions.items():
        module = payload(action)
        path = folder / name
        tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
        cases.append(Case(name, [(f"{name}.zip", zip_folder(path))], ops[name]))
    for name, module, expected in _harmless_serving_with_a_payload(tf, spec, target):
        tf.saved_model.save(
            module, str(folder / name), signatures={"serving_default": module.serve}
        )
        cases.append(Case(name, [(f"{name}.zip", zip_folder(folder / name))], expected))

    escaping = zip_folder(folder / "writes-file", extra={"../escape.txt": b"x"})
    cases.append(Case("escaping-member", [("escape.zip", escaping)], "'../escape.txt'"))
    if not huge:
        return cases

    class Huge(tf.Module):
        def __init__(self):
            super().__init__()
            self.table = tf.Variable(tf.zeros([64 << 20]))  # 256 MB of float32 zeros

        @tf.function(input_signature=[spec])
        def serve(self, x):
            return tf.nn.softmax(x[:, :10] + self.table[:10])

    huge = Huge()
    tf.saved_model.save(huge, str(folder / "huge"), signatures={"serving_default": huge.serve})
    cases.append(Case("huge-variable", [("huge.zip", zip_folder(folder / "huge"))], "zip bomb"))
    return cases
