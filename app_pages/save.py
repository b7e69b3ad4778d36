"""Save page: the active model in every Keras format, and exports for other runtimes."""

from pathlib import Path

import streamlit as st

from core.codegen import script_config, to_python
from core.export import (
    EXPORT_FORMATS,
    ExportFailed,
    export_filename,
    export_to_bytes,
    runtime_instructions,
)
from core.i18n import Message
from core.persist import FORMATS, download_filename, load_instructions, model_to_bytes
from core.runs import BEST_WEIGHTS_FILE
from ui.i18n import language, t, tm
from ui.lesson_progress import record_event
from ui.session import current_job
from ui.state import ActiveModel, init_session_state, require_active_model

# The exports made on request in this session: {"uid": model uid, fmt: bytes or Message}.
PREPARED_KEY = "save_prepared_exports"


def prepared_exports(uid: str) -> dict:
    """This session's finished exports of the model `uid`; those of earlier models are dropped."""
    prepared = st.session_state.get(PREPARED_KEY)
    if prepared is None or prepared.get("uid") != uid:
        prepared = st.session_state[PREPARED_KEY] = {"uid": uid}
    return prepared


def load_code(column, fmt: str, code: str) -> None:
    """The lines that load a file back, in a popover: Streamlit's code block brings 1.5 MB of
    JavaScript the first time a tab shows one, and a closed popover does not draw its contents."""
    with column.popover(
        t("save.load_code"), icon=":material/code:", type="tertiary", key=f"save_code_{fmt}"
    ):
        st.code(code, language="python", wrap_lines=True)


def export_row(active: ActiveModel, fmt: str, prepared: dict) -> None:
    """One runtime format: a prepare button that becomes a download, and its loading lines."""
    label = t(f"save.{fmt}_label")
    file_name = export_filename(active.name, fmt, active.test_accuracy)
    with st.container(border=True):
        button_col, text_col = st.columns([2, 3], vertical_alignment="center")
        slot = button_col.empty()
        if fmt not in prepared and slot.button(
            t("save.prepare", format=label), key=f"save_prepare_{fmt}", icon=":material/build:"
        ):
            with button_col, st.spinner(t("save.preparing", format=label)):
                try:
                    stem = file_name.removesuffix(EXPORT_FORMATS[fmt])
                    prepared[fmt] = export_to_bytes(active.model, fmt, stem)
                except ExportFailed as error:
                    prepared[fmt] = error.message
        result = prepared.get(fmt)
        if isinstance(result, bytes):
            slot.download_button(
                t("save.download", format=label),
                data=result,
                file_name=file_name,
                key=f"save_{fmt}",
                on_click=record_event,
                args=(f"download_{fmt}",),
                kwargs={"file": file_name},
                icon=":material/download:",
            )
        elif isinstance(result, Message):
            slot.empty()
            text_col.error(tm(result))
        text_col.caption(t(f"save.{fmt}_help"))
        load_code(text_col, fmt, runtime_instructions(fmt, file_name, language()))


init_session_state()
st.title(t("save.title"))
active = require_active_model()
if active.test_accuracy:
    st.caption(t("save.caption_accuracy", name=active.name, accuracy=active.test_accuracy))
else:
    st.caption(t("save.caption_untrained", name=active.name))

st.subheader(t("save.keras_heading"))
for fmt in FORMATS:
    file_name = download_filename(active.name, fmt, active.test_accuracy)
    with st.container(border=True):
        button_col, text_col = st.columns([2, 3], vertical_alignment="center")
        button_col.download_button(
            t(f"save.{fmt}_label"),
            data=lambda fmt=fmt: model_to_bytes(active.model, fmt),
            file_name=file_name,
            key=f"save_{fmt}",
            on_click=record_event,
            args=(f"download_{fmt}",),
            kwargs={"file": file_name},
            icon=":material/download:",
        )
        text_col.caption(t(f"save.{fmt}_help"))
        load_code(text_col, fmt, load_instructions(fmt, file_name, language()))

with st.container(border=True):
    button_col, text_col = st.columns([2, 3], vertical_alignment="center")
    if active.spec:
        button_col.download_button(
            t("save.script_label"),
            to_python(active.spec, script_config(active.spec, active.run_dir), language=language()),
            file_name=f"{active.spec.slug}.py",
            key="save_script",
            on_click="ignore",
            icon=":material/download:",
        )
        text_col.caption(t("save.script_help"))
    else:
        text_col.caption(t("save.script_uploaded"))

job = current_job()
best = Path(job.run_dir) / BEST_WEIGHTS_FILE if job is not None else None
with st.container(border=True):
    button_col, text_col = st.columns([2, 3], vertical_alignment="center")
    if best is not None and best.exists():
        best_name = f"{best.parent.name}-best.weights.h5"
        button_col.download_button(
            t("save.best_label"),
            data=best.read_bytes,  # read on click, not on every visit
            file_name=best_name,
            key="save_best",
            on_click=record_event,
            args=("download_best",),
            kwargs={"file": best_name},
            icon=":material/download:",
        )
        text_col.caption(t("save.best_help"))
        load_code(text_col, "best", load_instructions("weights", best_name, language()))
    else:
        text_col.caption(t("save.best_missing"))

st.subheader(t("save.runtimes_heading"))
st.caption(t("save.runtimes_caption"))
prepared = prepared_exports(active.uid)
for fmt in EXPORT_FORMATS:
    export_row(active, fmt, prepared)
