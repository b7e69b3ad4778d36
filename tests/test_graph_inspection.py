"""The graph check of graph-only SavedModels, on a real Keras 3.0 export edited as protobuf data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import saved_model_pb2

from core.inspect.graph import inspect_graph
from core.inspect.verdict import Refusal
from tests.conftest import ROOT

EXPORT = (
    Path(__file__).resolve().parent / "fixtures" / "old_keras" / "keras3.0.5" / "mlp_savedmodel.zip"
)


def _export() -> saved_model_pb2.SavedModel:
    saved = saved_model_pb2.SavedModel()
    with zipfile.ZipFile(EXPORT) as archive:
        saved.ParseFromString(archive.read("mlp_savedmodel/saved_model.pb"))
    return saved


def _refusal(saved: saved_model_pb2.SavedModel) -> str:
    with pytest.raises(Refusal) as refused:
        inspect_graph(saved.SerializeToString(), 0)
    return str(refused.value)


def _function(saved: saved_model_pb2.SavedModel, prefix: str):
    library = saved.meta_graphs[0].graph_def.library.function
    return next(f for f in library if f.signature.name.startswith(prefix))


def test_the_untouched_export_passes_with_its_signature():
    verdict = inspect_graph(_export().SerializeToString(), 7)
    assert verdict["input_shape"] == [784] and verdict["num_params"] == 7
    assert verdict["signature"] == ["serving_default", "keras_tensor", "output_0"]


def test_an_op_that_runs_python_deep_in_a_called_function_is_refused():
    saved = _export()
    node = _function(saved, "__inference___call__").node_def.add(name="hook", op="EagerPyFunc")
    node.attr["token"].s = b"pyfunc_0"
    assert "'EagerPyFunc'" in _refusal(saved)


def test_a_function_named_only_in_a_string_attr_is_checked_too():
    saved = _export()
    # The save function (SaveV2, MergeV2Checkpoints) is harmless while nothing reaches it.
    save = _function(saved, "__inference__traced_save").signature.name
    node = _function(saved, "__inference___call__").node_def.add(name="alias", op="Identity")
    node.attr["_note"].s = save.encode()
    assert "is not plain tensor maths" in _refusal(saved)


def test_a_call_through_a_func_attr_to_the_save_function_is_refused():
    saved = _export()
    save = _function(saved, "__inference__traced_save").signature.name
    node = _function(saved, "__inference___call__").node_def.add(
        name="sneaky", op="StatefulPartitionedCall"
    )
    node.attr["f"].func.name = save
    assert "is not plain tensor maths" in _refusal(saved)


def test_a_tensorflow_1_savedmodel_is_refused():
    saved = _export()
    saved.meta_graphs[0].ClearField("object_graph_def")
    assert "TensorFlow 1" in _refusal(saved)


def test_a_collection_that_would_run_ops_at_load_is_refused():
    saved = _export()
    saved.meta_graphs[0].collection_def["table_initializer"].node_list.value.append("init")
    assert "'table_initializer'" in _refusal(saved)


def test_the_init_op_must_be_plain():
    saved = _export()
    graph = saved.meta_graphs[0].graph_def
    graph.node.add(name="leak", op="ReadFile").input.append("serving_default_keras_tensor")
    init = next(n for n in graph.node if n.name == "NoOp")
    init.input.append("^leak")
    assert "'ReadFile'" in _refusal(saved)


def test_a_signature_the_app_cannot_feed_is_refused():
    saved = _export()
    signature = saved.meta_graphs[0].signature_def["serving_default"]
    signature.inputs["keras_tensor"].tensor_shape.dim[1].size = 3072
    assert "(3072,)" in _refusal(saved)
    saved = _export()
    saved.meta_graphs[0].signature_def["serving_default"].outputs["output_0"].tensor_shape.dim[
        1
    ].size = 5
    assert "(5,)" in _refusal(saved)
    saved = _export()
    del saved.meta_graphs[0].signature_def["serving_default"]
    assert "'serving_default'" in _refusal(saved)


def test_an_object_that_runs_code_at_load_is_refused():
    saved = _export()
    saved.meta_graphs[0].object_graph_def.nodes.add().resource.device = "CPU"
    assert "(resource)" in _refusal(saved)
    saved = _export()
    saved.meta_graphs[0].object_graph_def.nodes[0].registered_name = "tf.lookup.Custom"
    assert "(registered_name)" in _refusal(saved)


def test_a_huge_splat_constant_is_refused():
    saved = _export()
    node = _function(saved, "__inference___call__").node_def.add(name="big", op="Const")
    tensor = node.attr["value"].tensor
    tensor.dtype = 1
    tensor.tensor_shape.dim.add().size = 1 << 30
    tensor.float_val.append(0.0)
    assert "constant of 4,096 MB" in _refusal(saved)


def test_two_functions_of_one_name_or_a_doubled_graph_are_refused():
    saved = _export()
    library = saved.meta_graphs[0].graph_def.library.function
    twin = library.add()
    twin.CopyFrom(_function(saved, "__inference___call__"))
    twin.node_def.add(name="write", op="WriteFile")
    assert "damaged" in _refusal(saved)
    # A second graph_def would be merged by protobuf: its functions must not hide behind the first.
    meta = _export().meta_graphs[0].SerializeToString()
    extra = graph_pb2.GraphDef()
    extra.library.function.add().signature.name = "hidden"
    meta += _field(2, extra.SerializeToString())
    with pytest.raises(Refusal, match="damaged"):
        inspect_graph(_field(2, meta), 0)


def _field(number: int, data: bytes) -> bytes:
    """A length-delimited protobuf field."""
    length, size = b"", len(data)
    while size > 0x7F:
        length += bytes([size & 0x7F | 0x80])
        size >>= 7
    return bytes([number << 3 | 2]) + length + bytes([size]) + data


def test_a_checked_graph_that_fails_to_run_is_one_plain_sentence(tmp_path):
    # Only allowed ops, but a reshape no digit fits: the first call fails, nothing is raw.
    import tensorflow as tf

    from core.inspect import UploadRefused
    from core.loading import load_uploaded_model
    from tests.hostile_files import zip_folder

    class Misfit(tf.Module):
        def __init__(self):
            super().__init__()
            self.scale = tf.Variable(tf.ones([10]))

        @tf.function(input_signature=[tf.TensorSpec([None, 784], tf.float32)])
        def serve(self, x):
            return tf.nn.softmax(tf.reshape(x, [-1, 13])[:, :10] * self.scale)

    misfit = Misfit()
    tf.saved_model.save(
        misfit, str(tmp_path / "misfit"), signatures={"serving_default": misfit.serve}
    )
    with pytest.raises(UploadRefused, match="misfit.zip passed the safety checks but TensorFlow"):
        load_uploaded_model([("misfit.zip", zip_folder(tmp_path / "misfit"))])


def test_the_checker_of_a_savedmodel_starts_light():
    """The worker imports h5py (and NumPy) only for HDF5 files and babel never: a SavedModel's
    check was half import time (bench/evaluate_upload)."""
    code = (
        "import sys; from core.inspect.worker import inspect_path; "
        f"inspect_path({str(EXPORT)!r}); "
        "print(sorted({'h5py', 'numpy', 'babel'} & {m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() == "[]", done.stderr
