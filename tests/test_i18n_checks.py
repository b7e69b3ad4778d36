"""The English-sentence checker itself: it finds English, and lets Korean with Keras names pass."""

import pytest

from tests.i18n_checks import english_runs, english_sentences, is_english, shown_texts


@pytest.mark.parametrize(
    "text",
    [
        "The canvas is empty: draw a digit.",
        "Rows are the true digits, columns what the model said.",
        "Built **My MLP** with 50,890 parameters.",
        "이 모델은 gets an image of 26×26×8",  # half translated
        "손실 함수: sparse categorical cross-entropy",
    ],
)
def test_english_is_found(text):
    assert is_english(text), english_runs(text)


@pytest.mark.parametrize(
    "text",
    [
        "캔버스가 비어 있습니다. 숫자를 그려 보세요.",
        "Dense는 1차원 벡터를 받아야 하는데 26×26×8 크기의 이미지를 받습니다. 앞에 Flatten 층을 추가하세요.",
        "`model.to_json()`이 돌려주는 내용입니다.",
        "최고 가중치 보관 (ModelCheckpoint, save_best_only)",
        "튜토리얼 MLP 512 + Dropout (Adam)",
        "MNIST: 얀 르쿤(Yann LeCun), 코리나 코르테스(Corinna Cortes), CC BY-SA 3.0.",
        "Digit Lab CNN",
        "Dense(10, relu) · Conv2D(32, 3×3, same)",
        ".npz 파일로 내려받기",
        "relu",
    ],
)
def test_korean_with_keras_names_passes(text):
    assert not is_english(text), english_runs(text)


def test_runs_are_reported_whole():
    assert english_runs("정답: 3. Click a cell off the diagonal, then 확인") == [
        "Click a cell off the diagonal then"
    ]


def test_the_checker_reads_a_whole_page():
    from streamlit.testing.v1 import AppTest

    def page():
        import streamlit as st

        st.title("숫자 그리기")
        st.selectbox("Pick the digit you want", ["one of them", "둘"], key="x")
        with st.expander("그래프"):
            st.caption("This caption is English")
        st.dataframe({"Test accuracy": [0.9], "정확도": [0.8]})
        st.code("model.fit(x_train, y_train, epochs=5)  # train the model for five epochs")

    at = AppTest.from_function(page, default_timeout=60).run()
    shown = shown_texts(at)
    assert "숫자 그리기" in shown and "둘" in shown and "정확도" in shown
    assert sorted(english_sentences(at)) == sorted(
        ["Pick the digit you want", "one of them", "This caption is English", "Test accuracy"]
    )
