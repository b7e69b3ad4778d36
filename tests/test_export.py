"""Exports for other runtimes load back there and predict what Keras predicts on 1,000 digits."""

from __future__ import annotations

import io
import zipfile

import keras
import numpy as np
import pytest

from core import export
from core.data import to_model_input
from core.export import (
    CHECKPOINT_PREFIX,
    EXPORT_FORMATS,
    ExportFailed,
    export_filename,
    export_to_bytes,
    runtime_instructions,
)
from core.graph_model import is_graph_model
from core.loading import load_uploaded_model

N_TRAIN = 2000
N_CHECK = 1000
TOLERANCE = 1e-4  # largest difference in any class probability a runtime may show


def _cnn() -> keras.Sequential:
    """Every kind of layer Digit Lab builds: convolution, pooling, batch norm, dropout, dense."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu", name="conv2d_1"),
            keras.layers.MaxPooling2D(2, name="max_pooling2d_1"),
            keras.layers.BatchNormalization(name="batch_normalization_1"),
            keras.layers.Flatten(name="flatten_1"),
            keras.layers.Dropout(0.25, name="dropout_1"),
            keras.layers.Dense(10, activation="softmax", name="dense_1"),
        ],
        name="cnn",
    )


def _tutorial_mlp() -> keras.Sequential:
    """Tutorial 003's network (784-512-10, logits out), smaller: flat input, no softmax."""
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(64, activation="relu", name="dense"),
            keras.layers.Dropout(0.2, name="dropout"),
            keras.layers.Dense(10, name="dense_1"),
        ],
        name="mlp",
    )


MODELS = {"cnn": _cnn, "mlp": _tutorial_mlp}


@pytest.fixture(scope="module")
def trained(mnist):
    """Each network trained for one epoch, with its test inputs and Keras's own outputs."""
    keras.utils.set_random_seed(0)
    models = {}
    for name, make in MODELS.items():
        model = make()
        shape = model.input_shape[1:]
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=name == "mlp")
        model.compile(optimizer="adam", loss=loss)
        model.fit(
            to_model_input(mnist.x_train[:N_TRAIN], shape), mnist.y_train[:N_TRAIN], verbose=0
        )
        x = to_model_input(mnist.x_test[:N_CHECK], shape).astype("float32")
        models[name] = (model, x, model.predict(x, batch_size=250, verbose=0))
    return models


def _unpack(data: bytes, file_name: str, folder) -> None:
    if file_name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(folder)
    else:
        (folder / file_name).write_bytes(data)


@pytest.mark.parametrize("model_name", sorted(MODELS))
@pytest.mark.parametrize("fmt", sorted(EXPORT_FORMATS))
def test_export_loads_in_its_runtime_with_the_shown_lines(
    trained, fmt, model_name, tmp_path, monkeypatch
):
    model, x, expected = trained[model_name]
    file_name = export_filename(f"{model_name} test", fmt, 0.95)
    _unpack(
        export_to_bytes(model, fmt, file_name.removesuffix(EXPORT_FORMATS[fmt])),
        file_name,
        tmp_path,
    )
    monkeypatch.chdir(tmp_path)
    namespace = {"x": x}
    # The very lines the Save page shows under the button, run as a learner would paste them.
    exec(runtime_instructions(fmt, file_name), namespace)  # noqa: S102
    got = np.asarray(namespace["probabilities"])
    assert got.shape == expected.shape
    difference = float(np.abs(got - expected).max())
    print(f"{fmt} {model_name}: largest difference {difference:.2e} on {N_CHECK} digits")
    assert difference <= TOLERANCE
    assert np.array_equal(got.argmax(axis=1), expected.argmax(axis=1))


def test_checkpoint_has_the_tutorial_layout(trained, tmp_path):
    import tensorflow as tf

    model, _, _ = trained["cnn"]
    data = export_to_bytes(model, "checkpoint", "mnist-cnn")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path)
    assert names == {
        "mnist-cnn/checkpoint",
        "mnist-cnn/mnist-cnn.json",
        f"mnist-cnn/{CHECKPOINT_PREFIX}.index",
        f"mnist-cnn/{CHECKPOINT_PREFIX}.data-00000-of-00001",
    }
    keys = {name for name, _ in tf.train.list_variables(str(tmp_path / "mnist-cnn" / "cp.ckpt"))}
    variables = ["kernel", "bias"], ["gamma", "beta", "moving_mean", "moving_variance"]
    expected = {
        f"layer_with_weights-{index}/{name}/.ATTRIBUTES/VARIABLE_VALUE"
        for index, names_ in enumerate([variables[0], variables[1], variables[0]])
        for name in names_
    }
    assert keys == expected | {"_CHECKPOINTABLE_OBJECT_GRAPH"}
    assert tf.train.latest_checkpoint(str(tmp_path / "mnist-cnn")).endswith(CHECKPOINT_PREFIX)
    rebuilt = keras.models.model_from_json((tmp_path / "mnist-cnn/mnist-cnn.json").read_text())
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]


def test_savedmodel_zip_holds_one_folder_of_the_export(trained):
    model, _, _ = trained["mlp"]
    with zipfile.ZipFile(io.BytesIO(export_to_bytes(model, "savedmodel", "my_model"))) as archive:
        names = archive.namelist()
    assert "my_model/saved_model.pb" in names
    assert any(name.startswith("my_model/variables/variables.data") for name in names)
    assert all(name.startswith("my_model/") for name in names)


def test_a_failed_export_is_one_plain_sentence(trained, monkeypatch):
    def broken(*_):
        raise RuntimeError("tf2onnx: Tensor shape mismatch in node StatefulPartitionedCall/...")

    monkeypatch.setitem(export._EXPORTERS, "onnx", broken)
    with pytest.raises(ExportFailed) as caught:
        export_to_bytes(trained["mlp"][0], "onnx")
    english = str(caught.value)
    assert "ONNX" in english and "tf2onnx" not in english and "Tensor" not in english
    assert "ONNX" in caught.value.message.render("ko")


def test_a_missing_package_is_named(trained, monkeypatch):
    monkeypatch.setitem(export.EXPORT_PACKAGES, "onnx", ("no_such_package_for_digitlab",))
    with pytest.raises(ExportFailed, match="no_such_package_for_digitlab"):
        export_to_bytes(trained["mlp"][0], "onnx")


def test_file_names_follow_the_other_downloads():
    assert export_filename("Digit Lab CNN", "onnx", 0.9912) == "mnist-digit-lab-cnn-acc0.991.onnx"
    assert export_filename("x", "savedmodel", None) == "mnist-x-savedmodel.zip"
    assert export_filename("mnist cnn", "checkpoint", None) == "mnist-cnn-checkpoint.zip"
    with pytest.raises(ValueError, match="Unknown format"):
        export_to_bytes(_tutorial_mlp(), "pickle")


@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_the_savedmodel_download_uploads_back_to_the_same_predictions(trained, model_name):
    # The zip has no Keras metadata: it is evaluated through its checked serving signature.
    model, x, keras_outputs = trained[model_name]
    data = export_to_bytes(model, "savedmodel", "my_model")
    loaded = load_uploaded_model([("mnist-savedmodel.zip", data)])
    assert loaded.kind == "savedmodel_graph" and is_graph_model(loaded.model)
    assert loaded.input_shape == model.input_shape[1:]
    assert loaded.outputs_logits == (model_name == "mlp")
    assert loaded.model.count_params() == model.count_params()
    back = np.asarray(loaded.model.predict_on_batch(x))
    assert (back.argmax(axis=1) == keras_outputs.argmax(axis=1)).all()
    assert np.abs(back - keras_outputs).max() < TOLERANCE
