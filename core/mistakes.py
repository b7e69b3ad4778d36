"""Find, filter, sort and page through a model's mistakes on the test set.

Every table carries `index`, the position in the test set. Show `x_test[row.index]`, never the
i-th test image: after filtering or sorting, row i is not test digit i.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.digit_shape import NUM_CLASSES

COLUMNS = ["index", "true", "predicted", "confidence", "true_probability"]
SORT_ORDERS = ("confidence", "index")  # most confident first; test-set order
DEFAULT_PER_PAGE = 24


def predicted_classes(probs: np.ndarray) -> np.ndarray:
    """The most probable class of every row."""
    return np.asarray(probs).argmax(axis=1)


def accuracy(probs: np.ndarray, y_true: np.ndarray) -> float:
    """Fraction of rows whose most probable class is the true label."""
    if len(y_true) == 0:
        return float("nan")
    return float(np.mean(predicted_classes(probs) == np.asarray(y_true)))


def prediction_table(
    probs: np.ndarray, y_true: np.ndarray, indices: np.ndarray | None = None
) -> pd.DataFrame:
    """One row per test digit (all, or the given test indices) with its prediction."""
    probs = np.asarray(probs)
    y_true = np.asarray(y_true).astype("int64")
    if len(probs) != len(y_true):
        raise ValueError(f"{len(probs)} predictions for {len(y_true)} labels")
    rows = np.arange(len(y_true)) if indices is None else np.asarray(indices, dtype="int64")
    p, y = probs[rows], y_true[rows]
    predicted = p.argmax(axis=1)
    return pd.DataFrame(
        {
            "index": rows,
            "true": y,
            "predicted": predicted,
            "confidence": p[np.arange(len(rows)), predicted].astype("float32"),
            "true_probability": p[np.arange(len(rows)), y].astype("float32"),
        },
        columns=COLUMNS,
    )


def find_mistakes(probs: np.ndarray, y_true: np.ndarray, order: str = "index") -> pd.DataFrame:
    """The misclassified test digits, one row each, in the given sort order."""
    table = prediction_table(probs, y_true)
    wrong = table[table["predicted"] != table["true"]]
    return sort_mistakes(wrong, order)


def sort_mistakes(df: pd.DataFrame, order: str) -> pd.DataFrame:
    """Sort by "confidence" (most confident first, ties by index) or by test "index"."""
    if order == "confidence":
        # Stable mergesort on a by-index frame keeps equal confidences in test-set order.
        by_index = df.sort_values("index", kind="mergesort")
        result = by_index.sort_values("confidence", ascending=False, kind="mergesort")
    elif order == "index":
        result = df.sort_values("index", kind="mergesort")
    else:
        raise ValueError(f"unknown sort order {order!r}; choose from {SORT_ORDERS}")
    return result.reset_index(drop=True)


def filter_mistakes(
    df: pd.DataFrame, true_class: int | None = None, predicted_class: int | None = None
) -> pd.DataFrame:
    """Rows with the given true and/or predicted class (None keeps all); order is kept."""
    keep = np.ones(len(df), dtype=bool)
    if true_class is not None:
        keep &= df["true"].to_numpy() == true_class
    if predicted_class is not None:
        keep &= df["predicted"].to_numpy() == predicted_class
    return df[keep].reset_index(drop=True)


def mistakes_in_cell(df: pd.DataFrame, true: int, predicted: int) -> pd.DataFrame:
    """The mistakes in one cell of the confusion matrix (row true, column predicted)."""
    return filter_mistakes(df, true_class=true, predicted_class=predicted)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts (10, 10): row is the true class, column the predicted class."""
    y_true = np.asarray(y_true).astype("int64")
    y_pred = np.asarray(y_pred).astype("int64")
    flat = np.bincount(y_true * NUM_CLASSES + y_pred, minlength=NUM_CLASSES * NUM_CLASSES)
    return flat.reshape(NUM_CLASSES, NUM_CLASSES)


def page_count(df: pd.DataFrame, per_page: int = DEFAULT_PER_PAGE) -> int:
    """Number of pages, at least 1 so an empty table still has a (blank) first page."""
    return max(1, math.ceil(len(df) / per_page))


def page_of(df: pd.DataFrame, page: int, per_page: int = DEFAULT_PER_PAGE) -> pd.DataFrame:
    """Rows of a 1-based page; pages past either end are clamped to the first or last."""
    page = min(max(1, page), page_count(df, per_page))
    start = (page - 1) * per_page
    return df.iloc[start : start + per_page]


def images_for(df: pd.DataFrame, x_test: np.ndarray) -> np.ndarray:
    """The test images of the table's rows, looked up by their test index."""
    return x_test[df["index"].to_numpy()]


def random_sample(n: int, seed: int, total: int) -> np.ndarray:
    """n distinct test indices (fewer if total is smaller), reproducible for a seed."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=min(n, total), replace=False))
