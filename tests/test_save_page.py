"""AppTest of the Save page's downloads for other runtimes: made on click, once per model."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import export
from core.export import EXPORT_FORMATS, ExportFailed
from core.i18n import msg
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_page
from ui.state import ActiveModel, Keys


def save_page(model, language: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["app_language"] = language
    at.run()
    at.session_state[Keys.ACTIVE_MODEL] = ActiveModel(model, "small MLP", "trained", None, 0.93)
    return open_page("save", at)


def download_keys(at: AppTest) -> set[str]:
    return {button.key for button in at.get("download_button")}


@pytest.fixture
def counted_exports(monkeypatch):
    """The real export, counted per format."""
    calls: list[str] = []
    real = export.export_to_bytes

    def counting(model, fmt, stem="model"):
        calls.append(fmt)
        return real(model, fmt, stem)

    monkeypatch.setattr(export, "export_to_bytes", counting)
    return calls


def test_exports_are_made_on_click_and_once_per_model(small_trained_mlp, counted_exports):
    at = save_page(small_trained_mlp)
    assert counted_exports == []  # opening the page exports nothing
    assert {f"save_prepare_{fmt}" for fmt in EXPORT_FORMATS} <= {b.key for b in at.button}
    assert not download_keys(at) & {f"save_{fmt}" for fmt in EXPORT_FORMATS}
    codes = "\n".join(c.value for c in at.code)
    assert 'session = onnxruntime.InferenceSession("mnist-small-mlp-acc0.930.onnx")' in codes

    by_key(at.button, "save_prepare_onnx").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert counted_exports == ["onnx"]
    assert "save_onnx" in download_keys(at)
    assert "save_prepare_onnx" not in {b.key for b in at.button}

    by_key(at.button, "save_prepare_litert").click().run()
    assert counted_exports == ["onnx", "litert"]  # the ONNX file was kept, not made again
    assert {"save_onnx", "save_litert"} <= download_keys(at)

    # Another active model: its exports start afresh.
    at.session_state[Keys.ACTIVE_MODEL] = ActiveModel(small_trained_mlp, "other", "trained")
    at.run()
    assert "save_prepare_onnx" in {b.key for b in at.button}
    assert "save_onnx" not in download_keys(at)


def test_a_failed_export_is_a_plain_sentence_in_the_readers_language(
    small_trained_mlp, monkeypatch
):
    def failing(model, fmt, stem="model"):
        raise ExportFailed(msg("save.export_failed", format=msg(f"save.{fmt}_label")))

    monkeypatch.setattr(export, "export_to_bytes", failing)
    at = save_page(small_trained_mlp, "ko")
    assert at.title[0].value == "모델 저장하기"
    by_key(at.button, "save_prepare_litert").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors == [
        "이 모델로는 LiteRT (.tflite) 파일을 만들지 못했습니다. 위의 Keras 파일은 그대로 쓸 수 있습니다."
    ]
    assert "save_litert" not in download_keys(at)
