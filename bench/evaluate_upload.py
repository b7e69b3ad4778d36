"""Time evaluating an uploaded model (isolated inspection included) against plain Keras.

Both sides start from the same saved .keras bytes and end with test loss and accuracy on the
10k test digits, so both include loading the model: the upload side writes the bytes to a
private temp file, inspects them in the worker process, loads with Keras and runs one predict
pass (batch 1000) that also yields the confusion matrix and per-class table; the plain side
writes the bytes, runs `keras.models.load_model` and `model.evaluate` with the same batch size.

More uploads, made by real tf.keras 2.15 and Keras 3.0 (tests/fixtures/old_keras): zipped
SavedModel folders (tf.keras's `model.save(dir)`, rebuilt from its Keras metadata, and Keras 3's
`model.export(dir)`, graph-only, evaluated through its checked serving signature), against plain
`tf.saved_model.load` + its serving signature on the same 10k digits; and
a TF checkpoint with its architecture .json, against plain TensorFlow reading the checkpoint
(`tf.train.load_checkpoint`) into the same architecture built in code, then `model.evaluate`.
Repetitions alternate so machine noise hits both alike. Run: python -m bench.evaluate_upload
"""

from __future__ import annotations

import statistics
import tempfile
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from core.data import load_mnist, to_model_input
from core.evaluate import EVAL_BATCH_SIZE, evaluate_model
from core.persist import load_uploaded_model, model_to_bytes

REPEATS = 5
TRAIN_DIGITS = 10_000
OLD = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "old_keras" / "tf2.15.1"


def small_cnn() -> keras.Sequential:
    """A small keras-io style CNN."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 3, activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(32, 3, activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2, name="pool2"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dropout(0.5, name="dropout"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ],
        name="bench_cnn",
    )


def main() -> None:
    """Train briefly, save, then time both ways of evaluating the saved file."""
    mnist = load_mnist()
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x_train = to_model_input(mnist.x_train[:TRAIN_DIGITS], (28, 28, 1))
    model.fit(x_train, mnist.y_train[:TRAIN_DIGITS], epochs=1, batch_size=128, verbose=0)
    data = model_to_bytes(model, "keras")

    def upload() -> float:
        loaded = load_uploaded_model([("bench.keras", data)])
        return evaluate_model(loaded.model, mnist.x_test, mnist.y_test).accuracy

    def plain() -> float:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.keras"
            path.write_bytes(data)
            restored = keras.models.load_model(path)
        x_test = to_model_input(mnist.x_test, (28, 28, 1))
        return restored.evaluate(x_test, mnist.y_test, batch_size=EVAL_BATCH_SIZE, verbose=0)[1]

    compare("keras", upload, plain)
    compare("savedmodel", *savedmodel_pair(mnist))
    compare("savedmodel_graph", *savedmodel_pair(mnist, OLD.parent / "keras3.0.5"))
    compare("checkpoint", *checkpoint_pair(mnist))


def savedmodel_pair(mnist, made: Path = OLD):
    """Upload of a SavedModel zip vs plain tf.saved_model.load + serving."""
    data = (made / "cnn_savedmodel.zip").read_bytes()

    def upload() -> float:
        loaded = load_uploaded_model([("cnn_savedmodel.zip", data)])
        return evaluate_model(loaded.model, mnist.x_test, mnist.y_test).accuracy

    def plain() -> float:
        with tempfile.TemporaryDirectory() as folder:
            zipfile.ZipFile(made / "cnn_savedmodel.zip").extractall(folder)
            serve = tf.saved_model.load(f"{folder}/cnn_savedmodel").signatures["serving_default"]
            x = to_model_input(mnist.x_test, (28, 28, 1))
            batches = [
                list(serve(tf.constant(x[i : i + EVAL_BATCH_SIZE])).values())[0].numpy()
                for i in range(0, len(x), EVAL_BATCH_SIZE)
            ]
        return float((np.concatenate(batches).argmax(1) == mnist.y_test).mean())

    return upload, plain


def tutorial_cnn() -> keras.Sequential:
    """The fixtures' CNN, written in Keras 3 code as a user of plain TensorFlow would."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(8, 3, activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2, name="pool2"),
            keras.layers.MaxPooling2D(2, name="pool3"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ]
    )


def checkpoint_pair(mnist):
    """Upload of .json + cp.ckpt.index + data vs plain tf.train.load_checkpoint into the model."""
    names = ["cnn.json", "cnn_cp.ckpt.index", "cnn_cp.ckpt.data-00000-of-00001"]
    files = [(name, (OLD / name).read_bytes()) for name in names]

    def upload() -> float:
        loaded = load_uploaded_model(files)
        return evaluate_model(loaded.model, mnist.x_test, mnist.y_test).accuracy

    def plain() -> float:
        with tempfile.TemporaryDirectory() as folder:
            for name, data in files[1:]:
                (Path(folder) / name.replace("cnn_", "")).write_bytes(data)
            reader = tf.train.load_checkpoint(f"{folder}/cp.ckpt")
            model = tutorial_cnn()
            weighted = [layer for layer in model.layers if layer.weights]
            for i, layer in enumerate(weighted):
                key = f"layer_with_weights-{i}/{{}}/.ATTRIBUTES/VARIABLE_VALUE"
                layer.set_weights([reader.get_tensor(key.format(n)) for n in ("kernel", "bias")])
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        x_test = to_model_input(mnist.x_test, (28, 28, 1))
        return model.evaluate(x_test, mnist.y_test, batch_size=EVAL_BATCH_SIZE, verbose=0)[1]

    return upload, plain


def compare(label: str, upload, plain) -> None:
    """Time both ways, alternating, after one warm-up each; print medians and the ratio."""
    upload(), plain()  # warm up TensorFlow and the page cache for both
    times = {"upload": [], "plain": []}
    for _ in range(REPEATS):
        for name, run in (("upload", upload), ("plain", plain)):
            start = time.perf_counter()
            accuracy = run()
            times[name].append(time.perf_counter() - start)
            print(f"{label} {name:6s} {times[name][-1]:.3f} s  accuracy {accuracy:.4f}")
    upload_s, plain_s = statistics.median(times["upload"]), statistics.median(times["plain"])
    print(f"{label}: median upload evaluation (isolated inspection included): {upload_s:.3f} s")
    print(f"{label}: median plain TensorFlow / Keras load + evaluate:         {plain_s:.3f} s")
    print(f"{label}: ratio upload / plain: {upload_s / plain_s:.2f}")


if __name__ == "__main__":
    main()
