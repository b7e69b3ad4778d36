"""The Train page's view of a job: live while it runs, a summary once it has ended.

Watching must cost training almost nothing: the job may run in a thread of this server, and every
rerun here, and every repaint in a browser on the same machine, competes with it for the CPU. So the
progress is one small HTML element (st.progress animates every change, which costs a headless
browser several times more) that the page fetches once a second from its feed (ui.live_feed), with
no Streamlit run; and one fragment, every few seconds, redraws the curves as static SVG pictures
(ui.live_charts) and notices the training's end. A Plotly chart whose figure changed is mounted anew
in the browser, which made up two thirds of what watching cost Chromium (bench/watch_cpu.py). The
Stop button stays outside the refreshed part (in a fragment of its own: pressing it reruns only the
button, not the page with its charts). The finished view shows the interactive Plotly charts.
"""

from __future__ import annotations

import time
from functools import partial
from html import escape

import streamlit as st

from core.engine import TrainingHandle
from core.i18n import translate
from core.training import Progress
from ui.charts import batch_loss_curve, epoch_curves
from ui.i18n import language, t, tm
from ui.live_charts import live_curves_html
from ui.live_feed import fed_html, live_feeds, new_token
from ui.session import stop_current_job

LIVE_EVERY = 3.0  # seconds between runs of the live view's fragment (the progress: ui.live_feed)
LIVE_FEED = "live_feed"  # session key: (job, token of its feed)


def _duration(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return "…"
    minutes, seconds = divmod(int(round(seconds)), 60)
    if minutes:
        return translate("train.minutes_seconds", lang, minutes=minutes, seconds=seconds)
    return translate("train.seconds", lang, seconds=seconds)


def progress_text(p: Progress, lang: str) -> str:
    """'Epoch 2/5 · batch 120/422 · 4,310 digits/s · 9 s left · lr 0.00100'."""

    def say(key: str, **params: object) -> str:
        return translate(key, lang, **params)

    if p.status == "queued":
        return say("train.queued", position=p.queue_position)
    if p.phase != "training":
        phases = {
            "preparing": say("train.phase_preparing"),
            "evaluating": say("train.phase_evaluating"),
            "saving": say("train.phase_saving"),
        }
        return phases.get(p.phase, p.phase)
    parts = [
        say("train.progress_epoch", epoch=max(p.epoch, 1), epochs=p.epochs),
        say("train.progress_batch", batch=p.batch, batches=p.batches_per_epoch),
    ]
    if p.samples_per_second:
        parts.append(say("train.progress_rate", rate=p.samples_per_second))
    parts.append(say("train.progress_left", duration=_duration(p.seconds_left, lang)))
    if p.learning_rate is not None:
        parts.append(say("train.progress_lr", lr=p.learning_rate))
    return " · ".join(parts)


def progress_fraction(p: Progress) -> float:
    epochs_in_job = p.epochs - p.initial_epoch
    done = (max(p.epoch, 1) - 1 - p.initial_epoch) * p.batches_per_epoch + p.batch
    return min(1.0, max(0.0, done / max(1, epochs_in_job * p.batches_per_epoch)))


def progress_html(p: Progress, lang: str) -> str:
    """The progress bar and its two lines of text as one static HTML block (no animation), in a
    language; data-at tells a newer drawing from an older one (ui.live_feed)."""
    percent = 100 * progress_fraction(p)
    stopping = p.status == "stopping"
    status = translate("train.stopping", lang) if stopping else progress_text(p, lang)
    seen = translate(
        "train.seen", lang, samples=p.samples_seen, duration=_duration(p.seconds_elapsed, lang)
    )
    label = translate("train.progress_label", lang)
    return (
        f'<div class="train-progress" data-at="{time.time():.3f}" style="contain: content">'
        f'<p style="margin: 0 0 0.4rem">{escape(status)}</p>'
        f'<div role="progressbar" aria-label="{escape(label)}" aria-valuemin="0" '
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
    st.html(fed_progress_html(job, p, language()), unsafe_allow_javascript=True)
    if not queued:
        st.html(live_curves_html(p))


def fed_progress_html(job: TrainingHandle, p: Progress, lang: str) -> str:
    """The progress as drawn now, kept current by this session's feed of the job; drawn now only
    where the feed cannot be written."""
    key = (p.run_dir, p.initial_epoch, lang)  # a continuation is another job
    drawn_for, token = st.session_state.get(LIVE_FEED, (None, ""))
    if drawn_for != key:
        token = new_token()
        st.session_state[LIVE_FEED] = key, token
    html = progress_html(p, lang)
    if live_feeds().watch(token, job, partial(progress_html, lang=lang)):
        return fed_html(token, html)
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
        _duration(s.wall_seconds, language()),
        t("train.training_time", duration=_duration(s.train_seconds, language())),
        delta_color="off",
        delta_arrow="off",
    )
