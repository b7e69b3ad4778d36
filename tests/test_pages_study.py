"""AppTest tests of the Mistakes and Draw pages, with a small trained model made active."""

import sys
import types

import numpy as np
import pytest

from core.mistakes import find_mistakes, sort_mistakes
from core.predict import predict_probabilities
from tests.apptest_helpers import by_key, grid_captions, grid_digits, open_page, texts
from ui.state import ActiveModel


def with_model(page: str, model):
    from streamlit.testing.v1 import AppTest

    from tests.apptest_helpers import APP, TIMEOUT

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.session_state["active_model"] = ActiveModel(model=model, name="small MLP", source="trained")
    return open_page(page, at)


def test_mistakes_page_lists_exactly_the_mistakes(small_trained_mlp, mnist):
    probabilities = predict_probabilities(small_trained_mlp, mnist.x_test)
    expected = find_mistakes(probabilities, mnist.y_test)
    at = with_model("mistakes", small_trained_mlp)
    assert f"Mistakes {len(expected):,} of 10,000" in texts(at)
    digits = grid_digits(at)
    first = sort_mistakes(expected, "confidence").iloc[0]
    index, true, predicted = int(first["index"]), int(first["true"]), int(first["predicted"])
    assert digits[0][0].startswith(f"#{index}: true {true}, said {predicted}")
    # The image shown is the test digit at that index, not the first test digit.
    assert np.array_equal(digits[0][1], mnist.x_test[index])
    # Filter one confusion cell: every row shown is that cell, and the count is exact.
    by_key(at.selectbox, "mistakes_true").select(true).run()
    by_key(at.selectbox, "mistakes_predicted").select(predicted).run()
    cell = expected[(expected.true == true) & (expected.predicted == predicted)]
    assert f"{len(cell):,} mistakes match" in texts(at)
    captions = grid_captions(at)[: min(len(cell), 24)]
    assert all(f"true {true}, said {predicted}" in c for c in captions)
    # Sorting by index shows the smallest test index first.
    by_key(at.radio, "mistakes_order").set_value("index").run()
    first_caption = grid_captions(at)[0]
    assert first_caption.startswith(f"#{cell['index'].min()}:")


def test_mistakes_paging_walks_every_mistake(small_trained_mlp, mnist):
    at = with_model("mistakes", small_trained_mlp)
    by_key(at.radio, "mistakes_order").set_value("index").run()
    seen = []
    pages = int(by_key(at.number_input, "mistakes_page").max)
    for page in range(1, pages + 1):
        by_key(at.number_input, "mistakes_page").set_value(page).run()
        captions = grid_captions(at)
        seen += [int(c.split(":")[0][1:]) for c in captions if c.startswith("#")]
    probabilities = predict_probabilities(small_trained_mlp, mnist.x_test)
    assert seen == list(find_mistakes(probabilities, mnist.y_test)["index"])


class FakeCanvas:
    def __init__(self, rgba):
        self.image_data = rgba


def vertical_stroke() -> np.ndarray:
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[50:230, 130:150, :3] = 255
    return rgba


@pytest.fixture
def canvas(monkeypatch):
    # The real component needs a browser; AppTest gets a fixed drawing in its place.
    drawing = {"rgba": vertical_stroke()}
    fake = types.ModuleType("streamlit_drawable_canvas")
    fake.st_canvas = lambda **kwargs: FakeCanvas(drawing["rgba"])
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", fake)
    return drawing


def test_draw_page_reads_a_vertical_stroke_as_one(small_trained_mlp, canvas):
    at = with_model("draw", small_trained_mlp)
    reading = [m for m in at.metric if m.label == "The model reads"]
    assert reading and reading[0].value == "1"
    assert any(img.proto.imgs[0].caption == "28×28, centred like MNIST" for img in at.get("image"))
    # Keep it as a labelled digit: the set and its accuracy appear, with a download.
    by_key(at.selectbox, "draw_label").select(1).run()
    by_key(at.button, "draw_keep").click().run()
    assert "Accuracy on my digits 100%" in texts(at)
    assert len(at.get("download_button")) == 1


def test_draw_page_with_an_empty_canvas_says_so(small_trained_mlp, canvas):
    canvas["rgba"] = np.zeros((280, 280, 4), dtype=np.uint8)
    at = with_model("draw", small_trained_mlp)
    assert "The canvas is empty" in texts(at)
    assert not [m for m in at.metric if m.label == "The model reads"]
    assert by_key(at.button, "draw_keep").disabled


def test_study_pages_without_a_model_say_what_to_do():
    for page in ("mistakes", "draw"):
        at = open_page(page)
        assert "no active model" in texts(at)
