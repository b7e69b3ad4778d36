"""The five tutorials as lessons: steps, the Keras lines they stand for, the tutorials' figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.i18n import Message, msg
from core.lessons.checks import (
    TEST_DIGITS,
    built,
    callbacks_used,
    curves_read,
    downloaded,
    evaluated,
    evaluated_to,
    inspected,
    mistakes_seen,
    predicted,
    scores_read,
    trained_to,
    trained_with,
    untrained_vs_restored,
)
from core.lessons.facts import Check, LearnerResults, ModelFacts, RunFacts, StepResult


@dataclass(frozen=True)
class Step:
    """What to do in which page, the Keras lines it stands for, the tutorial's figure, its check."""

    key: str  # "first_mlp.build"; its texts are lessons.<key>.title, .do, .tutorial (and .note)
    page: str  # the page that does it: app_pages/<page>.py
    code: str  # the tutorial's Keras line(s); `#: key` comments are read from the catalogs
    tutorial: Message  # what the tutorial got
    check: Check
    note: bool = False  # lessons.<key>.note says what the app does differently or cannot do


@dataclass(frozen=True)
class Lesson:
    """One tutorial: its title, intro and why-numbers-differ texts, and its steps."""

    key: str
    source: str  # the tutorial's file in the seeds folder
    steps: tuple[Step, ...]


def _is_mlp(model: ModelFacts) -> bool:
    return model.is_mlp


def shaped(*layers: str) -> Callable[[ModelFacts], bool]:
    """A network with exactly the tutorial's stack of layers (sizes may differ)."""

    def same_stack(model: ModelFacts) -> bool:
        return model.layers == layers

    return same_stack


# The tutorials' networks as stacks of Keras layer classes (MaxPool2D is MaxPooling2D).
TWO_DENSE = shaped("Dense", "Dense")
FOUR_DENSE = shaped("Dense", "Dense", "Dense", "Dense")
DENSE_DROPOUT = shaped("Dense", "Dropout", "Dense")
TUTORIAL_CNN = shaped(
    "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"
)


def _anything(model: ModelFacts) -> bool:
    return True


def _with_checkpoint(run: RunFacts) -> bool:
    return run.checkpoint_best


def _with_both_callbacks(run: RunFacts) -> bool:
    return run.checkpoint_best and run.early_stopping


def _tutorial(key: str, **figures: Any) -> Message:
    return msg(f"lessons.{key}.tutorial", **figures)


MLP_64 = 50_890  # 784*64+64 + 64*10+10
MLP_JSON = 36_842  # 784-32-64-128-10, the architecture JSON in the second tutorial
MLP_512 = 407_050  # 784*512+512 + 512*10+10
CNN = 824_458  # 320 + 18,496 + 803,072 + 2,570
TOY_SUMMARY = 261  # 2-10-10-10-1 with sigmoids: 30 + 110 + 110 + 11
CHECKPOINT_RESTORED = 0.86  # 1,000 training digits, 10 epochs, restored from cp.ckpt
CHECKPOINT_UNTRAINED = 0.119
SAVEDMODEL_RESTORED = 0.863  # the same network saved whole and loaded back
CNN_TEST = 0.9908
CNN_CALLBACKS = 0.9928
CNN_UNTRAINED = (0.0849, 0.1484)


def _s(key: str, page: str, code: str, check: Check, note: bool = False, **figures: Any) -> Step:
    return Step(key, page, code.strip(), _tutorial(key, **figures), check, note)


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "first_mlp",
        "000_82a1a693e477bf1f.txt",
        (
            _s(
                "first_mlp.build",
                "build",
                """
model = Sequential()
model.add(Dense(units=64, input_dim=28*28, activation='relu'))
model.add(Dense(units=10, activation='softmax'))
model.compile(loss='categorical_crossentropy', optimizer='sgd', metrics=['accuracy'])
""",
                built(TWO_DENSE, MLP_64),
                total=MLP_64,
            ),
            _s(
                "first_mlp.graph",
                "inspect",
                """
SVG(model_to_dot(model, show_shapes=True).create(prog='dot', format='svg'))
""",
                inspected(TWO_DENSE, MLP_64),
                total=MLP_64,
            ),
            _s(
                "first_mlp.train",
                "train",
                """
model.fit(x_train, y_train, epochs=5, batch_size=32, validation_data=(x_val, y_val))
loss_and_metrics = model.evaluate(x_test, y_test, batch_size=32)
""",
                trained_with(TWO_DENSE, epochs=5, batch_size=32),
                note=True,
                epochs=5,
                batch=32,
                train=18_000,
                validation=42_000,
            ),
            _s(
                "first_mlp.save",
                "save",
                "model.save('mnist_mlp_model.h5')",
                downloaded("download_h5"),
            ),
            _s(
                "first_mlp.load",
                "evaluate",
                """
from keras.models import load_model
model = load_model('mnist_mlp_model.h5')
""",
                evaluated("h5"),
            ),
            _s(
                "first_mlp.predict",
                "mistakes",
                """
xhat_idx = np.random.choice(x_test.shape[0], 5)
yhat = np.argmax(model.predict(x_test[xhat_idx]), axis=1)
""",
                predicted,
                note=True,
                right=5,
                shown=5,
            ),
        ),
    ),
    Lesson(
        "saving",
        "001_7bcd7609d1c1b523.txt",
        (
            _s(
                "saving.build",
                "build",
                """
model = Sequential([Input(shape=(784,)), Dense(32, activation='relu'),
                    Dense(64, activation='relu'), Dense(128, activation='relu'),
                    Dense(10, activation='softmax')])
""",
                built(FOUR_DENSE, MLP_JSON),
                total=MLP_JSON,
            ),
            _s(
                "saving.whole",
                "save",
                """
model.save('model.h5')
new_model = load_model('model.h5')
""",
                downloaded("download_h5|download_keras"),
            ),
            _s(
                "saving.parts",
                "save",
                """
json_string = model.to_json()
model.save_weights('model.weights.h5')
""",
                downloaded("download_json", "download_weights"),
                note=True,
            ),
            _s(
                "saving.load_parts",
                "evaluate",
                """
model = model_from_json(json_string)
model.load_weights('model.weights.h5')
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
loss, acc = model.evaluate(x_test, y_test, verbose=2)
""",
                evaluated("json+weights"),
            ),
            _s(
                "saving.callbacks",
                "train",
                """
cp_callback = ModelCheckpoint(checkpoint_path, save_weights_only=True, verbose=1)
es_callback = EarlyStopping(monitor='val_loss', patience=5)
model.fit(..., callbacks=[cp_callback, es_callback])
""",
                callbacks_used,
                note=True,
            ),
            _s(
                "saving.f1",
                "evaluate",
                """
precision = tp / (tp + fp)
recall = tp / (tp + fn)
f1 = 2 * precision * recall / (precision + recall)
""",
                scores_read,
                note=True,
                accuracy=0.99,
                precision=2 / 5,
                recall=2 / 9,
                f1=2 * (2 / 5) * (2 / 9) / (2 / 5 + 2 / 9),
            ),
        ),
    ),
    Lesson(
        "basics",
        "002_13ba1348c595f174.txt",
        (
            _s(
                "basics.dense",
                "build",
                "Dense(8, input_dim=4, activation='relu')",
                built(_is_mlp, MLP_64),
                weights=32,
                params=40,
                total=MLP_64,
            ),
            _s(
                "basics.summary",
                "inspect",
                """
model = Sequential()
model.add(Dense(10, input_dim=2))
model.add(Activation('sigmoid'))
...
model.summary()
""",
                inspected(_is_mlp),
                note=True,
                total=TOY_SUMMARY,
            ),
            _s(
                "basics.fit",
                "train",
                "model.fit(x, y, batch_size=32, epochs=10)",
                trained_with(_anything, epochs=10, batch_size=32),
                epochs=10,
                batch=32,
            ),
            _s(
                "basics.history",
                "runs",
                """
hist = model.fit(x_train, y_train, epochs=10, validation_data=(x_val, y_val))
hist.history['loss'], hist.history['val_loss']
""",
                curves_read,
            ),
            _s(
                "basics.save_load",
                "evaluate",
                """
model.save('model.h5')
model = load_model('model.h5')
loaded_model = model_from_json(open('model.json').read())
loaded_model.load_weights('model.weights.h5')
""",
                evaluated("h5|json+weights|keras"),
                note=True,
            ),
        ),
    ),
    Lesson(
        "checkpoints",
        "003_641c7fef5a7e2e40.txt",
        (
            _s(
                "checkpoints.build",
                "build",
                """
model = tf.keras.models.Sequential([
    keras.layers.Dense(512, activation='relu', input_shape=(784,)),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(10)
])
""",
                built(DENSE_DROPOUT, MLP_512),
                note=True,
                total=MLP_512,
            ),
            _s(
                "checkpoints.train",
                "train",
                """
cp_callback = tf.keras.callbacks.ModelCheckpoint(filepath=checkpoint_path,
                                                 save_weights_only=True, verbose=1)
model.fit(train_images, train_labels, epochs=10,
          validation_data=(test_images, test_labels), callbacks=[cp_callback])
""",
                trained_to(DENSE_DROPOUT, CHECKPOINT_RESTORED, 0.03, _with_checkpoint),
                note=True,
                accuracy=CHECKPOINT_RESTORED,
                epochs=10,
                digits=1_000,
            ),
            _s(
                "checkpoints.download",
                "save",
                """
model.save_weights(checkpoint_path)  # cp.ckpt.index + cp.ckpt.data-00000-of-00001
""",
                downloaded("download_checkpoint"),
            ),
            _s(
                "checkpoints.restore",
                "evaluate",
                """
model = create_model()
loss, acc = model.evaluate(test_images, test_labels, verbose=2)
model.load_weights(checkpoint_path)
loss, acc = model.evaluate(test_images, test_labels, verbose=2)
""",
                untrained_vs_restored(
                    "checkpoint|weights", CHECKPOINT_RESTORED, 0.03, DENSE_DROPOUT
                ),
                untrained=CHECKPOINT_UNTRAINED,
                restored=CHECKPOINT_RESTORED,
            ),
            _s(
                "checkpoints.savedmodel",
                "save",
                """
model.save('saved_model/my_model')
""",
                downloaded("download_savedmodel"),
                note=True,
            ),
            _s(
                "checkpoints.whole",
                "evaluate",
                """
new_model = tf.keras.models.load_model('saved_model/my_model')
loss, acc = new_model.evaluate(test_images, test_labels, verbose=2)
""",
                evaluated_to("savedmodel|h5|keras", SAVEDMODEL_RESTORED, 0.03, DENSE_DROPOUT),
                note=True,
                accuracy=SAVEDMODEL_RESTORED,
            ),
        ),
    ),
    Lesson(
        "cnn",
        "004_1ea56ce414c42faf.txt",
        (
            _s(
                "cnn.build",
                "build",
                """
model.add(layers.Conv2D(filters=32, kernel_size=(3,3), padding='same', activation='relu'))
model.add(layers.MaxPool2D(pool_size=(2,2), strides=(2,2), padding='same'))
model.add(layers.Conv2D(filters=64, kernel_size=3, padding='same', activation='relu'))
model.add(layers.MaxPool2D(padding='same'))
model.add(layers.Flatten())
model.add(layers.Dense(256, activation='relu'))
model.add(layers.Dense(10, activation='softmax'))
""",
                built(TUTORIAL_CNN, CNN),
                note=True,
                total=CNN,
            ),
            _s(
                "cnn.train",
                "train",
                """
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001),
              loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(train_dataset, epochs=20, steps_per_epoch=600, validation_data=test_dataset)
model.evaluate(test_dataset)
""",
                trained_to(TUTORIAL_CNN, CNN_TEST, 0.005),
                note=True,
                accuracy=CNN_TEST,
                epochs=20,
                batch=100,
            ),
            _s(
                "cnn.untrained",
                "evaluate",
                """
model.save_weights(weight_path)  #: lessons.code.tf_checkpoint
new_model1 = create_model()
new_model1.evaluate(val_dataset)
new_model1.load_weights(weight_path)
new_model1.evaluate(val_dataset)
""",
                untrained_vs_restored(
                    "checkpoint|keras|h5|json+weights|weights", CNN_TEST, 0.005, TUTORIAL_CNN
                ),
                first=CNN_UNTRAINED[0],
                second=CNN_UNTRAINED[1],
                restored=CNN_TEST,
            ),
            _s(
                "cnn.whole",
                "save",
                """
model.save(model_dir)  #: lessons.code.savedmodel_folder
model.save(model_h5_path)  #: lessons.code.one_h5_file
""",
                downloaded("download_savedmodel", "download_h5"),
                note=True,
                accuracy=CNN_TEST,
            ),
            _s(
                "cnn.mistakes",
                "mistakes",
                """
pred_class = np.argmax(model.predict(X_test), axis=-1)
error_idx = np.where(pred_class != y_test)[0]
""",
                mistakes_seen(TUTORIAL_CNN, round(TEST_DIGITS * (1 - CNN_TEST)), 50),
                note=True,
                count=round(TEST_DIGITS * (1 - CNN_TEST)),
            ),
            _s(
                "cnn.callbacks",
                "train",
                """
mc_callback = keras.callbacks.ModelCheckpoint(filepath=callback_path, save_weights_only=True,
                                              save_best_only=True, monitor='val_loss')
es_callback = keras.callbacks.EarlyStopping(monitor='val_loss', patience=5)
model2.fit(..., callbacks=[mc_callback, es_callback])
""",
                trained_to(TUTORIAL_CNN, CNN_CALLBACKS, 0.005, _with_both_callbacks),
                accuracy=CNN_CALLBACKS,
                patience=5,
            ),
        ),
    ),
)
LESSONS_BY_KEY = {lesson.key: lesson for lesson in LESSONS}


def check_lesson(lesson: Lesson, results: LearnerResults) -> dict[str, StepResult]:
    """Every step's result for this snapshot, by step key."""
    return {step.key: step.check(results) for step in lesson.steps}
