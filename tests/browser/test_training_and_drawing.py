"""In a real browser: train while clicking around, stop, refresh; then draw a digit on the canvas."""

import re

import pytest
from playwright.sync_api import Page, WebSocket, expect
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.browser.conftest import (
    assert_no_exception,
    build_preset,
    go_to,
    screenshot,
    start_training,
    wait_for_app,
)

pytestmark = pytest.mark.browser


def progress_batches(page: Page) -> int:
    text = page.locator(".train-progress").inner_text()
    match = re.search(r"Epoch (\d+)/\d+ · batch (\d+)/(\d+)", text)
    if not match:
        return 0
    epoch, batch, per_epoch = map(int, match.groups())
    return (epoch - 1) * per_epoch + batch


def record_reruns(page: Page) -> list[BackMsg]:
    """Every rerun request the page sends the server over its websocket, from now on."""
    sent: list[BackMsg] = []

    def listen(ws: WebSocket) -> None:
        def keep(payload: bytes | str) -> None:
            if isinstance(payload, bytes):
                message = BackMsg.FromString(payload)
                if message.WhichOneof("type") == "rerun_script":
                    sent.append(message)

        ws.on("framesent", keep)

    page.on("websocket", listen)
    return sent


def pressed(reruns: list[BackMsg], key: str) -> list[BackMsg]:
    """The rerun requests that pressed the button with this key."""
    return [
        m
        for m in reruns
        for w in m.rerun_script.widget_states.widgets
        if w.id.endswith(f"-{key}") and w.trigger_value
    ]


def record_feed_fetches(page: Page) -> list[int]:
    """The HTTP status of each fetch of a live-progress feed (ui/live_feed.py), from now on."""
    statuses: list[int] = []
    page.on(
        "response", lambda response: "/app/static/live/" in response.url and statuses.append(
            response.status
        )
    )  # fmt: skip
    return statuses


def test_train_switch_pages_stop_and_refresh(page, app_url):
    reruns = record_reruns(page)
    feed_fetches = record_feed_fetches(page)
    build_preset(page, app_url, "Tutorial MLP 784-64-10 (SGD)")
    learning_rate = page.get_by_label("Learning rate", exact=True)
    learning_rate.fill("0.0500")
    learning_rate.press("Enter")
    wait_for_app(page)
    name = page.get_by_label("Network name", exact=True)
    name.fill("my first net")
    name.press("Enter")
    wait_for_app(page)
    go_to(page, "Train")
    start_training(page, "10,000", epochs=30)
    expect(page.locator(".train-progress")).to_contain_text("batch", timeout=60_000)
    first, fetched = progress_batches(page), len(feed_fetches)
    page.wait_for_timeout(2500)
    assert progress_batches(page) > first, "the progress bar did not advance"
    # Between the live view's fragment runs (3 s apart) the page fetches the progress itself.
    assert feed_fetches[fetched:].count(200) >= 2, feed_fetches
    # Live, the curves are light SVG pictures; the batch-loss one comes with the first refresh.
    picture = page.locator(".train-curves img").first
    expect(picture).to_be_visible(timeout=60_000)
    expect(picture).to_have_attribute("src", re.compile("^data:image/svg"))
    assert picture.evaluate("img => img.complete && img.naturalWidth") > 0, "the picture is empty"
    screenshot(page, "train-live")
    # Leave and come back while it trains: the live view picks the job up again.
    go_to(page, "Inspect")
    go_to(page, "Train")
    expect(page.locator(".train-progress")).to_contain_text("batch", timeout=30_000)
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Training stopped")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(1500)  # a fetch under way may still end
    fetched = len(feed_fetches)
    page.wait_for_timeout(2500)
    assert len(feed_fetches) == fetched, "the page still fetches the progress of an ended training"
    # Stop reran only its own fragment, not the whole page with its charts and settings.
    (stop,) = pressed(reruns, "train_stop")
    assert stop.rerun_script.fragment_id
    assert (
        pressed(reruns, "train_start")
        and not pressed(reruns, "train_start")[0].rerun_script.fragment_id
    )
    expect(page.get_by_test_id("stSidebar")).to_contain_text("trained")
    expect(page.locator(".js-plotly-plot").first).to_be_visible()  # interactive once it has ended
    screenshot(page, "train-stopped")
    # The live view's fragment runs once made Streamlit drop kept widget values (a learning rate
    # of 0 and a disabled Build button); the settings must still be the learner's.
    go_to(page, "Build")
    expect(page.get_by_label("Learning rate", exact=True)).to_have_value("0.0500")
    expect(page.get_by_label("Network name", exact=True)).to_have_value("my first net")
    expect(page.get_by_role("button", name="Build model")).to_be_enabled()
    go_to(page, "Train")
    expect(page.get_by_label("Epochs", exact=True)).to_have_value("30")
    # A refresh keeps ?session=... in the address, so the run is listed again.
    assert "session=" in page.url
    page.reload()
    wait_for_app(page)
    go_to(page, "Runs")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    assert_no_exception(page)
    screenshot(page, "runs-after-refresh")


def draw_stroke(page: Page, points: list[tuple[int, int]]) -> None:
    canvas = page.get_by_test_id("stBidiComponentIsolated").locator("canvas.upper-canvas")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
    page.mouse.up()


def test_draw_a_one_on_the_canvas(page, app_url):
    build_preset(page, app_url, "Tutorial MLP 512 + Dropout (Adam)")
    go_to(page, "Train")
    start_training(page, "10,000", epochs=2)
    expect(page.get_by_text("Training finished")).to_be_visible(timeout=180_000)
    go_to(page, "Draw")
    expect(page.get_by_text("The canvas is empty")).to_be_visible()
    draw_stroke(page, [(140, 40), (140, 120), (141, 200), (141, 240)])
    expect(page.get_by_test_id("stMetric")).to_contain_text("The model reads", timeout=30_000)
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("1")
    expect(page.get_by_text("28×28, centred like MNIST")).to_be_visible()
    assert_no_exception(page)
    screenshot(page, "draw-one")
    # The README's picture (scripts/readme_picture.sh copies it to docs/images/draw.png).
    page.set_viewport_size({"width": 1280, "height": 860})
    page.get_by_role("heading", name="Draw a digit").scroll_into_view_if_needed()
    screenshot(page, "readme-draw", full_page=False)
