"""Evaluate any MNIST model from one pass of predictions: loss, accuracy, confusion, per class.

Command line: python -m core.evaluate PATH [PATH ...] evaluates uploaded-style files on the
10k test digits with the same safe loader the app uses; files that make one model together (an
architecture .json and its weights) are grouped as the Evaluate page groups them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from core.data import load_mnist
from core.digit_shape import NUM_CLASSES
from core.i18n import msg
from core.inspect import MAX_UPLOAD_MB, UploadRefused
from core.loading import group_uploads, load_uploaded_model
from core.predict import predict_probabilities

EVAL_BATCH_SIZE = 1000  # one large-batch predict pass serves every metric
ACTIVATION_BUDGET = 50_000_000  # floats one layer may produce per batch (about 200 MB)
EPSILON = 1e-7  # Keras clips probabilities the same way before taking the log


@dataclass
class EvaluationReport:
    """Everything one pass of predictions on labelled digits tells about a model."""

    loss: float  # mean cross-entropy, computed from the probabilities
    accuracy: float
    labels: np.ndarray  # (n,) true digits
    predicted: np.ndarray  # (n,) predicted digits
    probabilities: np.ndarray  # (n, 10) float32, rows sum to 1
    confusion: np.ndarray  # (10, 10) int64: rows true digit, columns predicted digit
    per_class: pd.DataFrame  # precision, recall, f1, support per digit + macro/weighted avg

    @property
    def errors(self) -> int:
        """How many digits were misclassified."""
        return int((self.predicted != self.labels).sum())


def evaluate_model(model: keras.Model, x_uint8: np.ndarray, y: np.ndarray) -> EvaluationReport:
    """Evaluate a model on (n, 28, 28) uint8 images and their labels."""
    probabilities = predict_probabilities(model, x_uint8, batch_size=_batch_size(model))
    return report_from_probabilities(probabilities, np.asarray(y))


def report_from_probabilities(probabilities: np.ndarray, y: np.ndarray) -> EvaluationReport:
    """Build the report from class probabilities and true labels."""
    y = y.astype("int64")
    predicted = probabilities.argmax(axis=1)
    picked = probabilities[np.arange(len(y)), y]
    loss = float(-np.log(np.clip(picked, EPSILON, 1.0)).mean())
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype="int64")
    np.add.at(confusion, (y, predicted), 1)
    return EvaluationReport(
        loss=loss,
        accuracy=float((predicted == y).mean()),
        labels=y,
        predicted=predicted,
        probabilities=probabilities,
        confusion=confusion,
        per_class=per_class_table(confusion),
    )


def per_class_table(confusion: np.ndarray) -> pd.DataFrame:
    """Precision, recall, F1 and support per digit, with macro and weighted averages."""
    true_positive = np.diag(confusion).astype("float64")
    support = confusion.sum(axis=1)
    predicted_count = confusion.sum(axis=0)
    # A digit never predicted (or absent) gets 0, as scikit-learn's zero_division=0 does.
    precision = np.divide(
        true_positive, predicted_count, out=np.zeros(10), where=predicted_count > 0
    )
    recall = np.divide(true_positive, support, out=np.zeros(10), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros(10), where=denominator > 0)
    table = pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support},
        index=[str(d) for d in range(NUM_CLASSES)],
    )
    weights = support / max(support.sum(), 1)
    metrics = ["precision", "recall", "f1"]
    table.loc["macro avg"] = [*table[metrics].mean(), support.sum()]
    table.loc["weighted avg"] = [
        *(table[metrics].iloc[:10].mul(weights, axis=0).sum()),
        support.sum(),
    ]
    table["support"] = table["support"].astype("int64")
    return table


def _batch_size(model: keras.Model) -> int:
    # Big batches are fast, but wide conv layers must not exhaust memory.
    largest = 1
    for layer in model.layers:
        try:
            largest = max(largest, int(np.prod(layer.output.shape[1:])))
        except (AttributeError, ValueError, TypeError):
            continue
    return int(min(EVAL_BATCH_SIZE, max(16, ACTIVATION_BUDGET // largest)))


def untrained_copy(model: keras.Model) -> keras.Model:
    """Same architecture with freshly initialised weights (chance level, about 10%)."""
    copy = keras.models.clone_model(model)
    if not copy.built:
        copy.build((None, *model.input_shape[1:]))
    return copy


def rank_reports(
    named_reports: dict[str, EvaluationReport] | Iterable[tuple[str, EvaluationReport]],
) -> pd.DataFrame:
    """One row per model, best test accuracy first."""
    items = named_reports.items() if isinstance(named_reports, dict) else named_reports
    rows = [
        {
            "model": name,
            "accuracy": report.accuracy,
            "loss": report.loss,
            "errors": report.errors,
            "macro_f1": float(report.per_class.loc["macro avg", "f1"]),
        }
        for name, report in items
    ]
    table = pd.DataFrame(rows, columns=["model", "accuracy", "loss", "errors", "macro_f1"])
    table = table.sort_values("accuracy", ascending=False, kind="stable").reset_index(drop=True)
    table.index = table.index + 1
    table.index.name = "rank"
    return table


def main(argv: list[str]) -> int:
    """Evaluate each model the files make up; exit 1 when none could be evaluated."""
    if not argv:
        print(msg("evaluate.cli_usage"), file=sys.stderr)
        return 2
    files = []
    for arg in argv:
        path = Path(arg)
        if not path.is_file():
            print(msg("evaluate.cli_not_found", file=path.name))
        elif path.stat().st_size > MAX_UPLOAD_MB * 1024 * 1024:
            reason = msg("upload.file_too_big", limit=MAX_UPLOAD_MB)
            print(msg("upload.refused", file=path.name, reason=reason))
        else:
            files.append((path.name, path.read_bytes()))
    mnist = load_mnist()
    evaluated = 0
    for group in group_uploads(files):
        label = " + ".join(name for name, _ in group)
        try:
            loaded = load_uploaded_model(group)
        except UploadRefused as refusal:
            message = str(refusal)
            print(message if message.startswith(label) else f"{label}: {message}")
            continue
        report = evaluate_model(loaded.model, mnist.x_test, mnist.y_test)
        print(msg("evaluate.cli_result", name=label, accuracy=report.accuracy, loss=report.loss))
        evaluated += 1
    return 0 if evaluated else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
