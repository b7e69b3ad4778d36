"""Evaluate page: upload saved models (any Keras, any input layout), check them safely, rank them."""

import streamlit as st

from core.evaluate import rank_reports
from core.inspector import MAX_UPLOAD_MB
from core.mistakes import random_sample
from ui.charts import confusion_heatmap
from ui.lesson_progress import record_evaluations
from ui.resources import mnist
from ui.state import ActiveModel, active_model, init_session_state, set_active_model
from ui.uploads import evaluate_uploads
from ui.widgets import digit_grid

KIND_LABELS = {
    "keras": ".keras model",
    "h5": "HDF5 model",
    "json+weights": "architecture JSON + weights",
    "weights": "weights in the active architecture",
}

init_session_state()
st.title("Evaluate saved models")
st.caption(
    "Upload `.keras`, `.h5` / `.hdf5` models (Keras 3 or Keras 2 / tf.keras), or an architecture "
    "`.json` together with its weights file. Every file is checked in an isolated process first: "
    f"code inside a model (Lambda layers, custom objects) is refused. Up to {MAX_UPLOAD_MB} MB each."
)
uploaded = st.file_uploader(
    "Model files",
    type=["keras", "h5", "hdf5", "json"],
    accept_multiple_files=True,
    key="evaluate_files",
)
active = active_model()
weights_only = st.checkbox(
    "These are weights for the active model's architecture",
    key="evaluate_weights_only",
    disabled=active is None,
    help="For files from `model.save_weights(...)`: they are loaded into a copy of the active model.",
)
if not uploaded:
    st.info("Upload one or more model files to evaluate them on the 10,000 test digits.")
    st.stop()

files = [(file.name, file.getvalue()) for file in uploaded]
results = evaluate_uploads(files, active.model if weights_only and active else None)
for refused in (r for r in results if r.refusal):
    st.error(refused.refusal, icon=":material/gpp_bad:")
evaluated = [r for r in results if r.report is not None]
record_evaluations(evaluated)
if not evaluated:
    st.stop()

ranking = rank_reports({r.name: r.report for r in evaluated})
if len(evaluated) > 1:
    st.subheader("Ranking")
    st.dataframe(
        ranking,
        key="evaluate_ranking",
        column_config={
            "accuracy": st.column_config.NumberColumn(format="percent"),
            "loss": st.column_config.NumberColumn(format="%.4f"),
            "macro_f1": st.column_config.NumberColumn("macro F1", format="%.4f"),
        },
    )
by_name = {r.name: r for r in evaluated}
name = st.selectbox("Report of", list(ranking["model"]), key="evaluate_report_choice")
result = by_name[name]
report, loaded = result.report, result.loaded

st.subheader(name)
accuracy_col, loss_col, untrained_col, input_col = st.columns(4)
accuracy_col.metric(
    "Test accuracy", f"{report.accuracy:.2%}", f"{report.errors} mistakes", delta_color="off"
)
loss_col.metric("Test loss", f"{report.loss:.4f}")
untrained_col.metric(
    "Same network, untrained",
    f"{result.untrained.accuracy:.2%}",
    help="The architecture with fresh random weights: what the saved weights are worth.",
)
input_col.metric(
    "Input", "×".join(map(str, loaded.input_shape)), KIND_LABELS[loaded.kind], delta_color="off"
)
if loaded.outputs_logits:
    st.caption("The model outputs logits; a softmax turns them into probabilities here.")

if st.button("Make it the active model", key="evaluate_activate", type="primary"):
    set_active_model(
        ActiveModel(loaded.model, name, "uploaded", spec=None, test_accuracy=report.accuracy)
    )
    st.success(
        f"{name} is now the active model: study its mistakes, draw for it, or train it further."
    )

matrix_col, table_col = st.columns([3, 2])
with matrix_col:
    st.plotly_chart(confusion_heatmap(report.confusion), key="evaluate_confusion")
with table_col:
    st.dataframe(report.per_class, key="evaluate_per_class", column_config={"support": st.column_config.NumberColumn(format="%d")})  # fmt: skip

data = mnist()
sample = random_sample(8, seed=len(name), total=len(data.y_test))
digit_grid(
    [data.x_test[i] for i in sample],
    [f"true {data.y_test[i]} / predicted {report.predicted[i]}" for i in sample],
)
