"""Plain Keras baseline: `model.fit` of a preset in this process, printing epoch times as JSON.

Run: .venv/bin/python -m bench.plain_fit PRESET DIGITS EPOCHS BATCH
"""

from __future__ import annotations

import json
import sys
import time

import keras

from core.build import build_model
from core.data import labels_for_loss, load_mnist, to_model_input
from core.presets import PRESETS


class EpochTimer(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def main(preset: str, digits: int, epochs: int, batch_size: int) -> None:
    spec = PRESETS[preset].spec
    mnist = load_mnist()
    x = to_model_input(mnist.x_train[:digits], spec.input_shape)
    y = labels_for_loss(mnist.y_train[:digits], spec.compile.loss)
    model = build_model(spec)
    timer = EpochTimer()
    model.fit(
        x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=[timer]
    )
    print(json.dumps({"epoch_seconds": timer.seconds, "samples": digits}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
