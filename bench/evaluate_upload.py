"""Time evaluating an uploaded model (isolated inspection included) against plain Keras.

Both sides start from the same saved .keras bytes and end with test loss and accuracy on the
10k test digits, so both include loading the model: the upload side writes the bytes to a
private temp file, inspects them in the worker process, loads with Keras and runs one predict
pass (batch 1000) that also yields the confusion matrix and per-class table; the plain side
writes the bytes, runs `keras.models.load_model` and `model.evaluate` with the same batch size.
Repetitions alternate so machine noise hits both alike. Run: python -m bench.evaluate_upload
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import keras

from core.data import load_mnist, to_model_input
from core.evaluate import EVAL_BATCH_SIZE, evaluate_model
from core.persist import load_uploaded_model, model_to_bytes

REPEATS = 5
TRAIN_DIGITS = 10_000


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

    upload(), plain()  # warm up TensorFlow and the page cache for both
    times = {"upload": [], "plain": []}
    for _ in range(REPEATS):
        for name, run in (("upload", upload), ("plain", plain)):
            start = time.perf_counter()
            accuracy = run()
            times[name].append(time.perf_counter() - start)
            print(f"{name:6s} {times[name][-1]:.3f} s  accuracy {accuracy:.4f}")
    upload_s, plain_s = statistics.median(times["upload"]), statistics.median(times["plain"])
    print(f"median upload evaluation (isolated inspection included): {upload_s:.3f} s")
    print(f"median plain load_model + evaluate:                       {plain_s:.3f} s")
    print(f"ratio upload / plain: {upload_s / plain_s:.2f}")


if __name__ == "__main__":
    main()
