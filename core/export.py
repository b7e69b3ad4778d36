"""Downloads for other runtimes: SavedModel, TF checkpoint, LiteRT and ONNX, made on request."""

from __future__ import annotations

import io
import logging
import tempfile
import warnings
import zipfile
from pathlib import Path

import keras
import tensorflow as tf

from core.i18n import MessageError, code_comments, msg
from core.persist import download_filename

# Export formats: file suffix of the download.
EXPORT_FORMATS = {
    "savedmodel": "-savedmodel.zip",  # zip of the folder model.export(dir) writes
    "checkpoint": "-checkpoint.zip",  # cp.ckpt.index + cp.ckpt.data-00000-of-00001 + .json
    "litert": ".tflite",  # model.export(path, format="litert")
    "onnx": ".onnx",  # model.export(path, format="onnx")
}
# The package each export needs at run time besides TensorFlow, by the import name Keras uses.
EXPORT_PACKAGES = {"onnx": ("tf2onnx", "onnx")}
CHECKPOINT_PREFIX = "cp.ckpt"  # the name tutorial 003 gives its checkpoints
INPUT_NAME = "digits"  # the input's name in every export: runner(digits=x), {"digits": x}
LOG = logging.getLogger(__name__)


class ExportFailed(MessageError):
    """A download could not be made; the message says which and why, in plain words."""


def export_filename(model_name: str, fmt: str, accuracy: float | None) -> str:
    """A safe, descriptive file name such as mnist-cnn-acc0.991.onnx."""
    stem = download_filename(model_name, "json", accuracy).removesuffix(".json")
    return stem + EXPORT_FORMATS[fmt]


def export_to_bytes(model: keras.Model, fmt: str, stem: str = "model") -> bytes:
    """The model exported in one of EXPORT_FORMATS, as bytes; raise ExportFailed with the reason.

    stem names the folder inside the zips (the SavedModel folder, the checkpoint's JSON).
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; expected one of {sorted(EXPORT_FORMATS)}.")
    for package in EXPORT_PACKAGES.get(fmt, ()):
        try:
            __import__(package)
        except ImportError:
            raise ExportFailed(msg("save.export_missing", package=package)) from None
    try:
        with tempfile.TemporaryDirectory(prefix="digitlab-export-") as folder:
            return _EXPORTERS[fmt](model, Path(folder), stem)
    except ExportFailed:
        raise
    except Exception:
        # The raw converter message means nothing to a learner; keep it for whoever runs the app.
        LOG.exception("export to %s failed", fmt)
        raise ExportFailed(msg("save.export_failed", format=msg(f"save.{fmt}_label"))) from None


def _signature(model: keras.Model) -> list:
    # Named, any batch size: the loading lines can then say runner(digits=x).
    return [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name=INPUT_NAME)]


def _savedmodel(model: keras.Model, folder: Path, stem: str) -> bytes:
    model.export(
        folder / stem, format="tf_saved_model", input_signature=_signature(model), verbose=False
    )
    return _zip_folder(folder, folder / stem)


def _litert(model: keras.Model, folder: Path, stem: str) -> bytes:
    path = folder / f"{stem}.tflite"
    model.export(path, format="litert", input_signature=_signature(model), verbose=False)
    return path.read_bytes()


def _onnx(model: keras.Model, folder: Path, stem: str) -> bytes:
    path = folder / f"{stem}.onnx"
    with warnings.catch_warnings():
        # Keras's numpy-2 patch of tf2onnx touches np.object, which warns; nothing is wrong.
        warnings.simplefilter("ignore", FutureWarning)
        model.export(path, format="onnx", input_signature=_signature(model), verbose=False)
    return path.read_bytes()


def _checkpoint(model: keras.Model, folder: Path, stem: str) -> bytes:
    target = folder / stem
    target.mkdir()
    write_checkpoint(model, target / CHECKPOINT_PREFIX)
    (target / f"{stem}.json").write_text(model.to_json(), encoding="utf-8")
    return _zip_folder(folder, target)


def write_checkpoint(model: keras.Model, prefix: Path) -> None:
    """Write the weights as tf.keras 2's `model.save_weights("cp.ckpt")` did (tutorial 003).

    Same object graph as then: the layers with weights as `layer_with_weights-N`, each variable
    under its Keras name, so `load_weights` in TensorFlow 2.15 and older reads it, and so does any
    tool that reads the tutorial's checkpoints. Weights only: no optimizer state.
    """
    root = tf.train.Checkpoint(**_layer_nodes(model))
    root.write(str(prefix))
    # The bookkeeping file ModelCheckpoint and save_weights write beside it, which
    # tf.train.latest_checkpoint reads (TensorFlow 2 writes it only through deprecated functions).
    (prefix.parent / "checkpoint").write_text(
        f'model_checkpoint_path: "{prefix.name}"\nall_model_checkpoint_paths: "{prefix.name}"\n',
        encoding="utf-8",
    )


def _layer_nodes(model: keras.Model) -> dict:
    nodes = {}
    for layer in (layer for layer in model.layers if layer.weights):
        node = tf.Module()
        if isinstance(layer, keras.Model):  # a nested model keeps its own numbering
            for name, child in _layer_nodes(layer).items():
                setattr(node, name, child)
        else:
            for variable in layer.trainable_weights + layer.non_trainable_weights:
                setattr(node, variable.name, variable.value)
        nodes[f"layer_with_weights-{len(nodes)}"] = node
    return nodes


def _zip_folder(base: Path, folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, path.relative_to(base).as_posix())
    return buffer.getvalue()


def runtime_instructions(fmt: str, file_name: str, language: str = "en") -> str:
    """Lines that load a download in its own runtime and predict `x` (float32 pixels in 0-1)."""
    stem = file_name.removesuffix(EXPORT_FORMATS[fmt])
    lines = {
        "savedmodel": (
            "import tensorflow as tf\n"
            f'model = tf.saved_model.load("{stem}")  #: save.code_folder_in_zip\n'
            "probabilities = model.serve(x).numpy()"
        ),
        "checkpoint": (
            "import keras, tensorflow as tf\n"
            f'model = keras.models.model_from_json(open("{stem}/{stem}.json").read())\n'
            f'reader = tf.train.load_checkpoint("{stem}/{CHECKPOINT_PREFIX}")\n'
            "layers = [layer for layer in model.layers if layer.weights]\n"
            'model.set_weights([reader.get_tensor(f"layer_with_weights-{i}/{w.name}/'
            '.ATTRIBUTES/VARIABLE_VALUE") for i, layer in enumerate(layers) for w in layer.weights])\n'
            "probabilities = model.predict(x)"
        ),
        "litert": (
            "from ai_edge_litert.interpreter import Interpreter\n"
            f'runner = Interpreter(model_path="{file_name}").get_signature_runner()\n'
            f'probabilities = runner({INPUT_NAME}=x)["output_0"]'
        ),
        "onnx": (
            "import onnxruntime\n"
            f'session = onnxruntime.InferenceSession("{file_name}")\n'
            f'probabilities = session.run(None, {{"{INPUT_NAME}": x}})[0]'
        ),
    }[fmt]
    return code_comments(lines, language)


_EXPORTERS = {
    "savedmodel": _savedmodel,
    "checkpoint": _checkpoint,
    "litert": _litert,
    "onnx": _onnx,
}
