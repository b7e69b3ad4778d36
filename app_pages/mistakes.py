"""Mistakes page: every misclassified test digit, filtered, sorted, paged, and looked at closely."""

import numpy as np
import pandas as pd
import streamlit as st

from core.mistakes import (
    accuracy,
    confusion_matrix,
    filter_mistakes,
    find_mistakes,
    images_for,
    page_count,
    page_of,
    predicted_classes,
    random_sample,
    sort_mistakes,
)
from ui.charts import probability_bars
from ui.i18n import option_labels, relabel_after_language_switch, t
from ui.lesson_progress import record_event
from ui.look_inside_digit import open_look_inside
from ui.predictions import test_probabilities
from ui.resources import mnist
from ui.state import init_session_state, require_active_model
from ui.widgets import digit_grid, sharp_digit

ANY = "any"
PER_PAGE = 24

init_session_state()
st.title(t("mistakes.title"))
active = require_active_model()
data = mnist()
probabilities = test_probabilities(active)
predicted = predicted_classes(probabilities)
mistakes = find_mistakes(probabilities, data.y_test)

score, count, model_name = st.columns(3)
score.metric(t("mistakes.test_accuracy"), f"{accuracy(probabilities, data.y_test):.2%}")
count.metric(
    t("mistakes.count"), t("mistakes.count_value", count=len(mistakes), total=len(data.y_test))
)
model_name.metric(t("mistakes.model"), active.name)


def _select_cell() -> None:
    # A click on a confusion-matrix cell sets both filters to that (true, predicted) pair.
    cells = st.session_state["mistakes_confusion"].selection.cells
    if cells:
        row, column = cells[0]
        st.session_state["mistakes_true"] = int(row)
        st.session_state["mistakes_predicted"] = int(column)
        st.session_state["mistakes_page"] = 1
        # ... and shows them at once: the learner lands on the filtered mistakes.
        st.session_state["mistakes_tabs"] = t("mistakes.tab_mistakes")


mistakes_tab, confusion_tab, random_tab = st.tabs(
    [t("mistakes.tab_mistakes"), t("mistakes.tab_confusion"), t("mistakes.tab_random")],
    key="mistakes_tabs",
    on_change="rerun",
)

with confusion_tab:
    matrix = confusion_matrix(data.y_test, predicted)
    table = pd.DataFrame(matrix, index=range(10), columns=[str(d) for d in range(10)])
    peak = max(int(matrix.max()), 1)
    styled = table.style.map(
        lambda count: (
            f"background-color: rgba(47, 111, 222, {0.08 + 0.8 * (count / peak) ** 0.5:.2f})"
            if count
            else ""
        )
    )
    st.dataframe(
        styled,
        key="mistakes_confusion",
        on_select=_select_cell,
        selection_mode="single-cell",
        width="content",
    )
    # Below the table: its toolbar, shown above it on hover, would cover a sentence there.
    st.caption(t("mistakes.confusion_caption"))

with mistakes_tab:
    relabel_after_language_switch("mistakes_true", "mistakes_predicted", "mistakes_order")
    true_col, predicted_col, order_col, page_col = st.columns(4)
    digit_labels = option_labels("mistakes.digit.{}")
    true_class = true_col.selectbox(
        t("mistakes.true_digit"),
        [ANY, *range(10)],
        format_func=digit_labels,
        key="mistakes_true",
        persist_state="session",
    )
    predicted_class = predicted_col.selectbox(
        t("mistakes.predicted_digit"),
        [ANY, *range(10)],
        format_func=digit_labels,
        key="mistakes_predicted",
        persist_state="session",
    )
    order = order_col.radio(
        t("mistakes.sort"),
        ["confidence", "index"],
        format_func=option_labels("mistakes.sort.{}"),
        key="mistakes_order",
        persist_state="session",
    )
    shown = filter_mistakes(
        sort_mistakes(mistakes, order),
        true_class=None if true_class == ANY else true_class,
        predicted_class=None if predicted_class == ANY else predicted_class,
    )
    pages = page_count(shown, PER_PAGE)
    page = page_col.number_input(
        t("mistakes.page", pages=pages), min_value=1, max_value=pages, step=1, key="mistakes_page"
    )
    if shown.empty:
        st.info(t("mistakes.none_match"))
    else:
        rows = page_of(shown, int(page), PER_PAGE)
        st.caption(t("mistakes.match", count=len(shown), shown=len(rows), page=page))
        digit_grid(
            list(images_for(rows, data.x_test)),
            [
                t(
                    "mistakes.digit_caption",
                    index=r.index,
                    true=r.true,
                    predicted=r.predicted,
                    confidence=r.confidence,
                )
                for r in rows.itertuples()
            ],
        )
        st.subheader(t("mistakes.look_closer"))
        index = st.selectbox(
            t("mistakes.test_digit"),
            rows["index"].tolist(),
            format_func=lambda i: f"#{i}",
            key="mistakes_detail",
        )
        image_col, chart_col = st.columns([1, 3])
        image_col.image(
            sharp_digit(data.x_test[index]),
            caption=t(
                "mistakes.detail_caption", true=data.y_test[index], predicted=predicted[index]
            ),
            width=168,
        )
        chart_col.plotly_chart(
            probability_bars(probabilities[index], int(data.y_test[index])),
            key="mistakes_detail_chart",
        )
        if image_col.button(
            t("look_inside.open"), key="mistakes_look_inside", icon=":material/visibility:"
        ):
            open_look_inside(int(index))

with random_tab:
    seed = st.number_input(
        t("mistakes.seed"), min_value=0, value=0, step=1, key="mistakes_random_seed"
    )
    sample = random_sample(16, int(seed), len(data.y_test))
    digit_grid(
        [data.x_test[i] for i in sample],
        [t("mistakes.random_caption", true=data.y_test[i], predicted=predicted[i]) for i in sample],
    )
    correct = int(np.sum(data.y_test[sample] == predicted[sample]))
    st.caption(t("mistakes.right", correct=correct, total=len(sample)))
record_event("mistakes_viewed", mistakes=len(mistakes), right=correct, shown=len(sample))
