"""A graph-only SavedModel that passed the inspector, as a one-layer Keras model.

Only the serving signature the inspector checked op by op is ever called. The result is a
`keras.Sequential` so predict, input_shape and output_shape work as for any model; it has no
Keras architecture (no layers to show, no untrained copy), which `is_graph_model` tells pages.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from core.data import to_model_input
from core.digit_shape import NUM_CLASSES
from core.i18n import msg
from core.inspect import UploadRefused, Verdict
from core.predict import is_probability


class ServingSignature(keras.layers.Layer):
    """Calls one checked serving signature of a loaded SavedModel."""

    def __init__(self, loaded: object, signature: list[str], **kwargs: object) -> None:
        super().__init__(trainable=False, name="serving_signature", **kwargs)
        name, self.input_key, self.output_key = signature
        self._loaded = loaded  # keeps the restored variables alive
        self._function = loaded.signatures[name]

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return self._function(**{self.input_key: tf.cast(inputs, tf.float32)})[self.output_key]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], NUM_CLASSES)


class GraphModel(keras.Sequential):
    """A Sequential around ServingSignature that counts the graph's own weights."""

    def __init__(self, layer: ServingSignature, input_shape: tuple[int, ...]) -> None:
        super().__init__([keras.Input(input_shape), layer], name="savedmodel")
        # Every weight, trainable or not (as Keras counts them); not the seed generators' state.
        variables = [v for v in layer._function.variables if v.dtype.is_floating]
        self._graph_params = int(sum(np.prod(v.shape) for v in variables))
        self.outputs_logits = True  # set by load_graph_savedmodel from the graph's outputs

    def count_params(self) -> int:
        return self._graph_params

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        """The checked signature called as it is: Keras's predict function would wrap it in a
        function of its own, traced again for every new batch size (~40 ms each time)."""
        return self.layers[-1].call(tf.convert_to_tensor(x)).numpy()


def is_graph_model(model: keras.Model) -> bool:
    """Whether a model is a graph-only SavedModel (no Keras layers of its own)."""
    return isinstance(model, GraphModel)


def load_graph_savedmodel(verdict: Verdict, zip_path: Path, name: str) -> GraphModel:
    """Unpack the checked folder, load it with tf.saved_model.load, wrap its serving signature."""
    with tempfile.TemporaryDirectory(prefix="digitlab-savedmodel-") as folder:
        root = Path(folder)
        with zipfile.ZipFile(zip_path) as archive:
            for member in archive.namelist():
                # The inspector refused any name that leaves the folder; the path is rebuilt
                # from its parts all the same.
                if member.endswith("/") or not member.startswith(verdict.folder):
                    continue
                target = root.joinpath(*member[len(verdict.folder) :].split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
        try:
            loaded = tf.saved_model.load(folder)
            model = GraphModel(
                ServingSignature(loaded, verdict.signature or []), verdict.input_shape
            )
            # A first call here, so a graph that fails to run is refused in one sentence.
            model.outputs_logits = _gives_logits(model)
        except Exception:
            raise UploadRefused(msg("upload.graph_load_failed", file=name)) from None
    return model


def _gives_logits(model: GraphModel) -> bool:
    """Whether the signature gives logits: its outputs on a few blank and random digits."""
    probe = np.random.default_rng(0).integers(0, 256, (8, 28, 28), dtype="uint8")
    probe[0] = 0
    outputs = np.asarray(model.predict_on_batch(to_model_input(probe, model.input_shape[1:])))
    return not is_probability(outputs)
