"""The evaluation report agrees with direct computations; the command line evaluates files."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest

from core.data import load_mnist, to_model_input
from core.evaluate import evaluate_model, rank_reports, untrained_copy
from core.export import export_to_bytes
from core.inspect import ROOT
from core.persist import model_to_bytes
from core.predict import as_probabilities
from tests.hostile_files import hostile_corpus

N = 1000


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def _mlp(activation: str = "softmax") -> keras.Sequential:
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(32, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation=activation, name="out"),
        ],
        name="mlp",
    )


@pytest.fixture(scope="module")
def trained(mnist):
    model = _mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = to_model_input(mnist.x_train[:2000], (784,))
    model.fit(x, mnist.y_train[:2000], epochs=1, batch_size=32, verbose=0)
    return model


def test_report_matches_direct_numpy_and_keras(trained, mnist):
    x, y = mnist.x_test[:N], mnist.y_test[:N].astype(int)
    report = evaluate_model(trained, x, y)
    probs = trained.predict(to_model_input(x, (784,)), verbose=0)
    predicted = probs.argmax(1)
    assert report.probabilities.dtype == np.float32 and report.probabilities.shape == (N, 10)
    np.testing.assert_array_equal(report.predicted, predicted)
    assert report.accuracy == pytest.approx((predicted == y).mean())
    assert 0.5 < report.accuracy < 1.0  # trained briefly: well above chance, some mistakes
    keras_loss, keras_accuracy = trained.evaluate(to_model_input(x, (784,)), y, verbose=0)
    assert report.loss == pytest.approx(keras_loss, rel=1e-4)
    assert report.accuracy == pytest.approx(keras_accuracy)
    confusion = np.zeros((10, 10), int)
    for true, guess in zip(y, predicted, strict=True):
        confusion[true, guess] += 1
    np.testing.assert_array_equal(report.confusion, confusion)
    assert report.errors == N - np.trace(confusion)
    for digit in range(10):
        row = report.per_class.loc[str(digit)]
        tp = ((predicted == digit) & (y == digit)).sum()
        precision = tp / max((predicted == digit).sum(), 1)
        recall = tp / (y == digit).sum()
        assert row["precision"] == pytest.approx(precision)
        assert row["recall"] == pytest.approx(recall)
        f1 = 0 if tp == 0 else 2 * precision * recall / (precision + recall)
        assert row["f1"] == pytest.approx(f1)
        assert row["support"] == (y == digit).sum()
    table = report.per_class
    assert table.loc["macro avg", "recall"] == pytest.approx(table["recall"].iloc[:10].mean())
    # Weighted recall is plain accuracy.
    assert table.loc["weighted avg", "recall"] == pytest.approx(report.accuracy)
    assert table.loc["weighted avg", "support"] == N


def test_logits_are_turned_into_probabilities(trained, mnist):
    logits_model = _mlp(activation="linear")
    logits_model.set_weights(trained.get_weights())
    x, y = mnist.x_test[:N], mnist.y_test[:N]
    from_logits = evaluate_model(logits_model, x, y)
    from_probs = evaluate_model(trained, x, y)
    np.testing.assert_array_equal(from_logits.predicted, from_probs.predicted)
    assert from_logits.loss == pytest.approx(from_probs.loss, rel=1e-4)
    np.testing.assert_allclose(from_logits.probabilities.sum(1), 1.0, rtol=1e-5)
    probabilities = np.array([[0.2, 0.8] + [0.0] * 8], dtype="float32")
    np.testing.assert_array_equal(as_probabilities(probabilities), probabilities)


def test_untrained_copy_is_same_architecture_at_chance(trained, mnist):
    copy = untrained_copy(trained)
    assert [type(layer) for layer in copy.layers] == [type(layer) for layer in trained.layers]
    assert [w.shape for w in copy.get_weights()] == [w.shape for w in trained.get_weights()]
    assert not np.allclose(copy.get_weights()[0], trained.get_weights()[0])
    report = evaluate_model(copy, mnist.x_test[:N], mnist.y_test[:N])
    assert report.accuracy < 0.35  # about 10%: random weights guess


def test_rank_reports_sorts_by_accuracy(trained, mnist):
    x, y = mnist.x_test[:N], mnist.y_test[:N]
    reports = {"untrained": evaluate_model(untrained_copy(trained), x, y)}
    reports["trained"] = evaluate_model(trained, x, y)
    table = rank_reports(reports)
    assert list(table["model"]) == ["trained", "untrained"]
    assert list(table.index) == [1, 2]
    assert table.loc[1, "accuracy"] == pytest.approx(reports["trained"].accuracy)
    assert table.loc[1, "errors"] == reports["trained"].errors


def _cli(*paths) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.evaluate", *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_command_line_evaluates_good_files_and_refuses_bad_ones(trained, tmp_path):
    good = tmp_path / "good.keras"
    good.write_bytes(model_to_bytes(trained, "keras"))
    (tmp_path / "arch.json").write_bytes(model_to_bytes(trained, "json"))
    (tmp_path / "arch.weights.h5").write_bytes(model_to_bytes(trained, "weights"))
    marker = tmp_path / "pwned.txt"
    lambda_case = hostile_corpus(marker)[0]
    bad = tmp_path / lambda_case.files[0][0]
    bad.write_bytes(lambda_case.files[0][1])
    done = _cli(good, bad, tmp_path / "arch.json", tmp_path / "arch.weights.h5")
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(lines) == 3
    assert lines[0].startswith("good.keras: test accuracy 0.")
    assert lines[1].startswith("lambda.keras") and "Lambda layer" in lines[1]
    assert lines[2].startswith("arch.json + arch.weights.h5: test accuracy 0.")
    assert lines[0].split("accuracy ")[1][:6] == lines[2].split("accuracy ")[1][:6]
    only_bad = _cli(bad, tmp_path / "missing.h5")
    assert only_bad.returncode == 1
    assert "missing.h5: not found" in only_bad.stdout
    assert not marker.exists()


def test_command_line_takes_a_checkpoint_group_and_a_savedmodel_zip():
    made = ROOT / "tests" / "fixtures" / "old_keras" / "tf2.15.1"
    checkpoint = [made / "cnn.json", made / "cnn_cp.ckpt.index"]
    checkpoint.append(made / "cnn_cp.ckpt.data-00000-of-00001")
    done = _cli(*checkpoint, made / "mlp_savedmodel.zip")
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, done.stderr[-2000:]
    assert lines[0].startswith("mlp_savedmodel.zip: test accuracy 0.")
    assert lines[1].startswith(
        "cnn.json + cnn_cp.ckpt.index + cnn_cp.ckpt.data-00000-of-00001: test accuracy 0."
    )
    assert all("(loss " in line for line in lines) and len(lines) == 2


def test_command_line_evaluates_graph_only_savedmodels(trained, mnist, tmp_path):
    # The app's own SavedModel download and Keras 3.0's model.export: no Keras metadata in either.
    exported = tmp_path / "mine-savedmodel.zip"
    exported.write_bytes(export_to_bytes(trained, "savedmodel", "my_model"))
    made = ROOT / "tests" / "fixtures" / "old_keras" / "keras3.0.5" / "cnn_savedmodel.zip"
    done = _cli(exported, made)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, done.stderr[-2000:]
    expected = evaluate_model(trained, mnist.x_test, mnist.y_test).accuracy
    assert lines[0].startswith(f"mine-savedmodel.zip: test accuracy {expected:.4f} (loss ")
    assert lines[1].startswith("cnn_savedmodel.zip: test accuracy 0.") and len(lines) == 2
