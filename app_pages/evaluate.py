"""Evaluate page: upload saved models (any Keras, any input layout), check them safely, rank them."""

import streamlit as st

from core.evaluate import rank_reports
from core.inspect import MAX_UPLOAD_MB, prepare_checker
from core.mistakes import random_sample
from ui.charts import confusion_heatmap
from ui.i18n import t, tm
from ui.lesson_progress import record_evaluations
from ui.navigation import end_page
from ui.resources import mnist
from ui.state import ActiveModel, active_model, init_session_state, set_active_model
from ui.uploads import evaluate_uploads, uploader_texts
from ui.widgets import digit_grid

init_session_state()
st.title(t("evaluate.title"))
st.caption(t("evaluate.caption", limit=MAX_UPLOAD_MB))
uploaded = st.file_uploader(
    t("evaluate.files_label"),
    type=None,  # .index and .data-00000-of-00001 too: the inspector judges every file
    accept_multiple_files=True,
    key="evaluate_files",
)
uploader_texts("evaluate_files")
prepare_checker()  # a checker process waits for the upload, already started
active = active_model()
weights_only = st.checkbox(
    t("evaluate.weights_only"),
    key="evaluate_weights_only",
    disabled=active is None,
    help=t("evaluate.weights_only_help"),
)
if not uploaded:
    st.info(t("evaluate.empty"))
    end_page()

files = [(file.name, file.getvalue()) for file in uploaded]
results = evaluate_uploads(files, active.model if weights_only and active else None)
for refused in (r for r in results if r.refusal):
    st.error(tm(refused.refusal), icon=":material/gpp_bad:")
evaluated = [r for r in results if r.report is not None]
record_evaluations(evaluated)
if not evaluated:
    end_page()

ranking = rank_reports({r.name: r.report for r in evaluated})
if len(evaluated) > 1:
    st.subheader(t("evaluate.ranking"))
    st.dataframe(
        ranking,
        key="evaluate_ranking",
        column_config={
            "model": st.column_config.TextColumn(t("evaluate.column_model")),
            "accuracy": st.column_config.NumberColumn(
                t("evaluate.column_accuracy"), format="percent"
            ),
            "loss": st.column_config.NumberColumn(t("evaluate.column_loss"), format="%.4f"),
            "errors": st.column_config.NumberColumn(t("evaluate.column_errors")),
            "macro_f1": st.column_config.NumberColumn(t("evaluate.column_macro_f1"), format="%.4f"),
        },
    )
by_name = {r.name: r for r in evaluated}
name = st.selectbox(t("evaluate.report_of"), list(ranking["model"]), key="evaluate_report_choice")
result = by_name[name]
report, loaded = result.report, result.loaded

st.subheader(name)
accuracy_col, loss_col, untrained_col, input_col = st.columns(4)
accuracy_col.metric(
    t("evaluate.test_accuracy"),
    f"{report.accuracy:.2%}",
    t("evaluate.mistakes", count=report.errors),
    delta_color="off",
    delta_arrow="off",
)
loss_col.metric(t("evaluate.test_loss"), f"{report.loss:.4f}")
untrained_col.metric(
    t("evaluate.untrained"),
    f"{result.untrained.accuracy:.2%}" if result.untrained else "—",
    help=t("evaluate.untrained_help" if result.untrained else "evaluate.graph_untrained"),
)
input_col.metric(
    t("evaluate.input"),
    "×".join(map(str, loaded.input_shape)),
    t(f"evaluate.kind.{loaded.kind}"),
    delta_color="off",
    delta_arrow="off",
)
if loaded.outputs_logits:
    st.caption(t("evaluate.logits"))

if result.untrained is None:
    st.info(t("evaluate.graph_note"), icon=":material/account_tree:")
elif st.button(t("evaluate.activate"), key="evaluate_activate", type="primary"):
    set_active_model(
        ActiveModel(loaded.model, name, "uploaded", spec=None, test_accuracy=report.accuracy)
    )
    st.success(t("evaluate.activated", name=name))

matrix_col, table_col = st.columns([3, 2])
with matrix_col:
    st.plotly_chart(confusion_heatmap(report.confusion), key="evaluate_confusion")
with table_col:
    averages = {"macro avg": t("evaluate.macro_avg"), "weighted avg": t("evaluate.weighted_avg")}
    st.dataframe(
        report.per_class.rename(index=averages),
        key="evaluate_per_class",
        column_config={
            "_index": st.column_config.TextColumn(t("evaluate.column_digit")),
            "precision": st.column_config.NumberColumn(t("evaluate.column_precision")),
            "recall": st.column_config.NumberColumn(t("evaluate.column_recall")),
            "f1": st.column_config.NumberColumn(t("evaluate.column_f1")),
            "support": st.column_config.NumberColumn(t("evaluate.column_support"), format="%d"),
        },
    )

data = mnist()
sample = random_sample(8, seed=len(name), total=len(data.y_test))
digit_grid(
    [data.x_test[i] for i in sample],
    [
        t("evaluate.true_predicted", true=data.y_test[i], predicted=report.predicted[i])
        for i in sample
    ],
)
