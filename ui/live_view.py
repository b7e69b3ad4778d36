"""The Train page's view of a job: live while it runs, a summary once it has ended.

Watching must cost training almost nothing: the job runs in a thread of this server, and every
rerun here competes with it for the CPU and the GIL. So the progress line refreshes once a second
and draws only a bar and text; the charts refresh less often and only when new points exist.
"""

from __future__ import annotations

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
    """Progress bar, numbers and the Stop button; a full rerun once the job has ended."""
    p = job.snapshot()
    if not p.active:
        st.rerun()
    st.progress(progress_fraction(p), text=progress_text(p))
    st.caption(f"{p.samples_seen:,} digits seen · {_duration(p.seconds_elapsed)} so far")
    if p.status == "stopping":
        st.caption("Stopping after this batch…")
    elif st.button("Stop", key="train_stop", icon=":material/stop_circle:"):
        job.stop()
        st.caption("Stopping after this batch…")


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
