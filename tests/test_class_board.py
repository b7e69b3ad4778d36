"""The class board (ranking, best run per learner, nothing secret in it) and nickname rules."""

from __future__ import annotations

import pytest

from core.class_board import best_per_learner, class_board, find_row
from core.presets import PRESETS
from core.runs import (
    METRICS_FILE,
    SPEC_FILE,
    NicknameError,
    check_nickname,
    new_owner_token,
    write_json_atomic,
)


def add_run(store, owner, preset, accuracy, train_seconds=10.0, status="finished") -> str:
    """A run folder as a TrainingJob leaves it (spec.json, metrics.json), without the training."""
    path = store.new_run_dir(owner)
    spec = PRESETS[preset].spec
    write_json_atomic(path / SPEC_FILE, {"name": spec.name, "spec": spec.to_dict(), "config": {}})
    if status != "incomplete":
        metrics = {"status": status, "test_accuracy": accuracy, "train_seconds": train_seconds}
        write_json_atomic(path / METRICS_FILE, metrics)
    return path.name


def test_runs_of_every_learner_are_ranked_by_accuracy_then_size_then_time(store):
    mina, joon, ara = new_owner_token(), new_owner_token(), new_owner_token()
    store.save_nickname(mina, "Mina")
    store.save_nickname(joon, "Joon")
    add_run(store, mina, "mlp_sgd", 0.95)
    add_run(store, mina, "cnn", 0.99, train_seconds=50)
    add_run(store, joon, "default", 0.99, train_seconds=30)  # fewer parameters than the CNN
    add_run(store, joon, "mlp_dropout", 0.99, train_seconds=20)
    add_run(store, ara, "mlp_sgd", None, status="incomplete")  # still training
    rows = class_board(store)
    assert [(r.rank, r.nickname, r.network) for r in rows] == [
        (1, "Joon", PRESETS["default"].spec.name),
        (2, "Joon", PRESETS["mlp_dropout"].spec.name),
        (3, "Mina", PRESETS["cnn"].spec.name),
        (4, "Mina", PRESETS["mlp_sgd"].spec.name),
        (None, None, PRESETS["mlp_sgd"].spec.name),
    ]
    params = [r.parameters for r in rows[:3]]
    assert params[0] < params[2] and rows[3].parameters == 50_890
    assert rows[3].layers == "Dense(64, relu) · Dense(10, softmax)"
    best = class_board(store, best_only=True)
    assert [(r.rank, r.nickname) for r in best] == [(1, "Joon"), (2, "Mina"), (None, None)]
    assert best_per_learner(rows) == best


def test_the_board_never_carries_a_token_where_it_could_be_shown(store):
    owner = new_owner_token()
    run_id = add_run(store, owner, "mlp_sgd", 0.9)
    (row,) = class_board(store)
    assert row.owner == owner  # kept for loading the run, but not in the key or the label parts
    shown = [row.key, row.network, row.layers, row.run_id, str(row.nickname)]
    assert not any(owner[i : i + 6] in part for part in shown for i in range(11))
    assert find_row([row], row.key) is row and find_row([row], f"{owner}-{run_id}") is None


def test_damaged_profiles_and_runs_do_not_break_the_board(store):
    owner = new_owner_token()
    add_run(store, owner, "mlp_sgd", 0.9)
    (store.owner_dir(owner) / "profile.json").write_text('["not", "a", "profile"]')
    broken = store.new_run_dir(owner)
    (broken / SPEC_FILE).write_text("[1, 2]")
    rows = class_board(store)
    assert [r.nickname for r in rows] == [None, None] and rows[0].rank == 1
    assert rows[1].rank is None and rows[1].parameters is None


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Mina", "Mina"),
        ("  Mina   Park ", "Mina Park"),
        ("민아", "민아"),
        ("O'Neil-2.b_c", "O'Neil-2.b_c"),
    ],
)
def test_good_nicknames_are_tidied(typed, kept):
    assert check_nickname(typed) == kept


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("", "class.nickname_empty"),
        ("   ", "class.nickname_empty"),
        (None, "class.nickname_empty"),
        ("x" * 25, "class.nickname_too_long"),
        ("<script>", "class.nickname_characters"),
        ("a\u202eb", "class.nickname_characters"),  # right-to-left override
        ("a\nb\x00", "class.nickname_characters"),
        ("🙂", "class.nickname_characters"),
    ],
)
def test_bad_nicknames_say_why(typed, key):
    with pytest.raises(NicknameError) as error:
        check_nickname(typed)
    assert error.value.message.key == key and str(error.value)


def test_a_nickname_is_kept_beside_the_runs(store):
    owner = new_owner_token()
    assert store.nickname(owner) is None and store.owners() == []
    assert store.save_nickname(owner, " Mina ") == "Mina"
    assert store.nickname(owner) == "Mina" and store.owners() == [owner]
    with pytest.raises(NicknameError):
        store.save_nickname(owner, "<b>")
    assert store.nickname(owner) == "Mina"
