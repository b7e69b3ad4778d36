"""Save page: download the active model in every format the Keras tutorials use."""

import streamlit as st

from core.codegen import to_python
from core.persist import download_filename, load_instructions, model_to_bytes
from core.runs import BEST_WEIGHTS_FILE
from ui.lesson_progress import record_event
from ui.session import current_job
from ui.state import init_session_state, require_active_model

FORMATS = {
    "keras": ("Whole model (.keras)", "The Keras 3 format: architecture, weights and optimizer."),
    "h5": (
        "Whole model, legacy HDF5 (.h5)",
        "As `model.save('x.h5')` in the tutorials: architecture, weights and optimizer state.",
    ),
    "weights": ("Weights only (.weights.h5)", "As `model.save_weights(...)`: just the numbers."),
    "json": ("Architecture (.json)", "As `model.to_json()`: the layers without weights."),
}

init_session_state()
st.title("Save the model")
active = require_active_model()
st.caption(
    f"**{active.name}**"
    + (
        f", test accuracy {active.test_accuracy:.2%}"
        if active.test_accuracy
        else ", not trained yet"
    )
    + ". Each file loads back in plain Keras with the line under its button."
)

for fmt, (label, help_text) in FORMATS.items():
    file_name = download_filename(active.name, fmt, active.test_accuracy)
    with st.container(border=True):
        button_col, text_col = st.columns([2, 3], vertical_alignment="center")
        button_col.download_button(
            label,
            data=lambda fmt=fmt: model_to_bytes(active.model, fmt),
            file_name=file_name,
            key=f"save_{fmt}",
            on_click=record_event,
            args=(f"download_{fmt}",),
            kwargs={"file": file_name},
            icon=":material/download:",
        )
        text_col.caption(help_text)
        text_col.code(load_instructions(fmt, file_name), language="python")

with st.container(border=True):
    button_col, text_col = st.columns([2, 3], vertical_alignment="center")
    if active.spec:
        button_col.download_button(
            "Python script (.py)",
            to_python(active.spec),
            file_name=f"{active.spec.slug}.py",
            key="save_script",
            on_click="ignore",
            icon=":material/download:",
        )
        text_col.caption("The plain-Keras script that builds and trains this network.")
    else:
        text_col.caption("Uploaded models have no Python script: they were built elsewhere.")

job = current_job()
best = job.run_dir / BEST_WEIGHTS_FILE if job is not None else None
with st.container(border=True):
    button_col, text_col = st.columns([2, 3], vertical_alignment="center")
    if best is not None and best.exists():
        best_name = f"{job.run_dir.name}-best.weights.h5"
        button_col.download_button(
            "Best checkpoint of the last run",
            data=best.read_bytes(),
            file_name=best_name,
            key="save_best",
            on_click=record_event,
            args=("download_best",),
            kwargs={"file": best_name},
            icon=":material/download:",
        )
        text_col.caption("The weights of the best epoch (ModelCheckpoint with save_best_only).")
        text_col.code(load_instructions("weights", best_name), language="python")
    else:
        text_col.caption("Train with “Keep the best weights” on to get a best checkpoint here.")
