"""The Train page's view of a job: live while it runs, a summary once it has ended.

Watching must cost training almost nothing: the job may run in a thread of this server, and every
rerun here, and every repaint in a browser on the same machine, competes with it for the CPU. So the
live view is one fragment, refreshed once a second: the progress as one small HTML element
(st.progress animates every change, which costs a headless browser several times more) and the
curves as static SVG pictures (ui.live_charts), redrawn every few seconds and sent unchanged in
between, which the browser skips. A Plotly chart whose figure changed is mounted anew in the
browser, which made up two thirds of what watching cost Chromium (bench/watch_cpu.py). One fragment,
not one for each: two fragments' runs queue behind each other, which held the progress back up to
2 s. The Stop button stays outside the refreshed part (in a fragment of its own: pressing it reruns
only the button, not the page with its charts). The finished view shows the interactive Plotly
charts.
"""

from __future__ import annotations

import time
from html import escape

import streamlit as st

from core.engine import TrainingHandle
from core.training import Progress
from ui.charts import batch_loss_curve, epoch_curves
from ui.i18n import t, tm
from ui.live_charts import live_curves_html
from ui.session import stop_current_job

LIVE_EVERY = 1.0  # seconds between refreshes of the live view
CURVES_EVERY = 3.0  # seconds between redraws of its curves
LIVE_CURVES = "live_curves"  # session key: (job drawn, monotonic time drawn, HTML)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    minutes, seconds = divmod(int(round(seconds)), 60)
    if minutes:
        return t("train.minutes_seconds", minutes=minutes, seconds=seconds)
    return t("train.seconds", seconds=seconds)


def progress_text(p: Progress) -> str:
    """'Epoch 2/5 · batch 120/422 · 4,310 digits/s · 9 s left · lr 0.00100'."""
    if p.status == "queued":
        return t("train.queued", position=p.queue_position)
    if p.phase != "training":
        phases = {
            "preparing": t("train.phase_preparing"),
            "evaluating": t("train.phase_evaluating"),
            "saving": t("train.phase_saving"),
        }
        return phases.get(p.phase, p.phase)
    parts = [
        t("train.progress_epoch", epoch=max(p.epoch, 1), epochs=p.epochs),
        t("train.progress_batch", batch=p.batch, batches=p.batches_per_epoch),
    ]
    if p.samples_per_second:
        parts.append(t("train.progress_rate", rate=p.samples_per_second))
    parts.append(t("train.progress_left", duration=_duration(p.seconds_left)))
    if p.learning_rate is not None:
        parts.append(t("train.progress_lr", lr=p.learning_rate))
    return " · ".join(parts)


def progress_fraction(p: Progress) -> float:
    epochs_in_job = p.epochs - p.initial_epoch
    done = (max(p.epoch, 1) - 1 - p.initial_epoch) * p.batches_per_epoch + p.batch
    return min(1.0, max(0.0, done / max(1, epochs_in_job * p.batches_per_epoch)))


def progress_html(p: Progress) -> str:
    """The progress bar and its two lines of text as one static HTML block (no animation)."""
    percent = 100 * progress_fraction(p)
    status = t("train.stopping") if p.status == "stopping" else progress_text(p)
    seen = t("train.seen", samples=p.samples_seen, duration=_duration(p.seconds_elapsed))
    return (
        '<div class="train-progress" style="contain: content">'
        f'<p style="margin: 0 0 0.4rem">{escape(status)}</p>'
        f'<div role="progressbar" aria-label="{escape(t("train.progress_label"))}" aria-valuemin="0" '
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
        loss_col.caption(t("train.curves_later"))
    if p.batch_losses:
        batch_col.plotly_chart(
            batch_loss_curve(p.batch_losses, p.batches_per_epoch), key=f"{key}_batches"
        )


@st.fragment(run_every=LIVE_EVERY)
def live_view(job: TrainingHandle, queued: bool) -> None:
    """The progress of a job (or its place in the queue) and its curves; a full rerun once it has
    ended, or has left the queue when the page was drawn for a queued job (no curves yet)."""
    p = job.snapshot()
    if not p.active or (queued and p.status != "queued"):
        st.rerun()
    st.html(progress_html(p))
    if not queued:
        st.html(current_curves_html(p))


def current_curves_html(p: Progress) -> str:
    """The live curves, redrawn once CURVES_EVERY seconds have passed since their last drawing."""
    now, job = time.monotonic(), (p.run_dir, p.initial_epoch)  # a continuation is another job
    drawn_for, drawn_at, html = st.session_state.get(LIVE_CURVES, (None, 0.0, ""))
    # Half a refresh early: fragment runs come a little later than their interval.
    if drawn_for != job or now - drawn_at >= CURVES_EVERY - LIVE_EVERY / 2:
        html = live_curves_html(p)
        st.session_state[LIVE_CURVES] = job, now, html
    return html


@st.fragment
def stop_button(job: TrainingHandle) -> None:
    """Stop, disabled once pressed. Its own fragment: a whole Train page run (settings, sidebar,
    charts) took up to 1.9 s on a busy server, far longer than the training takes to stop; a
    training that has ended meanwhile (a queued one is cancelled at once) shows its end now."""
    p = job.snapshot()
    if not p.active:
        st.rerun()
    st.button(
        t("train.stop"),
        key="train_stop",
        on_click=stop_current_job,
        disabled=p.status == "stopping",
        icon=":material/stop_circle:",
        help=t("train.stop_help"),
    )


def summary(p: Progress) -> None:
    """How the job ended, its final and best metrics, test accuracy and wall time."""
    if p.status == "failed":
        st.error(tm(p.message) if p.message else t("train.failed"), icon=":material/error:")
        return
    s = p.summary
    verdict = {"finished": t("train.finished"), "stopped": t("train.stopped")}.get(
        p.status, p.status
    )
    if p.message:
        verdict = t("train.verdict_with_message", verdict=verdict, message=tm(p.message))
    st.success(verdict, icon=":material/check_circle:")
    if s is None:
        return
    test, best, final, wall = st.columns(4)
    if s.test_accuracy is not None:
        test.metric(
            t("train.test_accuracy"),
            f"{s.test_accuracy:.2%}",
            t("train.test_loss", loss=s.test_loss),
            delta_color="off",
            delta_arrow="off",
        )
    if s.best_epoch is not None and s.best_monitor:
        best.metric(
            t("train.best_metric", metric=s.best_monitor),
            f"{s.best.get(s.best_monitor, float('nan')):.4f}",
            t("train.best_epoch", epoch=s.best_epoch),
            delta_color="off",
            delta_arrow="off",
        )
    if "accuracy" in s.final:
        final.metric(t("train.final_accuracy"), f"{s.final['accuracy']:.2%}")
    wall.metric(
        t("train.wall_time"),
        _duration(s.wall_seconds),
        t("train.training_time", duration=_duration(s.train_seconds)),
        delta_color="off",
        delta_arrow="off",
    )
