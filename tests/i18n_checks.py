"""Find the English sentences a page shows: for tests that a page reads fully in another language.

A text counts as English when it holds a run of MIN_RUN plain English words in a row. Code spans,
file names, Keras names (Conv2D, Dense, `model.fit`), all-capital abbreviations (MNIST, SGD),
numbers and units do not count as words, so a Korean sentence that names them is still Korean.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

from google.protobuf.message import Message as Proto
from streamlit.testing.v1 import AppTest

MIN_RUN = 2  # this many plain English words in a row make an English text (labels are short)
# Names that stay as they are in every language (Keras classes and arguments, people, the app).
ALLOWED_WORDS = {
    *("Sequential", "Dense", "Dropout", "Flatten", "Activation", "Input", "Adam", "Keras"),
    *("relu", "softmax", "sigmoid", "tanh", "elu", "linear", "valid", "same", "logits"),
    *("keras", "numpy", "Python", "Streamlit", "Plotly", "Chromium", "sha"),
}
ALLOWED_PHRASES = ("Digit Lab", "Yann LeCun", "Corinna Cortes", "Language / 언어")
# Proto fields that hold no reader-facing words (ids, keys, addresses, file names, raw data).
SKIPPED_FIELDS = {
    *("id", "form_id", "key", "url", "icon", "page", "page_script_hash", "mime", "file_name"),
    *("spec", "data", "default", "format", "type", "css_class", "element_hash", "arrow_data"),
    *("theme", "selection_mode", "styles", "img", "content", "deprecation_warning", "source"),
    *("columns", "column_order", "editing_mode", "styler", "selection_state", "selection_default"),
}
CODE_ELEMENTS = ("code", "json")  # code stays code in every language
CODE_SPAN = re.compile(r"```.*?```|`[^`]*`", re.S)
URL = re.compile(r"https?://\S+")
WORD = re.compile(r"[A-Za-z][a-z]*(?:[-'][a-z]+)*")
EDGE_PUNCTUATION = "*_~()[]{}<>\"'“”‘’.,;:!?…→·|"


def english_runs(text: str, min_run: int = MIN_RUN) -> list[str]:
    """The runs of at least `min_run` consecutive plain English words in a text."""
    for phrase in ALLOWED_PHRASES:
        text = text.replace(phrase, " § ")
    text = URL.sub(" § ", CODE_SPAN.sub(" § ", text))
    text = re.sub(r":material/\w+:|:[a-z]+\[", " ", text)  # Streamlit icons and colour markup
    runs, current = [], []
    for token in text.split():
        word = token.strip(EDGE_PUNCTUATION)
        if WORD.fullmatch(word) and word not in ALLOWED_WORDS:
            current.append(word)
            continue
        if len(current) >= min_run:
            runs.append(" ".join(current))
        current = []
    if len(current) >= min_run:
        runs.append(" ".join(current))
    return runs


def is_english(text: str) -> bool:
    """True when the text holds an English sentence (see english_runs)."""
    return bool(english_runs(text))


STYLE_SHEET = re.compile(r"<style>.*?</style>", re.DOTALL)  # st.html CSS: never shown
TAG = re.compile(r"<[^>]*>")


def _html_text(body: str) -> str:
    """What st.html shows of its body: the text between the tags, its CSS left out."""
    return html.unescape(TAG.sub(" ", STYLE_SHEET.sub(" ", body)))


def _proto_strings(proto: Proto) -> Iterator[str]:
    """Every reader-facing string in a protobuf message, nested messages included."""
    for descriptor, value in proto.ListFields():
        if descriptor.name in SKIPPED_FIELDS:
            continue
        values = value if descriptor.is_repeated else [value]
        for item in values:
            if isinstance(item, str):
                yield item
            elif isinstance(item, Proto):
                yield from _proto_strings(item)


def _chart_titles(spec: str) -> Iterator[str]:
    layout = json.loads(spec).get("layout", {})
    for part in ("title", *(k for k in layout if k.startswith(("xaxis", "yaxis")))):
        title = layout.get(part, {})
        title = title.get("title", title) if part != "title" else title
        if isinstance(title, dict):
            title = title.get("text")
        if isinstance(title, str):
            yield title


def _nodes(node) -> Iterator:
    yield node
    children = getattr(node, "children", None) or {}
    for child in children.values() if isinstance(children, dict) else children:
        yield from _nodes(child)


def shown_texts(at: AppTest) -> list[str]:
    """Every text the last run shows: markdown, labels, help, options, tabs, tables, chart titles."""
    texts: list[str] = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if node.type == "html":
            texts.append(_html_text(proto.body))
        elif isinstance(proto, Proto) and node.type not in CODE_ELEMENTS:
            texts += _proto_strings(proto)
            if node.type == "plotly_chart":
                texts += _chart_titles(proto.spec)
        if node.type in ("dataframe", "arrow_data_frame", "table"):
            frame = node.value
            frame = getattr(frame, "data", frame)  # a Styler keeps its frame in .data
            texts += [str(column) for column in frame.columns]
    return [text for text in texts if text.strip()]


def english_sentences(at: AppTest) -> list[str]:
    """The texts of the last run that hold an English sentence."""
    return [text for text in shown_texts(at) if is_english(text)]
