"""The session store: a session's active model and settings in its owner's folder, read back."""

import json

import keras
import numpy as np
import pytest

from core.build import build_model
from core.presets import PRESETS
from core.runs import MODEL_FILE as RUN_MODEL_FILE
from core.runs import SPEC_FILE, RunStore, new_owner_token
from core.session_store import (
    MODEL_FILE,
    SESSION_FILE,
    SavedModel,
    SessionRecord,
    SessionStore,
)


@pytest.fixture
def store(tmp_path) -> SessionStore:
    return SessionStore(RunStore(tmp_path))


def test_an_owner_without_a_file_gets_an_empty_record(store):
    assert store.load(new_owner_token()) == SessionRecord()


def test_a_record_round_trips(store):
    owner = new_owner_token()
    spec = PRESETS["mlp_sgd"].spec.to_dict()
    record = SessionRecord(
        SavedModel("Mina's MLP", "trained", "abc", "20261202-031500-ab12", spec, 0.9168),
        {"train_epochs": 5, "train_subset": 1000, "build_name": "Mina's MLP", "lesson": None},
        [layer.to_dict() for layer in PRESETS["mlp_sgd"].spec.layers],
    )
    store.save(owner, record)
    assert store.load(owner) == record
    assert (store.runs.owner_dir(owner) / SESSION_FILE).is_file()
    assert not list(store.runs.owner_dir(owner).glob(".*"))  # no temporary file left behind


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[1, 2]",
        '{"model": {"name": "x", "source": "stolen", "uid": "u"}}',
        '{"model": {"name": "x", "source": "trained", "uid": "u", "run_id": "../../etc"}}',
        '{"model": {"name": "x"}}',
    ],
)
def test_a_damaged_or_crafted_file_brings_back_no_model(store, text):
    owner = new_owner_token()
    store.runs.owner_dir(owner).mkdir(parents=True)
    (store.runs.owner_dir(owner) / SESSION_FILE).write_text(text)
    assert store.load(owner).model is None


def test_only_plain_settings_are_read_back(store):
    owner = new_owner_token()
    store.runs.owner_dir(owner).mkdir(parents=True)
    data = {"settings": {"train_epochs": 5, "evil": {"__class__": "x"}}, "layers": [1]}
    (store.runs.owner_dir(owner) / SESSION_FILE).write_text(json.dumps(data))
    assert store.load(owner) == SessionRecord(settings={"train_epochs": 5})


def test_a_built_model_is_written_then_read_back_the_same(store, mnist):
    owner = new_owner_token()
    model = build_model(PRESETS["mlp_sgd"].spec)
    store.save_model(owner, model)
    assert [p.name for p in store.runs.owner_dir(owner).iterdir()] == [MODEL_FILE]
    loaded = store.load_model(owner, SavedModel("MLP", "built", "uid"))
    x = mnist.x_test[:16].reshape(16, -1).astype("float32") / 255
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_a_model_file_with_a_lambda_layer_is_refused(store):
    """safe_mode: a Lambda layer's code is never run from a file."""
    owner = new_owner_token()
    inputs = keras.Input((784,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    store.save_model(owner, model)
    with pytest.raises(ValueError, match="(?i)lambda"):
        store.load_model(owner, SavedModel("evil", "uploaded", "uid"))


def test_a_run_model_is_kept_as_its_run_id_and_loaded_from_the_run(store, mnist):
    owner = new_owner_token()
    run_dir = store.runs.new_run_dir(owner)
    (run_dir / SPEC_FILE).write_text("{}")
    model = build_model(PRESETS["mlp_sgd"].spec)
    model.save(run_dir / RUN_MODEL_FILE)
    assert store.run_id_of(owner, str(run_dir)) == run_dir.name
    loaded = store.load_model(owner, SavedModel("MLP", "trained", "uid", run_dir.name))
    x = mnist.x_test[:4].reshape(4, -1).astype("float32") / 255
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    store.save_model(owner, model)  # the model built before the run
    store.save(owner, SessionRecord(SavedModel("MLP", "trained", "uid", run_dir.name)))
    assert not (store.runs.owner_dir(owner) / MODEL_FILE).exists()  # the run holds it now


def test_another_owners_run_or_any_other_path_is_not_a_run_id(store, tmp_path):
    owner, other = new_owner_token(), new_owner_token()
    theirs = store.runs.new_run_dir(other)
    build_model(PRESETS["mlp_sgd"].spec).save(theirs / RUN_MODEL_FILE)
    assert store.run_id_of(other, str(theirs)) == theirs.name
    assert store.run_id_of(owner, str(theirs)) is None
    empty = store.runs.new_run_dir(owner)  # a training stopped while queued saves no model
    assert store.run_id_of(owner, str(empty)) is None
    assert store.run_id_of(owner, str(tmp_path / "Not An Id")) is None
    assert store.run_id_of(owner, None) is None
