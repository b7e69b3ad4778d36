"""The live view's cheap parts: the progress block and the thinned batch-loss curve."""

from types import MappingProxyType

import pytest

from core.training import Progress
from ui.charts import batch_loss_curve, thin_points
from ui.live_view import progress_html


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
