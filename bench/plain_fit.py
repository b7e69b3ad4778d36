"""Plain Keras baseline: `model.fit` of a preset in this process, printing epoch times as JSON.

By default it feeds the same `core.data.batches` pipeline as the app, so that a comparison with the
app measures what watching costs; with --arrays it hands `fit` the NumPy arrays, as the tutorials do.

Run: .venv/bin/python -m bench.plain_fit PRESET DIGITS EPOCHS BATCH [--arrays]
"""

from __future__ import annotations

import json
import sys
import time

import keras

from core.build import build_model
from core.data import batches, labels_for_loss, load_mnist, to_model_input
from core.presets import PRESETS


class EpochTimer(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def main(preset: str, digits: int, epochs: int, batch_size: int, arrays: bool = False) -> None:
    spec = PRESETS[preset].spec
    mnist = load_mnist()
    y = labels_for_loss(mnist.y_train[:digits], spec.compile.loss)
    model = build_model(spec)
    timer = EpochTimer()
    if arrays:
        x = to_model_input(mnist.x_train[:digits], spec.input_shape)
        model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[timer])
    else:
        data = batches(mnist.x_train[:digits], y, spec.input_shape, batch_size, shuffle=True)
        model.fit(data, epochs=epochs, verbose=0, callbacks=[timer])
    print(json.dumps({"epoch_seconds": timer.seconds, "samples": digits}))


if __name__ == "__main__":
    preset, digits, epochs, batch_size = sys.argv[1], *map(int, sys.argv[2:5])
    main(preset, digits, epochs, batch_size, arrays="--arrays" in sys.argv[5:])
