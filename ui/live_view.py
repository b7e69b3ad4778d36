"""The Train page's view of a job: live while it runs, a summary once it has ended.

Watching must cost training almost nothing: the job runs in a thread of this server, and every
rerun here, and every repaint in a browser on the same machine, competes with it for the CPU. So the
progress refreshes once a second as one small HTML element (st.progress animates every change,
which costs a headless browser several times more), the Stop button stays outside the refreshed
part, and the charts refresh less often with at most a few hundred points each.
"""

from __future__ import annotations

from html import escape

import streamlit as st

from core.training import Progress, TrainingJob
from ui.charts import batch_loss_curve, epoch_curves

PROGRESS_EVERY = 1.0  # seconds between progress refreshes
CURVES_EVERY = 3.0  # seconds between chart refreshes


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def progress_text(p: Progress) -> str:
    """'Epoch 2/5 · batch 120/422 · 4,310 digits/s · 9 s left · lr 0.00100'."""
    if p.status == "queued":
        return f"Waiting for a free trainer: number {p.queue_position} in the queue."
    if p.phase != "training":
        return {
            "preparing": "Preparing the data and the model…",
            "evaluating": "Testing on the 10,000 test digits…",
            "saving": "Saving the run…",
        }.get(p.phase, p.phase)  # noqa: E501
    parts = [f"Epoch {max(p.epoch, 1)}/{p.epochs}", f"batch {p.batch}/{p.batches_per_epoch}"]
    if p.samples_per_second:
        parts.append(f"{p.samples_per_second:,.0f} digits/s")
    parts.append(f"{_duration(p.seconds_left)} left")
    if p.learning_rate is not None:
        parts.append(f"learning rate {p.learning_rate:.5f}")
    return " · ".join(parts)


def progress_fraction(p: Progress) -> float:
    epochs_in_job = p.epochs - p.initial_epoch
    done = (max(p.epoch, 1) - 1 - p.initial_epoch) * p.batches_per_epoch + p.batch
    return min(1.0, max(0.0, done / max(1, epochs_in_job * p.batches_per_epoch)))


def progress_html(p: Progress) -> str:
    """The progress bar and its two lines of text as one static HTML block (no animation)."""
    percent = 100 * progress_fraction(p)
    status = "Stopping after this batch…" if p.status == "stopping" else progress_text(p)
    seen = f"{p.samples_seen:,} digits seen · {_duration(p.seconds_elapsed)} so far"
    return (
        '<div class="train-progress" style="contain: content">'
        f'<p style="margin: 0 0 0.4rem">{escape(status)}</p>'
        f'<div role="progressbar" aria-label="Training progress" aria-valuemin="0" '
        f'aria-valuemax="100" aria-valuenow="{percent:.0f}" '
        'style="height: 0.5rem; border-radius: 0.25rem; background: #e6ebf3">'
        f'<div style="height: 100%; width: {percent:.1f}%; border-radius: 0.25rem; '
        'background: #2f6fde"></div></div>'
        f'<p style="margin: 0.4rem 0 0; font-size: 0.875rem; opacity: 0.7">{escape(seen)}</p>'
        "</div>"
    )


def curves(p: Progress, key: str) -> None:
    """Loss and accuracy per epoch, and the loss batch by batch."""
    loss_col, accuracy_col, batch_col = st.columns(3)
    history = dict(p.history)
    if history:
        loss_col.plotly_chart(epoch_curves(history, "loss"), key=f"{key}_loss")
        accuracy_col.plotly_chart(epoch_curves(history, "accuracy"), key=f"{key}_accuracy")
    else:
        loss_col.caption("The epoch curves appear when the first epoch ends.")
    if p.batch_losses:
        batch_col.plotly_chart(
            batch_loss_curve(p.batch_losses, p.batches_per_epoch), key=f"{key}_batches"
        )


@st.fragment(run_every=PROGRESS_EVERY)
def live_progress(job: TrainingJob) -> None:
    """The progress of a running job; a full rerun once it has ended."""
    p = job.snapshot()
    if not p.active:
        st.rerun()
    st.html(progress_html(p))


@st.fragment(run_every=CURVES_EVERY)
def live_curves(job: TrainingJob) -> None:
    curves(job.snapshot(), "train_live")


def summary(p: Progress) -> None:
    """How the job ended, its final and best metrics, test accuracy and wall time."""
    if p.status == "failed":
        st.error(p.message or "The training failed.", icon=":material/error:")
        return
    s = p.summary
    verdict = {"finished": "Training finished", "stopped": "Training stopped"}.get(
        p.status, p.status
    )
    st.success(f"{verdict}: {p.message}" if p.message else verdict, icon=":material/check_circle:")
    if s is None:
        return
    test, best, final, wall = st.columns(4)
    if s.test_accuracy is not None:
        test.metric(
            "Test accuracy", f"{s.test_accuracy:.2%}", f"loss {s.test_loss:.4f}", delta_color="off"
        )
    if s.best_epoch is not None and s.best_monitor:
        best.metric(
            f"Best {s.best_monitor}",
            f"{s.best.get(s.best_monitor, float('nan')):.4f}",
            f"epoch {s.best_epoch}",
            delta_color="off",
        )  # noqa: E501
    if "accuracy" in s.final:
        final.metric("Final training accuracy", f"{s.final['accuracy']:.2%}")
    wall.metric(
        "Wall time",
        _duration(s.wall_seconds),
        f"{_duration(s.train_seconds)} training",
        delta_color="off",
    )
