"""Uploaded models of this session: loaded safely and evaluated once per set of files."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import keras
import streamlit as st

from core.evaluate import EvaluationReport, evaluate_model, untrained_copy
from core.graph_model import is_graph_model
from core.i18n import Message
from core.inspect import MAX_UPLOAD_MB
from core.loading import LoadedModel, group_uploads, load_uploaded_model
from core.persist import UploadRefused
from ui.i18n import t
from ui.resources import mnist
from ui.state import Keys


@dataclass
class EvaluatedUpload:
    """One uploaded model with its report, or the reason it was refused."""

    name: str
    loaded: LoadedModel | None = None
    report: EvaluationReport | None = None
    # the same architecture with fresh weights (None for a graph-only SavedModel)
    untrained: EvaluationReport | None = None
    refusal: Message | None = None  # rendered in the reader's language by the page


def _signature(files: list[tuple[str, bytes]], architecture: keras.Model | None) -> str:
    digest = hashlib.sha256(str(id(architecture)).encode())
    for name, data in files:
        digest.update(name.encode() + hashlib.sha256(data).digest())
    return digest.hexdigest()


def evaluate_uploads(
    files: list[tuple[str, bytes]], architecture: keras.Model | None
) -> list[EvaluatedUpload]:
    """Group the files into models, load each through the inspector and evaluate it on 10k digits."""
    cache: dict[str, list[EvaluatedUpload]] = st.session_state.setdefault(Keys.UPLOADS, {})
    key = _signature(files, architecture)
    if key not in cache:
        data = mnist()
        results = []
        for group in group_uploads(files):
            name = " + ".join(file_name for file_name, _ in group)
            try:
                with st.spinner(t("evaluate.checking", name=name)):
                    loaded = load_uploaded_model(group, architecture)
                    report = evaluate_model(loaded.model, data.x_test, data.y_test)
                    # A graph-only SavedModel has no architecture to re-initialise.
                    untrained = (
                        None
                        if is_graph_model(loaded.model)
                        else evaluate_model(untrained_copy(loaded.model), data.x_test, data.y_test)
                    )
                results.append(EvaluatedUpload(loaded.name, loaded, report, untrained))
            except UploadRefused as refusal:
                results.append(EvaluatedUpload(name, refusal=refusal.message))
        cache.clear()  # keep only the latest set of uploads
        cache[key] = results
    return cache[key]


def uploader_texts(key: str) -> None:
    """Put the catalog's words on the file uploader with this key: Streamlit writes its button
    ("Upload") and size note ("50MB per file") in English and has no setting for them, so the
    page hides those two texts and shows its own in their place (CSS, scoped to this widget)."""
    box = f".st-key-{key} [data-testid=stFileUploaderDropzone]"
    button = f"{box} button [data-testid=stMarkdownContainer] p"
    note = f"{box} [data-testid=stFileUploaderDropzoneInstructions] span"
    st.html(
        "<style>"
        f"{button}, {note} {{ font-size: 0; }}"
        f"{button}::after {{ content: {json.dumps(t('upload.button'), ensure_ascii=False)}; font-size: 0.875rem; }}"
        f"{note}::after {{ content: {json.dumps(t('upload.per_file', limit=MAX_UPLOAD_MB), ensure_ascii=False)};"
        " font-size: 0.875rem; }"
        "</style>"
    )
