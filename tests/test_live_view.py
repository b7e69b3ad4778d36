"""The live view's cheap parts: the progress block, the thinned batch-loss curve, the cached
epoch curves, the live curves as SVG."""

import base64
import gc
import re
import weakref
from types import MappingProxyType

import pytest
from streamlit.testing.v1 import AppTest

from core.presets import PRESETS
from core.training import Progress, TrainConfig
from core.training.config import ConfigError
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_page, texts
from ui.charts import LIVE_FIGURES, MAX_DRAWN_POINTS, batch_loss_curve, epoch_curves, thin_points
from ui.live_charts import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, live_curves_html, nice_ticks
from ui.live_view import progress_html
from ui.state import ActiveModel, Keys


def progress(**changes) -> Progress:
    values = dict(
        status="running", queue_position=None, message="", phase="training", epoch=2, epochs=4,
        initial_epoch=0, batch=50, batches_per_epoch=100, samples_seen=4_800,
        samples_per_second=3_000.0, seconds_elapsed=2.0, seconds_left=4.0, learning_rate=0.001,
        history=MappingProxyType({}), batch_losses=(), summary=None, run_dir="runs/x",
    )  # fmt: skip
    return Progress(**(values | changes))


def test_progress_block_shows_where_training_is():
    html = progress_html(progress())
    assert "Epoch 2/4 · batch 50/100 · 3,000 digits/s · 4 s left" in html
    assert 'aria-valuenow="38"' in html and "width: 37.5%" in html  # 150 of 400 batches
    assert "4,800 digits seen" in html
    stopping = progress_html(progress(status="stopping"))
    assert "Stopping after this batch" in stopping and "digits/s" not in stopping
    queued = progress_html(progress(status="queued", queue_position=2, phase="waiting"))
    assert "number 2 in the queue" in queued


def test_thinning_keeps_the_curve_and_the_mean():
    points = [(batch, float(batch % 7)) for batch in range(1, 1001)]
    thinned = thin_points(points, 300)
    assert len(thinned) <= 300
    assert thinned[-1][0] == 1000 and [b for b, _ in thinned] == sorted(b for b, _ in thinned)
    # Equal groups of 4 here: the mean of the thinned curve is the mean of the original.
    mean = sum(loss for _, loss in points) / len(points)
    assert sum(loss for _, loss in thinned) / len(thinned) == pytest.approx(mean)
    assert thin_points(points[:10], 300) == points[:10]
    assert len(batch_loss_curve(points, 100).data[0].x) == len(thinned)


def test_epoch_curves_are_reused_but_only_the_latest_are_kept():
    # The live view asks for the same history every second: it gets the figure it had. A server
    # that has run many trainings keeps only the newest figures (~50-70 KB each), not all of them.
    history = {"loss": [0.9, 0.4], "val_loss": [0.8, 0.5]}
    assert epoch_curves(history, "loss") is epoch_curves(dict(history), "loss")
    figures = [weakref.ref(epoch_curves({"loss": [float(n)]}, "loss")) for n in range(100)]
    gc.collect()
    alive = [figure for figure in figures if figure() is not None]
    assert 0 < len(alive) <= LIVE_FIGURES
    assert figures[-1]() is not None


def test_the_train_page_speaks_korean():
    from core.build import build_model

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = "ko"
    at.run()
    spec = PRESETS["mlp_sgd"].spec
    at.session_state[Keys.ACTIVE_MODEL] = ActiveModel(build_model(spec), spec.name, "built", spec)
    at = open_page("train", at)
    assert at.title[0].value == "학습"
    assert "파라미터" in texts(at) and "학습 시작을 누르세요" in texts(at)
    assert by_key(at.button, "train_start").label == "학습 시작"
    # A setting that cannot work is refused in Korean, not with an exception.
    by_key(at.selectbox, "train_subset").select(1_000).run()
    by_key(at.selectbox, "train_validation").set_value("none").run()
    by_key(at.checkbox, "train_early_stopping").check().run()
    by_key(at.selectbox, "train_early_monitor").set_value("val_loss").run()
    by_key(at.button, "train_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("검증 데이터가 있어야 합니다" in e.value for e in at.error), [
        e.value for e in at.error
    ]


def test_config_errors_carry_their_message_in_both_languages():
    with pytest.raises(ConfigError) as caught:
        TrainConfig(epochs=0).check()
    assert str(caught.value) == "Train for at least 1 epoch."
    assert caught.value.message.render("ko") == "에포크는 1 이상이어야 합니다."


def pictures(html: str) -> list[str]:
    """The SVG of each image in the live curves' HTML."""
    found = re.findall(r'src="data:image/svg\+xml;base64,([^"]*)"', html)
    return [base64.b64decode(data).decode() for data in found]


def polylines(svg: str) -> list[list[tuple[float, float]]]:
    """The points of each line drawn in an SVG picture."""
    return [
        [tuple(map(float, point.split(","))) for point in points.split()]
        for points in re.findall(r'<polyline points="([^"]*)"', svg)
    ]


def test_nice_ticks_are_round_and_inside_the_range():
    assert nice_ticks(0.0, 4.0) == [0, 1, 2, 3, 4]
    assert nice_ticks(0.23, 2.31, 4) == [0.5, 1.0, 1.5, 2.0]
    assert nice_ticks(0.0, 30.0) == [0, 10, 20, 30]
    ticks = nice_ticks(0.9712, 0.9893, 4)
    assert 2 <= len(ticks) <= 5 and all(0.9712 <= tick <= 0.9893 for tick in ticks)
    assert nice_ticks(0.5, 0.5) == [0.5]


def test_live_curves_are_svg_lines_inside_their_plots():
    history = {
        "loss": [0.9, 0.4, 0.3], "val_loss": [0.8, 0.5, 0.45],
        "accuracy": [0.7, 0.9, 0.95], "val_accuracy": [0.75, 0.88, 0.9],
    }  # fmt: skip
    losses = tuple((batch, 2.0 / batch) for batch in range(1, 1001))
    html = live_curves_html(
        progress(history=MappingProxyType(history), batch_losses=losses, batches_per_epoch=400)
    )
    # Images, not inline SVG (st.html removes that), with their titles for screen readers.
    assert html.count("<img") == 3 and "<svg" not in html and "<script" not in html
    for title in ('alt="loss"', 'alt="accuracy"', 'alt="loss per batch"'):
        assert title in html
    svgs = pictures(html)
    assert all(svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') for svg in svgs)
    lines = [line for svg in svgs for line in polylines(svg)]
    assert [len(line) for line in lines[:4]] == [3, 3, 3, 3]  # training and validation, twice
    assert 200 <= len(lines[4]) <= MAX_DRAWN_POINTS  # the batch loss, thinned
    assert "".join(svgs).count("<circle") == 12  # each epoch's value marked
    plot_right, plot_bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    for line in lines:
        assert all(LEFT <= x <= plot_right and TOP <= y <= plot_bottom for x, y in line)
        assert line[-1][0] == pytest.approx(plot_right, abs=0.1)  # the last point at the right
    # Loss falls from left to right: the line goes down the picture (SVG's y grows downwards).
    assert lines[0][0][1] < lines[0][-1][1] and lines[4][0][1] < lines[4][-1][1]


def test_live_curves_before_the_first_epoch_and_in_korean(monkeypatch):
    losses = ((1, 2.3), (2, 2.1), (3, 1.9))
    html = live_curves_html(progress(batch_losses=losses))
    assert len(pictures(html)) == 1 and "The epoch curves appear when the first epoch ends." in html
    monkeypatch.setattr("ui.i18n.language", lambda: "ko")
    html = live_curves_html(
        progress(history=MappingProxyType({"loss": [0.5]}), batch_losses=losses)
    )
    assert 'alt="손실"' in html and 'alt="배치별 손실"' in html
    assert all(">에포크<" in svg for svg in pictures(html))


def test_the_live_curves_are_redrawn_every_few_seconds_and_at_once_for_another_run(monkeypatch):
    # The live view refreshes once a second; its curves are drawn anew every CURVES_EVERY seconds
    # and sent unchanged in between (the browser skips an unchanged picture).
    import streamlit as st

    from ui import live_view

    clock = [100.0]
    monkeypatch.setattr(live_view.time, "monotonic", lambda: clock[0])
    st.session_state.pop(live_view.LIVE_CURVES, None)
    first = live_view.current_curves_html(progress(batch_losses=((1, 2.0), (2, 1.5))))
    later = progress(batch_losses=((1, 2.0), (2, 1.5), (3, 0.1)))
    clock[0] += live_view.LIVE_EVERY
    assert live_view.current_curves_html(later) == first
    clock[0] += live_view.CURVES_EVERY - live_view.LIVE_EVERY
    assert live_view.current_curves_html(later) == live_curves_html(later) != first
    other_run = progress(run_dir="runs/y", batch_losses=((1, 0.5),))
    assert live_view.current_curves_html(other_run) == live_curves_html(other_run)
    continued = progress(run_dir="runs/y", initial_epoch=4, epochs=6, batch_losses=((401, 0.2),))
    assert live_view.current_curves_html(continued) == live_curves_html(continued)
