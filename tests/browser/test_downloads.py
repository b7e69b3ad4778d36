"""In a real browser: prepare the ONNX download, save it, and run it in onnxruntime like Keras."""

import keras
import numpy as np
import onnxruntime
import pytest
from playwright.sync_api import expect

from core.data import load_mnist, to_model_input
from tests.browser.conftest import (
    assert_no_exception,
    build_preset,
    go_to,
    screenshot,
    wait_for_app,
)

pytestmark = pytest.mark.browser


def download(page, button_name: str, folder):
    with page.expect_download() as info:
        page.get_by_role("button", name=button_name).click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    # A download button reruns the page; a click while it reruns can be lost (seen once in CI).
    wait_for_app(page)
    return path


def test_prepare_onnx_and_run_it_in_onnxruntime(page, app_url, tmp_path):
    build_preset(page, app_url, "Tutorial MLP 512 + Dropout (Adam)")
    go_to(page, "Save")
    page.get_by_role("button", name="Prepare ONNX (.onnx)").click()
    expect(page.get_by_role("button", name="Download ONNX (.onnx)")).to_be_visible(timeout=120_000)
    assert_no_exception(page)
    screenshot(page, "save-runtimes")

    onnx_file = download(page, "Download ONNX (.onnx)", tmp_path)
    keras_file = download(page, "Whole model (.keras)", tmp_path)
    assert onnx_file.name.endswith(".onnx")

    model = keras.models.load_model(keras_file, compile=False)
    x = to_model_input(load_mnist().x_test[:1000], model.input_shape[1:]).astype("float32")
    expected = model.predict(x, verbose=0)
    got = onnxruntime.InferenceSession(onnx_file).run(None, {"digits": x})[0]
    assert np.abs(got - expected).max() <= 1e-4
    assert np.array_equal(got.argmax(axis=1), expected.argmax(axis=1))
