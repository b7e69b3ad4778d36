"""In a real browser: a trained model downloaded and uploaded back; old SavedModel and checkpoint."""

import re
from pathlib import Path

import keras
import pytest
from playwright.sync_api import expect

from core.data import load_mnist, to_model_input
from tests.browser.conftest import (
    assert_no_exception,
    build_preset,
    go_to,
    screenshot,
    start_training,
    wait_for_app,
)

pytestmark = pytest.mark.browser


def test_download_keras_and_upload_it_back(page, app_url, tmp_path):
    build_preset(page, app_url, "Tutorial MLP 512 + Dropout (Adam)")
    go_to(page, "Train")
    start_training(page, "1,000 (seconds)", epochs=2)
    expect(page.get_by_text("Training finished")).to_be_visible(timeout=180_000)
    trained = page.get_by_test_id("stMetric").filter(has_text="Test accuracy")
    accuracy = re.search(r"(\d+\.\d+)%", trained.inner_text()).group(1)

    go_to(page, "Save")
    # The loading lines come when asked for: Streamlit's code block is heavy JavaScript.
    expect(page.get_by_test_id("stCode")).to_have_count(0)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Whole model (.keras)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(f"-acc{float(accuracy) / 100:.3f}.keras")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    wait_for_app(page)
    screenshot(page, "save")
    page.locator(".st-key-save_code_keras").get_by_role("button").click()
    code = page.get_by_test_id("stCode")
    expect(code).to_have_count(1)
    expect(code).to_contain_text(f'model = keras.models.load_model("{saved.name}")')
    screenshot(page, "save-load-code", full_page=False)
    page.keyboard.press("Escape")

    # The best epoch's weights (kept by default), read from the run when clicked.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Best checkpoint of the last run").click()
    best = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(best)
    assert best.name.endswith("-best.weights.h5")
    model = keras.models.load_model(saved, compile=False)
    model.load_weights(best)
    digits = load_mnist()
    x = to_model_input(digits.x_test[:1000], model.input_shape[1:]).astype("float32")
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    assert (predicted == digits.y_test[:1000]).mean() > 0.5  # trained: untrained is ~0.1
    wait_for_app(page)

    # The Runs page lists the run in its table and hands out the same checkpoint.
    go_to(page, "Runs")
    # The data grid draws on a canvas; its accessible copy of the visible cells holds the text.
    expect(page.get_by_test_id("stDataFrame")).to_contain_text(f"{accuracy}%")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Best checkpoint (.weights.h5)").click()
    again = tmp_path / "from-runs.weights.h5"
    download_info.value.save_as(again)
    assert again.read_bytes() == best.read_bytes()
    wait_for_app(page)

    go_to(page, "Evaluate")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(saved))
    report = page.get_by_test_id("stMetric").filter(has_text="Test accuracy")
    expect(report).to_contain_text(f"{accuracy}%", timeout=120_000)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    assert_no_exception(page)
    screenshot(page, "evaluate")


def test_upload_zipped_savedmodel_and_checkpoint_group(page, app_url):
    made = Path(__file__).resolve().parent.parent / "fixtures" / "old_keras" / "tf2.15.1"
    page.goto(app_url)
    wait_for_app(page)
    go_to(page, "Evaluate")
    names = ["mlp_savedmodel.zip", "cnn.json", "cnn_cp.ckpt.index"]
    names.append("cnn_cp.ckpt.data-00000-of-00001")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([made / n for n in names])
    ranking = page.get_by_test_id("stDataFrame").first
    expect(ranking).to_be_visible(timeout=180_000)
    report = page.get_by_test_id("stMetric").filter(has_text="Test accuracy")
    expect(report).to_contain_text("%", timeout=60_000)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    assert_no_exception(page)
    screenshot(page, "evaluate-savedmodel-checkpoint")
