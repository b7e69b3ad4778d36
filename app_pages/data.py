"""Data page: the MNIST set as it is, counts per class and sample digits."""

import numpy as np
import plotly.express as px
import streamlit as st

from core.data import MNIST_SHA256, class_counts
from ui.resources import mnist
from ui.state import init_session_state
from ui.widgets import digit_grid

init_session_state()
st.title("The MNIST digits")
data = mnist()
st.caption(
    f"{len(data.x_train):,} training and {len(data.x_test):,} test images of 28×28 grey pixels "
    f"(0 = black, 255 = white), bundled with the app and verified (sha256 {MNIST_SHA256[:12]}…). "
    "MNIST by Yann LeCun and Corinna Cortes, CC BY-SA 3.0."
)

split = st.radio("Which part", ["Training set", "Test set"], horizontal=True, key="data_split")
images, labels = (
    (data.x_train, data.y_train) if split == "Training set" else (data.x_test, data.y_test)
)

counts = class_counts(labels)
figure = px.bar(
    x=[str(digit) for digit in range(10)],
    y=counts,
    text=counts,
    labels={"x": "digit", "y": "images"},
    title=f"Images per digit in the {split.lower()}",
)
figure.update_layout(height=320, margin={"t": 40, "b": 10}, xaxis_type="category")
st.plotly_chart(figure, key="data_counts_chart")

st.subheader("Sample digits")
left, right = st.columns([2, 1])
digit = left.selectbox(
    "Show", ["all digits", *range(10)], key="data_digit", format_func=lambda d: str(d)
)
seed = right.number_input("Sample seed", min_value=0, value=0, step=1, key="data_seed")
candidates = np.arange(len(labels)) if digit == "all digits" else np.flatnonzero(labels == digit)
chosen = np.random.default_rng(int(seed)).choice(candidates, size=24, replace=False)
digit_grid([images[i] for i in chosen], [f"#{i}: label {labels[i]}" for i in chosen])
