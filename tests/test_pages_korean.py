"""Every page in Korean (?lang=ko) and in English; Build, Data, Draw, Mistakes, Inspect and Runs in depth."""

import json
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import msg
from core.presets import PRESETS
from core.runs import new_owner_token
from tests.apptest_helpers import (
    APP,
    TIMEOUT,
    by_key,
    grid_captions,
    markdown_table,
    open_layer_editor,
    open_page,
    texts,
)
from tests.i18n_checks import english_sentences
from ui.state import ActiveModel, Keys

TITLES = {  # page: (English, Korean)
    "data": ("The MNIST digits", "MNIST 손글씨 숫자"),
    "build": ("Build a network", "신경망 만들기"),
    "inspect": ("Inspect the model", "모델 구조 들여다보기"),
    "runs": ("Runs", "학습 기록"),
    "mistakes": ("Study the mistakes", "오답 살펴보기"),
    "draw": ("Draw a digit", "숫자 그리기"),
}


def session(language: str, model=None, owner: str | None = None) -> AppTest:
    """A fresh session opened with ?lang=..., optionally with an active model and a session token."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = language
    if owner:
        at.query_params["session"] = owner
    at.run()
    if model is not None:
        at.session_state[Keys.ACTIVE_MODEL] = ActiveModel(
            model=model, name="small MLP", source="trained"
        )
    return at


def assert_reads_in(at: AppTest, language: str, page: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == TITLES[page][language == "ko"]
    if language == "ko":
        assert english_sentences(at) == []
    else:
        assert english_sentences(at)  # the same checker sees the English page as English


@pytest.fixture
def canvas(monkeypatch):
    # The real component needs a browser; AppTest gets a vertical stroke (a 1) in its place.
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[50:230, 130:150, :3] = 255
    fake = types.ModuleType("streamlit_drawable_canvas")
    fake.st_canvas = lambda **kwargs: types.SimpleNamespace(image_data=rgba)
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", fake)


@pytest.mark.parametrize("language", ["ko", "en"])
def test_data_page(language):
    at = open_page("data", session(language))
    assert_reads_in(at, language, "data")
    by_key(at.radio, "data_split").set_value("test").run()
    by_key(at.selectbox, "data_digit").set_value(7).run()
    assert_reads_in(at, language, "data")
    caption = grid_captions(at)[0]
    assert caption.endswith("레이블 7" if language == "ko" else "label 7")


@pytest.mark.parametrize("language", ["ko", "en"])
def test_build_page_and_its_messages(language):
    at = open_page("build", session(language))
    assert_reads_in(at, language, "build")
    by_key(at.selectbox, "build_preset_choice").set_value("cnn").run()
    by_key(at.button, "build_submit").click().run()
    assert_reads_in(at, language, "build")
    built = "파라미터 824,458개" if language == "ko" else "824,458 parameters"
    assert built in at.success[0].value
    # An impossible stack: Dense before Conv2D, and a wrong output size.
    by_key(at.selectbox, "build_preset_choice").set_value("mlp_sgd").run()
    open_layer_editor(at)
    by_key(at.selectbox, "build_add_kind").set_value("Conv2D").run()
    by_key(at.number_input, "build_add_position_2").set_value(3).run()
    by_key(at.button, "build_add").click().run()
    assert at.error and by_key(at.button, "build_submit").disabled
    assert_reads_in(at, language, "build")
    expected = "3번째 층 Conv2D" if language == "ko" else "Layer 3 (Conv2D"
    assert any(expected in error.value for error in at.error), [e.value for e in at.error]


@pytest.mark.parametrize("language", ["ko", "en"])
def test_inspect_page(language, small_trained_mlp):
    at = open_page("inspect", session(language, small_trained_mlp))
    assert_reads_in(at, language, "inspect")
    table = markdown_table(at)
    formula = table.iloc[0, -1]
    expected = (
        "입력 784개 × 유닛 512개 + 편향 512개" if language == "ko" else "784 inputs × 512 units"
    )
    assert formula.startswith(expected), formula


@pytest.mark.parametrize("language", ["ko", "en"])
def test_mistakes_page(language, small_trained_mlp):
    at = open_page("mistakes", session(language, small_trained_mlp))
    assert_reads_in(at, language, "mistakes")
    by_key(at.selectbox, "mistakes_true").set_value(4).run()
    by_key(at.radio, "mistakes_order").set_value("index").run()
    assert_reads_in(at, language, "mistakes")
    if language == "ko":
        assert "정답 4" in grid_captions(at)[0]


@pytest.mark.parametrize("language", ["ko", "en"])
def test_draw_page(language, small_trained_mlp, canvas):
    at = open_page("draw", session(language, small_trained_mlp))
    assert_reads_in(at, language, "draw")
    by_key(at.selectbox, "draw_label").set_value(1).run()
    by_key(at.button, "draw_keep").click().run()
    assert_reads_in(at, language, "draw")
    accuracy = "내 숫자에 대한 정확도 100%" if language == "ko" else "Accuracy on my digits 100%"
    assert accuracy in texts(at)


def fake_run(root, owner: str, run_id: str, model, status: str, message) -> None:
    """A run folder as a finished (or failed) training leaves it, without training."""
    path = root / owner / run_id
    path.mkdir(parents=True)
    spec = PRESETS["mlp_dropout"].spec
    (path / "spec.json").write_text(json.dumps({"name": spec.name, "spec": spec.to_dict()}))
    curve = {"loss": [0.5, 0.3], "accuracy": [0.85, 0.91]}
    curve |= {"val_loss": [0.4, 0.3], "val_accuracy": [0.88, 0.92]}
    (path / "history.json").write_text(json.dumps({"epochs": curve}))
    metrics = {"status": status, "message": message, "test_accuracy": 0.93, "wall_seconds": 4.2}
    (path / "metrics.json").write_text(json.dumps(metrics | {"best": {"val_accuracy": 0.92}}))
    if model is not None:
        model.save(path / "model.keras")


@pytest.mark.parametrize("language", ["ko", "en"])
def test_runs_page(language, small_trained_mlp):
    root = Path(os.environ["DIGITLAB_RUNS_DIR"])  # the app's run store (cached per process)
    owner = new_owner_token()
    failure = msg("spec.no_layers").to_dict()  # a failure kept as a Message, as a job may write
    fake_run(root, owner, "20260101-000000-aaaa", None, "failed", failure)
    fake_run(root, owner, "20260101-000001-bbbb", small_trained_mlp, "finished", "")
    at = open_page("runs", session(language, owner=owner))
    assert_reads_in(at, language, "runs")
    table = at.dataframe[0].value
    assert list(table.iloc[:, 2]) == (
        ["완료", "실패"] if language == "ko" else ["finished", "failed"]
    )
    by_key(at.button, "runs_activate").click().run()
    assert at.session_state[Keys.ACTIVE_MODEL].source == "trained"
    pick = by_key(at.selectbox, "runs_pick")
    pick.set_value(pick.options[1]).run()
    assert_reads_in(at, language, "runs")
    no_layers = "신경망에 층이 하나도 없습니다" if language == "ko" else "The network has no layers"
    assert no_layers in texts(at)


def test_runs_page_without_runs_in_korean():
    at = open_page("runs", session("ko"))
    assert not at.exception and english_sentences(at) == []
    assert "아직 학습 기록이 없습니다" in texts(at)


@pytest.mark.parametrize("page", ["inspect", "mistakes", "draw"])
def test_pages_without_a_model_say_so_in_korean(page):
    at = open_page(page, session("ko"))
    assert not at.exception and english_sentences(at) == []
    assert "아직 현재 모델이 없습니다" in texts(at)


def settings_page():
    from ui.train_settings import prepare_settings, settings_ui, suggested_config

    prepare_settings("a network", suggested_config(None))
    settings_ui(disabled=False)


@pytest.mark.parametrize("language", ["ko", "en"])
def test_training_settings(language):
    at = AppTest.from_function(settings_page, default_timeout=TIMEOUT)
    at.query_params["lang"] = language
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    expected = "콜백: 조기 종료" if language == "ko" else "Callbacks: early stopping"
    assert at.expander[0].label.startswith(expected)
    by_key(at.selectbox, "train_lr_schedule").set_value("step").run()
    by_key(at.selectbox, "train_subset").set_value(1_000).run()
    assert by_key(at.selectbox, "train_subset").value == 1_000
    assert (english_sentences(at) == []) == (language == "ko")


ALL_PAGES = ("data", "lessons", "build", "inspect", "train", "runs", "save", "evaluate")
ALL_PAGES += ("mistakes", "draw", "look_inside", "class_view")


@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_page_reads_fully_in_korean_with_a_trained_model(page, small_trained_mlp, canvas):
    at = open_page(page, session("ko", small_trained_mlp))
    assert not at.exception, [e.value for e in at.exception]
    assert english_sentences(at) == [], page
