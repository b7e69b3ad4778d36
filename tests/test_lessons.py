"""The lessons' step checks against made-up session results: not done, done, done with another number."""

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from core.i18n import LANGUAGES, catalog
from core.lessons import (
    LESSONS,
    EvaluationFacts,
    LearnerResults,
    ModelFacts,
    Progress,
    RunFacts,
    StepResult,
    check_lesson,
    load_progress,
    save_progress,
)

DENSE2 = ("Dense", "Dense")
CONV = ("Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense")
MLP64 = ModelFacts("MLP 784-64-10", 50_890, DENSE2)
MLP128 = ModelFacts("MLP 784-128-10", 101_770, DENSE2)
MLP_JSON = ModelFacts("json MLP", 36_842, ("Dense",) * 4)
MLP512 = ModelFacts("MLP 512 dropout", 407_050, ("Dense", "Dropout", "Dense"))
CNN = ModelFacts("CNN 32-64-256", 824_458, CONV)
SMALL_CNN = ModelFacts("Digit Lab CNN", 31_674, ("Conv2D", "MaxPooling2D", "Flatten", "Dense"))
# The tutorials' stacks of layers with other sizes: done, with a number of their own.
WIDE_JSON = ModelFacts("wider json MLP", 118_282, ("Dense",) * 4)
MLP256 = ModelFacts("MLP 256 dropout", 203_530, ("Dense", "Dropout", "Dense"))
NARROW_CNN = ModelFacts("CNN 16-32-128", 206_922, CONV)


def run(model: ModelFacts, **changes) -> RunFacts:
    base = RunFacts(
        model=model,
        epochs=5,
        batch_size=32,
        subset_size=None,
        validation="split",
        early_stopping=False,
        checkpoint_best=False,
        val_loss=(0.5, 0.4, 0.45),
        test_accuracy=0.95,
    )
    return replace(base, **changes)


def evaluation(model: ModelFacts, kind: str, accuracy=0.95, untrained=0.1) -> EvaluationFacts:
    return EvaluationFacts(model, kind, accuracy, untrained, 0.949, 0.91, 9)


def runs(*items: RunFacts) -> LearnerResults:
    return LearnerResults(runs=items)


def uploads(*items: EvaluationFacts) -> LearnerResults:
    return LearnerResults(evaluations=items)


def events(**items: dict) -> LearnerResults:
    return LearnerResults(events=items)


def seen(model: ModelFacts, **details) -> dict:
    return details | {"model": model.to_dict()}


# For every step: results that complete it as the tutorial did, and (where the step compares a
# number) results that complete it with a different number.
CASES: dict[str, tuple[LearnerResults, LearnerResults | None]] = {
    "first_mlp.build": (LearnerResults(active=MLP64), LearnerResults(active=MLP128)),
    "first_mlp.graph": (events(inspected=seen(MLP64)), events(inspected=seen(MLP128))),
    "first_mlp.train": (runs(run(MLP64)), runs(run(MLP64, epochs=2, batch_size=128))),
    "first_mlp.save": (events(download_h5={"file": "mnist-mlp.h5"}), None),
    "first_mlp.load": (uploads(evaluation(MLP64, "h5")), None),
    "first_mlp.predict": (
        events(mistakes_viewed=seen(MLP64, mistakes=300, right=16, shown=16)),
        events(mistakes_viewed=seen(MLP64, mistakes=300, right=15, shown=16)),
    ),
    "saving.build": (LearnerResults(active=MLP_JSON), LearnerResults(active=WIDE_JSON)),
    "saving.whole": (events(download_keras={"file": "m.keras"}), None),
    "saving.parts": (
        events(download_json={"file": "a.json"}, download_weights={"file": "b"}),
        None,
    ),
    "saving.load_parts": (uploads(evaluation(MLP_JSON, "json+weights")), None),
    "saving.callbacks": (
        runs(run(MLP64, early_stopping=True, checkpoint_best=True)),
        runs(run(MLP64, early_stopping=True)),
    ),
    "saving.f1": (uploads(evaluation(MLP64, "keras")), None),
    "basics.dense": (LearnerResults(active=MLP64), LearnerResults(active=MLP128)),
    "basics.summary": (events(inspected=seen(MLP128)), None),
    "basics.fit": (runs(run(MLP64, epochs=10)), runs(run(MLP64, epochs=3))),
    "basics.history": (runs(run(CNN)), None),
    "basics.save_load": (uploads(evaluation(MLP64, "json+weights")), None),
    "checkpoints.build": (LearnerResults(active=MLP512), LearnerResults(active=MLP256)),
    "checkpoints.train": (
        runs(run(MLP512, checkpoint_best=True, subset_size=1_000, test_accuracy=0.874)),
        runs(run(MLP512, checkpoint_best=True, test_accuracy=0.981)),
    ),
    "checkpoints.download": (events(download_checkpoint={"file": "m-checkpoint.zip"}), None),
    "checkpoints.restore": (
        uploads(evaluation(MLP512, "checkpoint", accuracy=0.87, untrained=0.11)),
        uploads(evaluation(MLP512, "checkpoint", accuracy=0.97, untrained=0.11)),
    ),
    "checkpoints.savedmodel": (events(download_savedmodel={"file": "m-savedmodel.zip"}), None),
    "checkpoints.whole": (
        uploads(evaluation(MLP512, "savedmodel", accuracy=0.871)),
        uploads(evaluation(MLP512, "h5", accuracy=0.975)),
    ),
    "cnn.build": (LearnerResults(active=CNN), LearnerResults(active=NARROW_CNN)),
    "cnn.train": (runs(run(CNN, test_accuracy=0.9912)), runs(run(CNN, test_accuracy=0.975))),
    "cnn.untrained": (
        uploads(evaluation(CNN, "keras", accuracy=0.9903, untrained=0.0849)),
        uploads(evaluation(CNN, "keras", accuracy=0.9903, untrained=0.45)),
    ),
    "cnn.whole": (
        events(download_savedmodel={"file": "c-savedmodel.zip"}, download_h5={"file": "c.h5"}),
        None,
    ),
    "cnn.mistakes": (
        events(mistakes_viewed=seen(CNN, mistakes=97, right=16, shown=16)),
        events(mistakes_viewed=seen(CNN, mistakes=260, right=16, shown=16)),
    ),
    "cnn.callbacks": (
        runs(run(CNN, early_stopping=True, checkpoint_best=True, test_accuracy=0.9931)),
        runs(run(CNN, early_stopping=True, checkpoint_best=True, test_accuracy=0.985)),
    ),
}
STEPS = {step.key: step for lesson in LESSONS for step in lesson.steps}


def test_every_step_has_test_cases():
    assert set(CASES) == set(STEPS)


def test_nothing_done_leaves_every_step_to_do():
    for lesson in LESSONS:
        for result in check_lesson(lesson, LearnerResults()).values():
            assert result == StepResult("todo")


@pytest.mark.parametrize("key", sorted(CASES))
def test_step_done_as_the_tutorial_did(key):
    result = STEPS[key].check(CASES[key][0])
    assert result.status == "done", result
    for language in LANGUAGES:
        assert result.yours.render(language)


@pytest.mark.parametrize("key", sorted(k for k, (_, differs) in CASES.items() if differs))
def test_step_done_with_a_different_number(key):
    result = STEPS[key].check(CASES[key][1])
    assert result.status == "differs", result
    assert result.yours is not None


def test_the_learners_number_is_shown():
    result = STEPS["cnn.train"].check(CASES["cnn.train"][1])
    assert "97.50%" in result.yours.render("en") and "97.50%" in result.yours.render("ko")
    result = STEPS["first_mlp.build"].check(CASES["first_mlp.build"][1])
    assert result.yours.render("en") == "101,770 parameters (MLP 784-128-10)"
    restored = STEPS["checkpoints.restore"].check(CASES["checkpoints.restore"][0])
    assert restored.yours.render("ko") == "학습 전 11.00%, 복원 후 87.00%"


def test_steps_ignore_results_of_another_kind():
    assert STEPS["cnn.build"].check(LearnerResults(active=MLP64)).status == "todo"
    # Another stack of layers is another network, not the tutorial's with other sizes.
    assert STEPS["cnn.build"].check(LearnerResults(active=SMALL_CNN)).status == "todo"
    assert STEPS["checkpoints.build"].check(LearnerResults(active=MLP64)).status == "todo"
    assert STEPS["first_mlp.build"].check(LearnerResults(active=MLP512)).status == "todo"
    with_checkpoint = run(MLP64, checkpoint_best=True, subset_size=1_000, test_accuracy=0.86)
    assert STEPS["checkpoints.train"].check(runs(with_checkpoint)).status == "todo"
    assert STEPS["cnn.train"].check(runs(run(SMALL_CNN, test_accuracy=0.9908))).status == "todo"
    assert STEPS["cnn.mistakes"].check(CASES["first_mlp.predict"][0]).status == "todo"
    # A training without the checkpoint callback does not count for the checkpoint lesson.
    assert STEPS["checkpoints.train"].check(runs(run(MLP512))).status == "todo"
    # Both files are needed for architecture + weights; one of them is not enough.
    assert STEPS["saving.parts"].check(events(download_json={"file": "a"})).status == "todo"
    # Weights loaded into the active architecture are not the .h5 of the first lesson.
    assert STEPS["first_mlp.load"].check(uploads(evaluation(MLP64, "weights"))).status == "todo"
    # A run without validation data gives no curves to read.
    assert STEPS["basics.history"].check(runs(run(MLP64, val_loss=()))).status == "todo"


def test_the_tutorials_own_formats_count():
    """Steps that the new downloads and uploads make possible, in their tutorial's form only."""
    restore = STEPS["checkpoints.restore"].check
    checkpoint = evaluation(MLP512, "checkpoint", accuracy=0.86, untrained=0.119)
    assert restore(uploads(checkpoint)).status == "done"
    # Weights loaded into the active architecture still count; a whole .h5 is not a checkpoint.
    assert restore(uploads(replace(checkpoint, kind="weights"))).status == "done"
    assert restore(uploads(replace(checkpoint, kind="h5"))).status == "todo"
    # The restored figure stands beside the untrained one, in both languages.
    assert restore(uploads(checkpoint)).yours.render("en") == "untrained 11.90%, restored 86.00%"
    # The best-only .weights.h5 is not the tutorial's checkpoint files.
    download = STEPS["checkpoints.download"].check
    assert download(events(download_best={"file": "run-best.weights.h5"})).status == "todo"
    saved = download(events(download_checkpoint={"file": "mlp-checkpoint.zip"}))
    assert saved.yours.render("ko") == "내려받음: mlp-checkpoint.zip"
    # A SavedModel upload of the tutorial's network, near or far from its 86.30%.
    whole = STEPS["checkpoints.whole"].check
    near = whole(uploads(evaluation(MLP512, "savedmodel", accuracy=0.8412)))
    assert near.status == "done" and "84.12%" in near.yours.render("en")
    assert whole(uploads(evaluation(MLP512, "savedmodel", accuracy=0.80))).status == "differs"
    assert whole(uploads(evaluation(MLP64, "savedmodel", accuracy=0.863))).status == "todo"
    assert whole(uploads(evaluation(MLP512, "json+weights", accuracy=0.863))).status == "todo"
    # The CNN's checkpoint: restored versus untrained; both downloads needed for the whole CNN.
    cnn = evaluation(CNN, "checkpoint", accuracy=0.9911, untrained=0.1484)
    assert STEPS["cnn.untrained"].check(uploads(cnn)).status == "done"
    only_one = events(download_savedmodel={"file": "c-savedmodel.zip"})
    assert STEPS["cnn.whole"].check(only_one).status == "todo"
    keras_too = events(download_savedmodel={"file": "c-savedmodel.zip"}, download_keras={})
    assert STEPS["cnn.whole"].check(keras_too).status == "todo"


def test_the_closest_result_counts():
    far, near = run(CNN, test_accuracy=0.97), run(CNN, test_accuracy=0.9905)
    assert STEPS["cnn.train"].check(runs(far, near)).status == "done"
    # The built network counts even when a run of another network exists.
    both = LearnerResults(active=MLP64, runs=(run(MLP128),))
    assert STEPS["first_mlp.build"].check(both).status == "done"


def test_every_text_exists_in_every_language():
    for language in LANGUAGES:
        texts = catalog(language)
        assert "nav.lessons" in texts
        for lesson in LESSONS:
            for part in ("title", "intro", "differ"):
                assert f"lessons.{lesson.key}.{part}" in texts
            for step in lesson.steps:
                for part in ("title", "do"):
                    assert f"lessons.{step.key}.{part}" in texts
                assert (f"lessons.{step.key}.note" in texts) == step.note, step.key
                assert step.tutorial.render(language)  # every placeholder is filled


def test_bold_marks_close_in_every_language():
    """A closing ** after punctuation and before a letter stays literal in Markdown (CommonMark)."""
    for language in LANGUAGES:
        for key, text in catalog(language).items():
            if key.startswith("lessons."):
                for bold in re.finditer(r"\*\*(.+?)\*\*", text):
                    last, after = bold.group(1)[-1], text[bold.end() : bold.end() + 1]
                    assert last.isalnum() or last == "`" or not after.isalnum(), (key, text)


def test_tutorial_figures_are_the_tutorials():
    figures = {step.key: step.tutorial.render("en") for step in STEPS.values()}
    assert figures["first_mlp.build"].startswith("50,890 parameters")
    assert figures["saving.build"].startswith("36,842 parameters")
    assert figures["checkpoints.build"].startswith("407,050 parameters")
    assert figures["cnn.build"].startswith("824,458 parameters")
    assert "261 trainable parameters" in figures["basics.summary"]
    assert "untrained 11.90%" in figures["checkpoints.restore"]
    assert figures["checkpoints.whole"].startswith("86.30% after loading the SavedModel")
    assert figures["cnn.whole"].startswith("Both load back to 99.08%")
    assert "restored 86.00%" in figures["checkpoints.restore"]
    assert "99.08%" in figures["cnn.train"] and "99.28%" in figures["cnn.callbacks"]
    assert "8.49%" in figures["cnn.untrained"] and "14.84%" in figures["cnn.untrained"]
    assert "About 92 mistakes" in figures["cnn.mistakes"]
    assert "precision 2 / 5 = 40%" in figures["saving.f1"] and "F1 = 28.6%" in figures["saving.f1"]


def test_parameter_counts_match_keras():
    import keras

    from core.build import build_model
    from core.presets import PRESETS
    from core.spec import NetworkSpec, analyze, dense

    assert build_model(PRESETS["mlp_sgd"].spec).count_params() == 50_890
    assert build_model(PRESETS["mlp_dropout"].spec).count_params() == 407_050
    assert build_model(PRESETS["cnn"].spec).count_params() == 824_458
    json_mlp = NetworkSpec("json", (dense(32), dense(64), dense(128), dense(10, "softmax")))
    assert analyze(json_mlp).total_params == 36_842
    toy = keras.Sequential([keras.Input((2,))])
    for units in (10, 10, 10, 1):
        toy.add(keras.layers.Dense(units))
        toy.add(keras.layers.Activation("sigmoid"))
    assert toy.count_params() == 261


def test_progress_never_falls_back_and_survives_the_disk(tmp_path):
    path = tmp_path / "owner" / "lessons.json"
    progress = load_progress(path)  # missing file: empty progress
    assert progress.steps == {}
    build = STEPS["first_mlp.build"]
    done = build.check(CASES["first_mlp.build"][0])
    differs = build.check(CASES["first_mlp.build"][1])
    assert progress.keep({build.key: done})[build.key] == done
    # Later the learner builds another MLP: the tutorial's count stays ticked off.
    assert progress.keep({build.key: differs})[build.key] == done
    assert progress.keep({build.key: StepResult("todo")})[build.key] == done
    progress.events["first_mlp"] = {"download_h5": {"file": "x.h5"}}
    progress.evaluations["first_mlp"] = {"x|h5": evaluation(MLP64, "h5")}
    progress.runs["20261202-031500-ab12"] = "first_mlp"
    save_progress(path, progress)
    again = load_progress(path)
    assert again == progress
    # Nested messages (yes/no inside the callbacks result) survive the round trip.
    callbacks = STEPS["saving.callbacks"].check(CASES["saving.callbacks"][1])
    again.keep({"saving.callbacks": callbacks})
    save_progress(path, again)
    assert load_progress(path).steps["saving.callbacks"].yours.render("ko") == (
        callbacks.yours.render("ko")
    )


def test_a_done_step_keeps_the_result_that_did_it():
    """Lesson 5: step 2's result (its own run) does not switch to step 6's later, closer run."""
    step = STEPS["cnn.train"]
    own = step.check(runs(run(CNN, test_accuracy=0.9901)))
    later = step.check(runs(run(CNN, test_accuracy=0.9907)))
    progress = Progress()
    progress.keep({step.key: own})
    assert progress.keep({step.key: later})[step.key] == own
    # A step that differed takes the learner's next try, and a done one over it.
    differs = step.check(runs(run(CNN, test_accuracy=0.97)))
    closer = step.check(runs(run(CNN, test_accuracy=0.98)))
    fresh = Progress()
    fresh.keep({step.key: differs})
    assert fresh.keep({step.key: closer})[step.key] == closer
    assert fresh.keep({step.key: own})[step.key] == own


def test_a_file_from_before_lessons_kept_their_own_results_keeps_only_its_steps(tmp_path):
    path = tmp_path / "lessons.json"
    done = {"status": "done", "yours": None}
    old = {"events": {"download_h5": {"file": "x.h5"}}, "steps": {"first_mlp.save": done}}
    path.write_text(json.dumps(old))
    assert load_progress(path) == Progress(steps={"first_mlp.save": StepResult("done")})


def test_a_damaged_progress_file_starts_over(tmp_path):
    path = tmp_path / "lessons.json"
    path.write_text("{not json")
    assert load_progress(path) == Progress()
    path.write_text('{"steps": {"x": {"status": "hacked"}}}')
    assert load_progress(path).steps["x"].status == "todo"


def test_the_loaders_kinds_are_the_ones_the_steps_look_for():
    """Real tf.keras 2.15 files: a zipped SavedModel and a checkpoint with its JSON count."""
    from core.loading import load_uploaded_model

    folder = Path(__file__).parent / "fixtures" / "old_keras" / "tf2.15.1"

    def files(*names: str) -> list[tuple[str, bytes]]:
        return [(name, (folder / name).read_bytes()) for name in names]

    saved = load_uploaded_model(files("mlp_savedmodel.zip"))
    checkpoint = load_uploaded_model(
        files("mlp.json", "mlp_cp.ckpt.index", "mlp_cp.ckpt.data-00000-of-00001")
    )
    for loaded, step in ((saved, "checkpoints.whole"), (checkpoint, "checkpoints.restore")):
        facts = evaluation(MLP512, loaded.kind, accuracy=0.863, untrained=0.1)
        assert STEPS[step].check(uploads(facts)).status == "done", (step, loaded.kind)
    cnn = evaluation(CNN, checkpoint.kind, accuracy=0.9908, untrained=0.1)
    assert STEPS["cnn.untrained"].check(uploads(cnn)).status == "done"
