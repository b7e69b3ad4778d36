"""Data page: the MNIST set as it is, counts per class and sample digits."""

import streamlit as st

from ui.i18n import option_labels, t
from ui.state import init_session_state

init_session_state()
st.title(t("data.title"))

# Imported after the heading: the first visit of a fresh server opens this page, and NumPy with
# the chart and grid helpers would otherwise delay its first words (bench/first_visit.py).
import numpy as np  # noqa: E402

from core.data import MNIST_SHA256, class_counts  # noqa: E402
from ui.i18n import relabel_after_language_switch  # noqa: E402
from ui.resources import mnist  # noqa: E402
from ui.widgets import count_bars, digit_grid  # noqa: E402

ALL_DIGITS = "all"
data = mnist()
st.caption(t("data.caption", train=len(data.x_train), test=len(data.x_test), sha=MNIST_SHA256[:12]))

relabel_after_language_switch("data_split", "data_digit")
split = st.radio(
    t("data.split"),
    ["train", "test"],
    format_func=option_labels("data.split.{}"),
    horizontal=True,
    key="data_split",
    persist_state="session",
)
images, labels = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)

count_bars(
    [int(count) for count in class_counts(labels)],
    t(f"data.chart_title.{split}"),
    t("data.axis_digit"),
    t("data.axis_images"),
)

st.subheader(t("data.samples"))
left, right = st.columns([2, 1])
digit = left.selectbox(
    t("data.show"),
    [ALL_DIGITS, *range(10)],
    key="data_digit",
    persist_state="session",
    format_func=option_labels("data.digit.{}"),
)
seed = right.number_input(t("data.seed"), min_value=0, value=0, step=1, key="data_seed")
candidates = np.arange(len(labels)) if digit == ALL_DIGITS else np.flatnonzero(labels == digit)
chosen = np.random.default_rng(int(seed)).choice(candidates, size=24, replace=False)
digit_grid(
    [images[i] for i in chosen],
    [t("data.sample_caption", index=i, label=labels[i]) for i in chosen],
)
