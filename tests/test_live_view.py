"""The live view's cheap parts: the progress block and its feed, the thinned batch-loss curve, the
cached epoch curves, the live curves as SVG."""

import base64
import gc
import re
import time
import weakref
from functools import partial
from types import MappingProxyType

import pytest
from streamlit.testing.v1 import AppTest

from core.presets import PRESETS
from core.training import Progress, TrainConfig
from core.training.config import ConfigError
from tests.apptest_helpers import APP, TIMEOUT, by_key, open_page, texts
from ui.charts import LIVE_FIGURES, MAX_DRAWN_POINTS, batch_loss_curve, epoch_curves, thin_points
from ui.live_charts import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, live_curves_html, nice_ticks
from ui.live_feed import LiveFeeds
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
    html = progress_html(progress(), "en")
    assert "Epoch 2/4 · batch 50/100 · 3,000 digits/s · 4 s left" in html
    assert 'aria-valuenow="38"' in html and "width: 37.5%" in html  # 150 of 400 batches
    assert "4,800 digits seen" in html
    stopping = progress_html(progress(status="stopping"), "en")
    assert "Stopping after this batch" in stopping and "digits/s" not in stopping
    queued = progress_html(progress(status="queued", queue_position=2, phase="waiting"), "en")
    assert "number 2 in the queue" in queued
    # In the language asked for: the feed's thread has no session to read it from.
    assert "에포크 2/4 · 배치 50/100" in progress_html(progress(), "ko")
    # A later drawing says so: the page keeps whichever of the feed's and the fragment's is newer.
    drawn_at = [float(re.search(r'data-at="([0-9.]+)"', progress_html(progress(), "en"))[1])]
    time.sleep(0.01)
    drawn_at.append(float(re.search(r'data-at="([0-9.]+)"', progress_html(progress(), "en"))[1]))
    assert drawn_at[0] < drawn_at[1]


class FakeJob:
    """A training handle whose progress the test sets."""

    def __init__(self) -> None:
        self.progress = progress()

    def snapshot(self) -> Progress:
        return self.progress


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_feed_is_rewritten_while_its_training_runs_and_removed_when_it_ends(tmp_path):
    feeds, job = LiveFeeds(tmp_path / "live", every=0.05), FakeJob()
    file = tmp_path / "live" / "token1.html"
    assert feeds.watch("token1", job, partial(progress_html, lang="ko"))
    assert "배치 50/100" in file.read_text()  # written at once, in the learner's language
    job.progress = progress(batch=60)
    assert wait_for(lambda: "배치 60/100" in file.read_text())
    assert not list(file.parent.glob(".*"))  # written under another name, then renamed
    # The page's fragment renews the feed while the thread writes it: neither write fails.
    feeds.every = 0.0001
    for _ in range(500):
        assert feeds.watch("token1", job, partial(progress_html, lang="ko"))
    feeds.every = 0.05
    job.progress = progress(status="finished")
    assert wait_for(lambda: not file.exists())


def test_a_handle_that_cannot_answer_ends_only_its_own_feed(tmp_path):
    feeds, good, bad = LiveFeeds(tmp_path, every=0.05), FakeJob(), FakeJob()
    render = partial(progress_html, lang="en")
    assert feeds.watch("good", good, render) and feeds.watch("bad", bad, render)

    def unreachable() -> Progress:
        raise ConnectionError("the Ray head is away")

    bad.snapshot = unreachable
    assert wait_for(lambda: not (tmp_path / "bad.html").exists())
    good.progress = progress(batch=70)
    assert wait_for(lambda: "batch 70/100" in (tmp_path / "good.html").read_text())


def test_a_feed_nobody_asks_for_ends(tmp_path, monkeypatch):
    monkeypatch.setattr("ui.live_feed.FEED_LIFETIME", 0.2)
    feeds = LiveFeeds(tmp_path, every=0.05)
    assert feeds.watch("left", FakeJob(), partial(progress_html, lang="en"))
    assert (tmp_path / "left.html").exists()
    assert wait_for(lambda: not (tmp_path / "left.html").exists())


def test_a_feed_that_cannot_be_written_says_so(tmp_path):
    (tmp_path / "taken").write_text("a file where the folder should be")
    feeds = LiveFeeds(tmp_path / "taken" / "live")
    assert not feeds.watch("token", FakeJob(), partial(progress_html, lang="en"))


def test_abandoned_feeds_are_removed_and_live_ones_kept(tmp_path):
    import os

    old, live = tmp_path / "old.html", tmp_path / "other-server.html"
    old.write_text("x")
    live.write_text("y")
    os.utime(old, (time.time() - 120, time.time() - 120))
    LiveFeeds(tmp_path, every=0.05).watch("mine", FakeJob(), partial(progress_html, lang="en"))
    assert not old.exists() and live.exists() and (tmp_path / "mine.html").exists()


def test_the_page_keeps_one_feed_per_training_it_shows(monkeypatch, tmp_path):
    import streamlit as st

    from ui import live_view

    feeds = LiveFeeds(tmp_path)
    monkeypatch.setattr(live_view, "live_feeds", lambda: feeds)
    st.session_state.pop(live_view.LIVE_FEED, None)
    job = FakeJob()
    first = live_view.fed_progress_html(job, job.progress, "en")
    token = re.search(r'id="feed-([\w-]+)"', first)[1]
    assert f'fetch("app/static/live/{token}.html"' in first
    assert (tmp_path / f"{token}.html").exists()
    again = live_view.fed_progress_html(job, job.progress, "en")
    assert f'id="feed-{token}"' in again  # the same feed for the same training
    # A switch to Korean while it trains: a feed that speaks Korean.
    korean = live_view.fed_progress_html(job, job.progress, "ko")
    korean_token = re.search(r'id="feed-([\w-]+)"', korean)[1]
    assert korean_token != token and "배치 50/100" in korean
    assert "배치 50/100" in (tmp_path / f"{korean_token}.html").read_text()
    job.progress = progress(run_dir="runs/y")
    other = live_view.fed_progress_html(job, job.progress, "en")
    assert f'id="feed-{token}"' not in other and "<script>" in other
    # Where the feed cannot be written, the progress as drawn now, without a script.
    monkeypatch.setattr(feeds, "watch", lambda *args: False)
    plain = live_view.fed_progress_html(job, job.progress, "en")
    assert "<script>" not in plain and "Epoch 2/4" in plain


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
