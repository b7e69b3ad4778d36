"""AppTest tests of the Look inside page: any model, opened from Mistakes, snapshots, bad models."""

import keras
import numpy as np
import pytest

from core.build import build_model
from core.presets import PRESETS
from tests.apptest_helpers import by_key, open_page, texts
from ui.state import ActiveModel, Keys


def with_model(page: str, model, name="small MLP", source="trained", run_dir=None):
    from streamlit.testing.v1 import AppTest

    from tests.apptest_helpers import APP, TIMEOUT

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.session_state["active_model"] = ActiveModel(model, name, source, run_dir=run_dir)
    return open_page(page, at)


def shown(at) -> str:
    """The page's texts and its image captions."""
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    return texts(at) + "\n" + "\n".join(captions)


def test_page_shows_every_part_for_an_mlp(small_trained_mlp, mnist):
    at = with_model("look_inside", small_trained_mlp)
    text = shown(at)
    assert "Test digit #0, a 7" in text
    assert "The model reads 7" in text
    assert [h.value for h in at.header][:2] == ["Why 7?", "Layer by layer"]
    # Dense layers as bars, Dropout and the 784-input weights in words and pictures.
    assert "Grad-CAM needs a convolution layer" in text
    assert "What the hidden units of dense_1 look for" in text
    assert "Per-epoch snapshots belong to a training run" in text
    assert "2,000 test digits placed by what dense_1 makes of them" in text
    assert len(at.get("plotly_chart")) >= 7  # probabilities, 2 attributions, 2 bars, weights, map


def test_a_chosen_class_asks_why_not(small_trained_mlp):
    at = with_model("look_inside", small_trained_mlp)
    by_key(at.selectbox, "look_inside_class").select(4).run()
    assert not at.exception
    assert at.header[0].value == "Why not 4?"


def test_a_cnn_shows_feature_maps_and_grad_cam(mnist):
    model = build_model(PRESETS["default"].spec)
    at = with_model("look_inside", model, "Digit Lab CNN", "built")
    text = shown(at)
    assert "Grad-CAM needs" not in text
    assert "Where the last convolution (conv2d_2) found" in text
    assert "The 16 filters of conv2d_1 (of 16)" in text
    assert "Click a feature map to see it large" in text
    assert "1,200 numbers, the same as the layer before, in one row." in text


def test_opened_from_the_mistakes_page_with_that_digit(small_trained_mlp, mnist):
    at = with_model("mistakes", small_trained_mlp)
    index = int(by_key(at.selectbox, "mistakes_detail").value)
    by_key(at.button, "mistakes_look_inside").click().run()
    assert not at.exception
    assert at.session_state[Keys.LOOK_INSIDE_DIGIT] == index
    assert f"Test digit #{index}, a {mnist.y_test[index]}" in shown(at)


def test_a_drawing_sent_from_the_draw_page_is_shown(small_trained_mlp, mnist):
    at = with_model("look_inside", small_trained_mlp)
    at.session_state[Keys.LOOK_INSIDE_DIGIT] = mnist.x_test[3] / np.float32(255)
    at.run()
    assert "Your drawing from the Draw page" in shown(at)
    # Picking a test digit again leaves the drawing.
    by_key(at.number_input, "look_inside_index").set_value(11).run()
    assert f"Test digit #11, a {mnist.y_test[11]}" in shown(at)


def test_random_and_mistake_buttons_pick_digits(small_trained_mlp, mnist):
    from core.mistakes import find_mistakes
    from core.predict import predict_probabilities

    at = with_model("look_inside", small_trained_mlp)
    by_key(at.button, "look_inside_mistake").click().run()
    picked = at.session_state[Keys.LOOK_INSIDE_DIGIT]
    wrong = find_mistakes(predict_probabilities(small_trained_mlp, mnist.x_test), mnist.y_test)
    assert picked in set(wrong["index"].tolist())
    by_key(at.button, "look_inside_random").click().run()
    assert not at.exception


def test_a_model_that_is_not_for_digits_gets_one_line(mnist):
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(10, activation="softmax")])
    at = with_model("look_inside", model, "odd", "uploaded")
    assert "This model cannot be looked inside" in at.error[0].value
    assert not at.exception


def test_the_page_speaks_korean(small_trained_mlp):
    from streamlit.testing.v1 import AppTest

    from tests.apptest_helpers import APP, TIMEOUT

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = "ko"
    at.run()
    at.session_state["active_model"] = ActiveModel(small_trained_mlp, "MLP", "trained")
    at = open_page("look_inside", at)
    assert at.title[0].value == "신경망 속 들여다보기"
    assert at.header[0].value == "왜 7인가?"


@pytest.mark.parametrize("epochs", [2])
def test_snapshots_of_a_trained_run_have_an_epoch_slider(tmp_path, mnist, epochs):
    from core.engine.scheduler import TrainingScheduler
    from core.runs import RunStore
    from core.training import TrainConfig, TrainingJob

    model = build_model(PRESETS["mlp_sgd"].spec)
    config = TrainConfig(epochs=epochs, batch_size=128, subset_size=2000, validation="none")
    job = TrainingJob(model, config, mnist, RunStore(tmp_path).new_run_dir("tester"), name="mlp")
    TrainingScheduler(1).submit(job)
    assert job.wait(120) and job.status == "finished"
    # the run's folder, as a finished job, the Runs page and the Class page make it active
    at = with_model("look_inside", job.model, run_dir=str(job.run_dir))
    slider = by_key(at.select_slider, "look_inside_epoch")
    assert list(slider.options) == [str(e) for e in range(1, epochs + 1)]
    assert f"After epoch {epochs}: the first layer's weights and the map of 500" in shown(at)
    slider.set_value(1).run()
    assert "After epoch 1:" in shown(at)
