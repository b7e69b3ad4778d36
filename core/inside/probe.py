"""One compiled pass per digit: every layer's output, the probabilities and two gradients.

A `Probe` is built once per model. Its tf.function takes a 28x28 image and a class and returns
every layer's activation, the ten probabilities, the saliency map and the Grad-CAM map for that
class, all from one forward pass and one gradient tape; it is traced once (fixed signature), so a
new digit or class costs one call, not a Keras model rebuilt per digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from core.digit_shape import IMAGE_SIZE, NUM_CLASSES
from core.i18n import MessageError, msg
from core.inside.layers import describe, feature_layer, last_conv, layer_graph
from core.predict import input_shape_of, is_probability

PROBE_BATCH = 500  # digits per call when reading the map's features


class InsideError(MessageError):
    """A model that the Look inside page cannot read, with the reason in words."""


@dataclass(frozen=True)
class Reading:
    """Everything the page shows for one digit and one class."""

    activations: list[np.ndarray]  # per readable layer, without the batch axis
    probabilities: np.ndarray  # (10,)
    saliency: np.ndarray  # (28, 28): d probability[class] / d pixel
    grad_cam: np.ndarray | None  # (28, 28) signed: > 0 speaks for the class, < 0 against
    target: int  # the class the attributions explain


def ends_in_softmax(model: keras.Model) -> bool:
    """Whether the model's last layer already turns scores into probabilities."""
    last = model.layers[-1]
    return type(last).__name__ == "Softmax" or last.get_config().get("activation") == "softmax"


class Probe:
    """Reads a model's insides for one digit at a time (and features for many)."""

    def __init__(self, model: keras.Model) -> None:
        try:
            self.input_shape = input_shape_of(model)
        except ValueError as exc:
            raise InsideError(msg("look_inside.error.input", reason=str(exc))) from exc
        self.model = model
        self.layers = describe(model)
        self.conv = last_conv(self.layers)
        self.feature = feature_layer(self.layers)
        try:
            inputs, outputs, final = layer_graph(model)
            self._all = keras.Model(inputs, [*outputs, final])
            features = outputs[self.feature.index] if self.feature else inputs
            self._features = keras.Model(inputs, [features, final])
        except (AttributeError, ValueError, TypeError) as exc:
            raise InsideError(msg("look_inside.error.graph", reason=str(exc))) from exc
        self._softmax = not ends_in_softmax(model) and not self._outputs_probabilities()
        self._read = tf.function(
            self._read_graph,
            input_signature=[
                tf.TensorSpec((1, IMAGE_SIZE, IMAGE_SIZE), tf.float32),
                tf.TensorSpec((), tf.int32),
            ],
        )
        self._probabilities = tf.function(
            self._probabilities_graph,
            input_signature=[tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE), tf.float32)],
        )
        self._feature_pass = tf.function(
            self._features_graph,
            input_signature=[tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE), tf.float32)],
        )

    def _outputs_probabilities(self) -> bool:
        # A model without a softmax layer may still end in probabilities (e.g. a custom head).
        probe = np.random.default_rng(0).random((4, *self.input_shape), dtype=np.float32)
        return is_probability(np.asarray(self.model(probe, training=False)).reshape(4, -1))

    def _to_probabilities(self, outputs: tf.Tensor) -> tf.Tensor:
        outputs = tf.reshape(outputs, (-1, NUM_CLASSES))
        return tf.nn.softmax(outputs) if self._softmax else outputs

    def _shaped(self, images: tf.Tensor) -> tf.Tensor:
        return tf.reshape(images, (-1, *self.input_shape))

    def _read_graph(self, image: tf.Tensor, target: tf.Tensor) -> dict[str, tf.Tensor]:
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(image)
            *activations, final = self._all(self._shaped(image), training=False)
            probabilities = self._to_probabilities(final)
            # A negative class means "the predicted one", decided inside the same pass.
            target = tf.where(target < 0, tf.argmax(probabilities[0], output_type=tf.int32), target)
            chosen = probabilities[0, target]
            # Grad-CAM reads the class's logit (up to a shared constant): a probability near 1
            # saturates and its gradient vanishes; log p_c - mean_j log p_j is logit_c - mean logit.
            logs = tf.math.log(tf.maximum(probabilities[0], 1e-30))
            score = logs[target] - tf.reduce_mean(logs)
        result = {
            "activations": activations,
            "probabilities": probabilities[0],
            "saliency": tape.gradient(chosen, image)[0],
            "target": target,
        }
        if self.conv is not None:
            maps = activations[self.conv.index]
            # Grad-CAM: each channel weighted by its mean gradient, summed, resized to the input.
            weights = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2), keepdims=True)
            cam = tf.reduce_sum(maps * weights, axis=-1, keepdims=True)
            result["grad_cam"] = tf.image.resize(cam, (IMAGE_SIZE, IMAGE_SIZE))[0, :, :, 0]
        del tape
        return result

    def _probabilities_graph(self, images: tf.Tensor) -> tf.Tensor:
        return self._to_probabilities(self.model(self._shaped(images), training=False))

    def _features_graph(self, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        features, final = self._features(self._shaped(images), training=False)
        return tf.reshape(features, (tf.shape(images)[0], -1)), self._to_probabilities(final)

    def read(self, image28: np.ndarray, target: int | None = None) -> Reading:
        """Activations, probabilities and attributions of a 0-1 28x28 digit for a class.

        Without a class, the attributions explain the predicted one.
        """
        image = tf.constant(np.asarray(image28, np.float32).reshape(1, IMAGE_SIZE, IMAGE_SIZE))
        result = self._read(image, tf.constant(-1 if target is None else int(target), tf.int32))
        cam = result.get("grad_cam")
        return Reading(
            activations=[np.asarray(a)[0] for a in result["activations"]],
            probabilities=result["probabilities"].numpy(),
            saliency=result["saliency"].numpy(),
            grad_cam=None if cam is None else cam.numpy(),
            target=int(result["target"]),
        )

    def probabilities(self, images28: np.ndarray) -> np.ndarray:
        """Probabilities (n, 10) for 0-1 float images (n, 28, 28), in one call."""
        return self._probabilities(tf.constant(images28, tf.float32)).numpy()

    def features(self, images_uint8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Last-hidden-layer features (n, d) and probabilities (n, 10) of uint8 digits."""
        chunks = []
        for start in range(0, len(images_uint8), PROBE_BATCH):
            batch = np.divide(images_uint8[start : start + PROBE_BATCH], np.float32(255))
            chunks.append([t.numpy() for t in self._feature_pass(tf.constant(batch))])
        return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])
