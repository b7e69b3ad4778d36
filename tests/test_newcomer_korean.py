"""A Korean page reads in Korean all through: code comments, table headers, widget options and
the particles after a value (issue 21, finding 5)."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from core.codegen import to_python
from core.i18n import code_comments, final_consonant, korean_particles, translate
from core.lessons import LESSONS
from core.persist import model_to_bytes
from core.presets import PRESETS
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_page
from tests.i18n_checks import english_runs
from ui.state import ActiveModel, Keys

COMMENT = re.compile(r"#\s*(.*)$", re.M)


def session(language: str, model=None, spec=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = language
    at.run()
    if model is not None:
        at.session_state[Keys.ACTIVE_MODEL] = ActiveModel(model, "small MLP", "trained", spec, 0.93)
    return at


def english_comments(code: str) -> list[str]:
    return [c for c in COMMENT.findall(code) if english_runs(c)]


def test_the_code_on_save_build_and_in_lessons_has_korean_comments(small_trained_mlp):
    spec = PRESETS["mlp_dropout"].spec
    at = open_page("save", session("ko", small_trained_mlp, spec))
    codes = [c.value for c in at.code]
    assert any("model은 구조가 같은 모델" in code for code in codes), codes
    assert any("zip 안의 폴더" in code for code in codes), codes
    assert [english_comments(code) for code in codes if english_comments(code)] == []
    at = open_page("build", session("ko"))
    at.session_state["build_tabs"] = translate("build.tab_code", "ko")  # the script's tab
    at.run()
    assert english_comments(at.code[0].value) == []
    assert "# 데이터: 함께 들어 있는 MNIST 사본" in at.code[0].value
    for lesson in LESSONS:
        for step in lesson.steps:
            assert english_comments(code_comments(step.code, "ko")) == [], step.key
    assert "# SavedModel 폴더" in code_comments(
        next(s.code for s in LESSONS[-1].steps if s.key == "cnn.whole"), "ko"
    )
    # The English pages keep their English comments, and the script runs the same either way.
    assert "# model: the same architecture" in code_comments("x  #: save.code_same_architecture")
    english, korean = to_python(spec), to_python(spec, language="ko")
    strip = lambda code: COMMENT.sub("", code)  # noqa: E731
    assert strip(english) == strip(korean) and english != korean


def test_evaluate_s_per_class_table_has_korean_headers(small_trained_mlp):
    at = open_page("evaluate", session("ko"))
    files = [("mlp.keras", model_to_bytes(small_trained_mlp, "keras"), "application/octet-stream")]
    at.get("file_uploader")[0].set_value(files).run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[-1]  # the per-class table (one model: no ranking table)
    columns = json.loads(table.proto.columns)
    labels = {name: config.get("label") for name, config in columns.items()}
    assert labels["precision"] == "정밀도" and labels["recall"] == "재현율"
    assert labels["support"] == "테스트 숫자 수"
    assert list(table.value.index[-2:]) == ["단순 평균", "가중 평균"]
    # The mistake count under the accuracy is a count, not a rise: no arrow (finding 9).
    accuracy = next(m for m in at.metric if m.label == translate("evaluate.test_accuracy", "ko"))
    assert accuracy.proto.delta and accuracy.proto.direction == accuracy.proto.NONE


def test_look_inside_s_class_box_follows_a_language_switch(small_trained_mlp):
    at = open_page("look_inside", session("en", small_trained_mlp))
    box = by_key(at.selectbox, "look_inside_class")
    assert box.format_func(box.value) == "the prediction"
    by_key(at.radio, "app_language").set_value("ko").run()
    box = by_key(at.selectbox, "look_inside_class")
    # The browser keeps the label it has unless the page sends the value again in Korean.
    assert box.proto.set_value and box.proto.raw_value == translate(
        "look_inside.the_prediction", "ko"
    )
    assert box.value == -1  # still "the prediction", whatever the language


@pytest.mark.parametrize(
    ("word", "final"),
    [("모델", 8), ("사과", 0), ("h5", 0), ("2", 0), ("7", 8), ("3", 16), ("Adam", 16),
     ("teacher_key", 0), ("`conv2d_1`", 8), ("91.68%", 0), ("", 0)],
)  # fmt: skip
def test_final_consonant_reads_hangul_digits_and_letters(word, final):
    assert final_consonant(word) == final


def test_particles_fit_the_value_before_them():
    assert korean_particles("model.h5을(를) 불러와") == "model.h5를 불러와"
    assert korean_particles("채널 2을(를) 만든 필터, 채널 3을(를) 만든 필터") == (
        "채널 2를 만든 필터, 채널 3을 만든 필터"
    )
    assert (
        korean_particles("왜 7이(가) 아닌가? 왜 2이(가) 아닌가?") == "왜 7이 아닌가? 왜 2가 아닌가?"
    )
    assert korean_particles("배치 128(으)로, 배치 64(으)로, 파일(으)로") == (
        "배치 128로, 배치 64로, 파일로"
    )
    name = "mnist-cnn-32-64-256-acc0.855.h5"
    assert translate("lessons.yours.evaluated", "ko", name=name, accuracy=0.9).startswith(
        f"{name}를 불러와"
    )
    assert "채널 2를 만든" in translate("look_inside.filter_of", "ko", channel=2)
    secret = translate("class.no_key", "ko", env="DIGITLAB_TEACHER_KEY", secret="teacher_key")
    assert "`teacher_key`를" in secret and "을(를)" not in secret
    assert "을(를)" not in translate("lessons.yours.evaluated", "en", name=name, accuracy=0.9)


@pytest.mark.parametrize(
    ("page", "widgets"),
    [
        ("data", {"data_split": "data.split.{}", "data_digit": "data.digit.{}"}),
        ("build", {"build_optimizer": "build.optimizer.{}", "build_loss": "build.loss.{}"}),
    ],
)
def test_translated_options_follow_a_language_switch_on_every_page(page, widgets):
    at = open_page(page, session("en"))
    by_key(at.radio, "app_language").set_value("ko").run()
    assert not at.exception, [e.value for e in at.exception]
    for key, pattern in widgets.items():
        widget = by_key([*at.selectbox, *at.radio], key)
        expected = translate(pattern.format(widget.value), "ko")
        assert widget.proto.set_value and widget.proto.raw_value == expected, key
