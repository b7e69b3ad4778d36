"""Files made by real old TensorFlow / Keras versions evaluate to the accuracy those versions measured.

The files and their measurements come from tests/fixtures/make_old_keras_fixtures.py, run in
throwaway environments with the old versions (tests/fixtures/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.data import load_mnist
from core.evaluate import evaluate_model
from core.graph_model import is_graph_model
from core.loading import load_uploaded_model

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "old_keras"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
CASES = [
    pytest.param(tag, key, entry, id=f"{tag}-{key}")
    for tag, made in sorted(MANIFEST.items())
    for key, entry in sorted(made["files"].items())
]

GRAPH_ONLY = {"keras3.0.5-mlp.savedmodel", "keras3.0.5-cnn.savedmodel"}  # from model.export


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def _upload(tag: str, key: str, entry: dict) -> list[tuple[str, bytes]]:
    paths = list(entry["files"])
    if key.endswith(".checkpoint"):  # weights only: the tutorial's architecture goes with them
        paths.insert(
            0, MANIFEST[tag]["files"][key.replace("checkpoint", "json+weights")]["files"][0]
        )
    return [(Path(p).name, (FIXTURES / p).read_bytes()) for p in paths]


def test_the_manifest_covers_every_version_and_format():
    assert {"tf2.12.1", "tf2.13.1", "tf2.15.1", "keras3.0.5"} <= set(MANIFEST)
    for made in MANIFEST.values():
        kinds = {key.split(".", 1)[1] for key in made["files"]}
        assert {"h5", "keras", "json+weights", "savedmodel", "checkpoint"} == kinds
        for entry in made["files"].values():
            assert 0.2 < entry["accuracy"] < 1.0 and len(entry["classes"]) == made["check_digits"]


def test_graph_only_savedmodels_load_through_their_checked_serving_signature():
    # Keras 3's model.export writes no keras_metadata.pb: the inspector checks its graph op by op
    # and the model runs through its serving signature, with no Keras layers of its own.
    for key in sorted(GRAPH_ONLY):
        entry = MANIFEST["keras3.0.5"]["files"][key.split("-", 1)[1]]
        loaded = load_uploaded_model(_upload("keras3.0.5", key.split("-", 1)[1], entry))
        assert loaded.kind == "savedmodel_graph"
        assert is_graph_model(loaded.model)
        keras_key = key.split("-", 1)[1].replace("savedmodel", "keras")
        same = load_uploaded_model(
            _upload("keras3.0.5", keras_key, MANIFEST["keras3.0.5"]["files"][keras_key])
        )
        assert loaded.model.count_params() == same.model.count_params()
        assert not loaded.outputs_logits  # the fixtures end in softmax


@pytest.mark.parametrize(("tag", "key", "entry"), CASES)
def test_old_file_evaluates_to_the_accuracy_its_version_measured(tag, key, entry, mnist):
    count = MANIFEST[tag]["check_digits"]
    loaded = load_uploaded_model(_upload(tag, key, entry))
    report = evaluate_model(loaded.model, mnist.x_test[:count], mnist.y_test[:count])
    classes = "".join(str(int(c)) for c in report.predicted)
    differing = sum(a != b for a, b in zip(classes, entry["classes"], strict=True))
    assert differing == 0, f"{differing} of {count} digits classified differently"
    assert report.accuracy == pytest.approx(entry["accuracy"], abs=1e-3)
