"""AppTest tests of the Save and Evaluate pages: downloads, uploads (good, legacy, hostile)."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.build import build_model
from core.persist import model_to_bytes
from core.presets import PRESETS
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_page, texts
from tests.hostile_files import hostile_corpus, keras2_config, keras2_weights_h5
from ui.state import ActiveModel, Keys

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "old_keras"


def session_with(model, page: str, name: str = "small MLP", spec=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.session_state[Keys.ACTIVE_MODEL] = ActiveModel(model, name, "trained", spec, 0.93)
    return open_page(page, at)


def upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    uploader = at.get("file_uploader")[0]
    uploader.set_value([(name, data, "application/octet-stream") for name, data in files]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_save_page_offers_every_format(small_trained_mlp):
    spec = PRESETS["mlp_dropout"].spec
    at = session_with(small_trained_mlp, "save", spec=spec)
    labels = [button.proto.label for button in at.get("download_button")]
    for expected in ("(.keras)", "(.h5)", "(.weights.h5)", "(.json)", "(.py)"):
        assert any(expected in label for label in labels), labels
    codes = [c.value for c in at.code]
    assert 'model = keras.models.load_model("mnist-small-mlp-acc0.930.keras")' in codes


def test_upload_keras_and_legacy_pair_are_ranked(small_trained_mlp, tmp_path):
    untrained = build_model(PRESETS["mlp_sgd"].spec)
    at = session_with(untrained, "evaluate", name="untrained MLP")
    files = [
        ("good.keras", model_to_bytes(small_trained_mlp, "keras")),
        ("old.json", json.dumps(keras2_config(small_trained_mlp)).encode()),
        ("old.h5", keras2_weights_h5(small_trained_mlp)),
    ]
    at = upload(at, files)
    ranking = at.dataframe[0].value
    assert list(ranking["model"]) == ["good.keras", "old.json + old.h5"] or list(
        ranking["model"]
    ) == ["old.json + old.h5", "good.keras"]
    assert ranking["accuracy"].iloc[0] == pytest.approx(ranking["accuracy"].iloc[1], abs=1e-6)
    assert ranking["accuracy"].iloc[0] > 0.85
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["Same network, untrained"].rstrip("%")) < 30
    assert len(at.get("plotly_chart")) == 1  # the confusion matrix
    by_key(at.button, "evaluate_activate").click().run()
    active = at.session_state[Keys.ACTIVE_MODEL]
    assert active.source == "uploaded" and active.name == ranking["model"].iloc[0]


def test_hostile_uploads_are_refused_and_nothing_is_lost(small_trained_mlp, tmp_path):
    marker = tmp_path / "pwned"
    at = session_with(small_trained_mlp, "evaluate")
    before = at.session_state[Keys.ACTIVE_MODEL]
    cases = [c for c in hostile_corpus(marker) if c.architecture is None and len(c.files) == 1]
    for case in cases[:8]:
        at = upload(at, case.files)
        messages = [e.value for e in at.error]
        assert any(case.expected in m for m in messages), (case.name, messages)
        assert not at.dataframe
    assert not marker.exists()
    assert at.session_state[Keys.ACTIVE_MODEL] is before


def test_weights_for_the_wrong_architecture_get_a_message(small_trained_mlp):
    at = session_with(build_model(PRESETS["mlp_sgd"].spec), "evaluate")
    by_key(at.checkbox, "evaluate_weights_only").check().run()
    at = upload(at, [("wide.weights.h5", model_to_bytes(small_trained_mlp, "weights"))])
    assert at.error and "wide.weights.h5" in at.error[0].value
    assert "Test accuracy" not in texts(at)


def test_upload_zipped_savedmodel_and_checkpoint_with_its_architecture(small_trained_mlp):
    made = FIXTURES / "tf2.15.1"
    at = session_with(small_trained_mlp, "evaluate")
    names = ["mlp_savedmodel.zip", "cnn.json", "cnn_cp.ckpt.index"]
    names.append("cnn_cp.ckpt.data-00000-of-00001")
    at = upload(at, [(name, (made / name).read_bytes()) for name in names])
    assert not at.error, [e.value for e in at.error]
    ranking = at.dataframe[0].value
    assert sorted(ranking["model"]) == [
        "cnn.json + cnn_cp.ckpt.index + cnn_cp.ckpt.data-00000-of-00001",
        "mlp_savedmodel.zip",
    ]
    assert (ranking["accuracy"] > 0.4).all()
    kinds = {m.label: m.proto.delta for m in at.metric}
    assert kinds["Input"] in ("SavedModel (Keras)", "TF checkpoint")


def test_checkpoint_without_architecture_gets_a_korean_sentence_too():
    made = FIXTURES / "tf2.15.1"
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = "ko"
    at.run()
    at = open_page("evaluate", at)
    names = ["mlp_cp.ckpt.index", "mlp_cp.ckpt.data-00000-of-00001"]
    at = upload(at, [(name, (made / name).read_bytes()) for name in names])
    assert "가중치만 담은 TF 체크포인트" in at.error[0].value
    assert "mlp_cp.ckpt.index" in at.error[0].value


def test_upload_graph_only_savedmodel_zip_says_what_it_cannot_show(small_trained_mlp):
    made = FIXTURES / "keras3.0.5"
    at = session_with(small_trained_mlp, "evaluate")
    at = upload(at, [("mlp_savedmodel.zip", (made / "mlp_savedmodel.zip").read_bytes())])
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m for m in at.metric}
    assert float(metrics["Test accuracy"].value.rstrip("%")) > 40
    assert metrics["Input"].proto.delta == "SavedModel (graph)"
    assert metrics["Same network, untrained"].value == "—"
    assert "no Keras architecture" in texts(at)
    assert not [b for b in at.button if b.key == "evaluate_activate"]
