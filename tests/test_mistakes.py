"""Mistakes: tables agree with direct numpy, filters and pages select exactly the right rows."""

import numpy as np
import pytest

from core.mistakes import (
    COLUMNS,
    accuracy,
    confusion_matrix,
    filter_mistakes,
    find_mistakes,
    images_for,
    mistakes_in_cell,
    page_count,
    page_of,
    prediction_table,
    random_sample,
    sort_mistakes,
)

N = 2000


@pytest.fixture(scope="module")
def case(mnist):
    """Real test labels with made-up probabilities: ~30% wrong, some tied confidences."""
    rng = np.random.default_rng(0)
    y = mnist.y_test[:N]
    probs = rng.dirichlet(np.ones(10), size=N).astype("float32")
    right = rng.random(N) > 0.3
    probs[right, y[right]] += 2  # make the true class win for most rows
    probs /= probs.sum(axis=1, keepdims=True)
    probs[:50] = probs[50]  # identical rows: equal confidences must still sort by index
    return probs, y


def test_mistakes_agree_with_numpy(case):
    probs, y = case
    df = find_mistakes(probs, y)
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y)
    assert list(df.columns) == COLUMNS
    assert 400 < len(df) < 900
    np.testing.assert_array_equal(df["index"], wrong)
    np.testing.assert_array_equal(df["true"], y[wrong])
    np.testing.assert_array_equal(df["predicted"], predicted[wrong])
    np.testing.assert_allclose(df["confidence"], probs[wrong].max(axis=1))
    np.testing.assert_allclose(df["true_probability"], probs[wrong, y[wrong]])
    assert (df["predicted"] != df["true"]).all()
    assert accuracy(probs, y) == pytest.approx(1 - len(wrong) / N)


def test_images_are_looked_up_by_test_index(case, mnist):
    probs, y = case
    df = find_mistakes(probs, y, order="confidence").iloc[5:9]
    images = images_for(df, mnist.x_test)
    for image, index in zip(images, df["index"], strict=True):
        np.testing.assert_array_equal(image, mnist.x_test[index])
    # The tutorial bug (x_test[i] for the i-th row) would show other digits here.
    assert not np.array_equal(images, mnist.x_test[5:9])


def test_sort_orders(case):
    probs, y = case
    by_confidence = find_mistakes(probs, y, order="confidence")
    conf = by_confidence["confidence"].to_numpy()
    assert np.all(np.diff(conf) <= 0)
    ties = np.diff(conf) == 0
    assert ties.any()  # rows 0-50 share one probability row, so several mistakes tie
    assert np.all(np.diff(by_confidence["index"].to_numpy())[ties] > 0)
    by_index = sort_mistakes(by_confidence, "index")
    assert np.all(np.diff(by_index["index"].to_numpy()) > 0)
    assert set(by_index["index"]) == set(by_confidence["index"])
    with pytest.raises(ValueError, match="sort order"):
        sort_mistakes(by_index, "size")


def test_filters_return_exactly_the_right_set(case):
    probs, y = case
    df = find_mistakes(probs, y, order="confidence")
    predicted = probs.argmax(axis=1)
    wrong = predicted != y
    for digit in range(10):
        got = filter_mistakes(df, true_class=digit)
        assert set(got["index"]) == set(np.flatnonzero(wrong & (y == digit)))
        got = filter_mistakes(df, predicted_class=digit)
        assert set(got["index"]) == set(np.flatnonzero(wrong & (predicted == digit)))
    both = filter_mistakes(df, true_class=4, predicted_class=9)
    assert set(both["index"]) == set(np.flatnonzero((y == 4) & (predicted == 9)))
    assert np.all(np.diff(both["confidence"].to_numpy()) <= 0)  # order is kept
    assert len(filter_mistakes(df)) == len(df)


def test_confusion_matrix_and_cells(case):
    probs, y = case
    predicted = probs.argmax(axis=1)
    matrix = confusion_matrix(y, predicted)
    assert matrix.shape == (10, 10)
    assert matrix.sum() == N
    for t in range(10):
        for p in range(10):
            assert matrix[t, p] == np.sum((y == t) & (predicted == p))
    df = find_mistakes(probs, y)
    off_diagonal = matrix - np.diag(np.diag(matrix))
    assert off_diagonal.sum() == len(df)
    for t in range(10):
        for p in range(10):
            cell = mistakes_in_cell(df, t, p)
            assert len(cell) == off_diagonal[t, p]
            expected = np.flatnonzero((y == t) & (predicted == p)) if t != p else []
            assert set(cell["index"]) == set(expected)


def test_paging_covers_every_mistake_once(case):
    probs, y = case
    df = find_mistakes(probs, y, order="confidence")
    per_page = 24
    pages = page_count(df, per_page)
    assert pages == -(-len(df) // per_page)
    seen = np.concatenate([page_of(df, p, per_page)["index"] for p in range(1, pages + 1)])
    np.testing.assert_array_equal(seen, df["index"])  # each once, in order
    assert all(len(page_of(df, p, per_page)) == per_page for p in range(1, pages))
    # Out-of-range pages clamp rather than show nothing after a filter shrinks the table.
    assert page_of(df, pages + 5, per_page).equals(page_of(df, pages, per_page))
    assert page_of(df, 0, per_page).equals(page_of(df, 1, per_page))


def test_no_mistakes_gives_one_empty_page():
    probs = np.eye(10, dtype="float32")
    df = find_mistakes(probs, np.arange(10))
    assert len(df) == 0
    assert list(df.columns) == COLUMNS
    assert page_count(df) == 1
    assert len(page_of(df, 1)) == 0
    assert accuracy(probs, np.arange(10)) == 1


def test_random_sample_is_reproducible_and_distinct(case):
    probs, y = case
    a, b = random_sample(24, seed=3, total=N), random_sample(24, seed=3, total=N)
    np.testing.assert_array_equal(a, b)
    assert len(set(a)) == 24 and a.min() >= 0 and a.max() < N
    assert not np.array_equal(a, random_sample(24, seed=4, total=N))
    assert len(random_sample(50, seed=0, total=7)) == 7
    table = prediction_table(probs, y, a)
    np.testing.assert_array_equal(table["index"], a)
    np.testing.assert_array_equal(table["true"], y[a])
    np.testing.assert_array_equal(table["predicted"], probs[a].argmax(axis=1))
