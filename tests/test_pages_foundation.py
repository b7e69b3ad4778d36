"""AppTest tests of the Data, Build and Inspect pages and the sidebar."""

import numpy as np
from streamlit.testing.v1 import AppTest

from core.presets import PRESETS
from tests.apptest_helpers import (
    APP,
    TIMEOUT,
    by_key,
    grid_captions,
    grid_digits,
    markdown_table,
    open_layer_editor,
    open_page,
    texts,
)
from ui.state import ActiveModel, Keys


def build(at, preset: str):
    by_key(at.selectbox, "build_preset_choice").select(preset).run()
    by_key(at.button, "build_submit").click().run()
    assert not at.exception
    return at


def test_data_page_shows_counts_and_samples(mnist):
    at = open_page("data")
    assert "60,000 training and 10,000 test images" in texts(at)
    bars = next(element.value for element in at.html if "count-bars" in element.value)
    for digit, count in enumerate(np.bincount(mnist.y_train, minlength=10)):
        assert f'title="{digit}: {count:,}"' in bars  # each class's bar, with its count
    assert len(grid_captions(at)) == 24
    by_key(at.radio, "data_split").set_value("Test set").run()
    by_key(at.selectbox, "data_digit").select(7).run()
    assert not at.exception
    digits = grid_digits(at)
    assert len(digits) == 24 and all(caption.endswith("label 7") for caption, _ in digits)
    # Each digit shown is the test image its caption names.
    for caption, image in digits:
        assert np.array_equal(image, mnist.x_test[int(caption.split(":")[0][1:])])


def test_inspect_without_model_says_what_to_do():
    at = open_page("inspect")
    assert "no active model" in texts(at)
    assert len(at.get("page_link")) == 1


def test_sidebar_says_there_is_no_model_yet():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert [c.value for c in at.sidebar.caption] == ["None yet: build one on the Build page."]


def test_build_cnn_preset_then_inspect():
    at = build(open_page("build"), "cnn")
    assert "824,458 parameters" in texts(at)
    at = open_page("inspect", at)
    assert "Total parameters 824,458" in texts(at)
    table = markdown_table(at)
    assert list(table["Params"]) == ["320", "0", "18,496", "0", "0", "803,072", "2,570"]
    assert "3 × 3 kernel × 32 channels × 64 filters + 64 biases = 18,496" in list(
        table["How the count comes about"]
    )
    # Only the open tab is drawn; the graph and the JSON come with their tabs.
    assert len(at.get("graphviz_chart")) == 0 and len(at.json) == 0
    at.session_state["inspect_tabs"] = "Graph"
    at.run()
    assert len(at.get("graphviz_chart")) == 1 and markdown_table(at) is None
    at.session_state["inspect_tabs"] = "Architecture JSON"
    at.run()
    assert len(at.json) == 1 and '"class_name": "Sequential"' in at.json[0].value


def test_inspect_shows_a_layer_name_from_a_file_as_plain_text():
    import keras

    name = "x_[link](x.y)|$y$ :red[z] *b* <i>"  # an uploaded model's layer may be called anything
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, name=name)])
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.session_state[Keys.ACTIVE_MODEL] = ActiveModel(model, "uploaded.keras", "uploaded")
    at = open_page("inspect", at)
    assert list(markdown_table(at)["Layer"]) == [name]
    source = at.markdown[1].value
    for markup in (r"\[link\]\(x\.y\)", r"\|\$y\$", r"\:red\[z\]", r"\*b\*", r"\<i\>"):
        assert markup in source, (markup, source)  # each escaped: no link, LaTeX, colour, tag


def test_each_preset_builds_from_the_page():
    at = open_page("build")
    for key in PRESETS:
        build(at, key)
        assert f"Built **{PRESETS[key].spec.name}**" in texts(at)


def test_impossible_stack_gets_a_message_not_a_traceback():
    at = open_page("build")
    by_key(at.selectbox, "build_preset_choice").select("mlp_sgd").run()
    open_layer_editor(at)
    # Put a Conv2D after the Dense layers: impossible.
    by_key(at.selectbox, "build_add_kind").select("Conv2D").run()
    by_key(at.number_input, "build_add_position_2").set_value(3).run()
    by_key(at.button, "build_add").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("Layer 3 (Conv2D" in e and "Conv2D needs an image" in e for e in errors), errors
    assert by_key(at.button, "build_submit").disabled
    headings = [m.value for m in at.markdown if m.value.startswith("**")]
    assert headings[1] == "**2. Dense**  \n:gray[:small[→ 10 · 650 params]]", headings
    assert headings[2] == "**3. Conv2D**  \n:red[impossible here]", headings
    # With the editor closed, the table says the same.
    by_key(at.toggle, "build_editing").set_value(False).run()
    rows = at.markdown[0].value.splitlines()
    assert (
        rows[3]
        == "| 2 | **Dense** | units 10, activation softmax, initializer glorot_uniform | 10 | 650 |"
    )
    assert rows[4].startswith("| 3 | **Conv2D** |") and rows[4].endswith(
        "| :red[impossible here] | — |"
    ), rows
    open_layer_editor(at)
    # Remove it again and change the output to 12 units: the other message.
    remove_keys = [b.key for b in at.button if b.key and b.key.startswith("build_remove")]
    by_key(at.button, remove_keys[2]).click().run()
    units_keys = [n.key for n in at.number_input if n.key and n.key.endswith("_units")]
    by_key(at.number_input, units_keys[-1]).set_value(12).run()
    assert any("outputs 12 values" in e.value for e in at.error)
    by_key(at.number_input, units_keys[-1]).set_value(10).run()
    assert not at.error and not by_key(at.button, "build_submit").disabled


def test_layer_editor_reorders_and_edits():
    at = open_page("build")
    by_key(at.selectbox, "build_preset_choice").select("mlp_dropout").run()
    open_layer_editor(at)
    up_keys = [b.key for b in at.button if b.key and b.key.startswith("build_up")]
    by_key(at.button, up_keys[1]).click().run()  # Dropout above the hidden Dense
    assert "1. Dropout" in texts(at) and "2. Dense" in texts(at)
    units_keys = [n.key for n in at.number_input if n.key and n.key.endswith("_units")]
    by_key(at.number_input, units_keys[0]).set_value(100).run()
    by_key(at.button, "build_submit").click().run()
    assert f"{784 * 100 + 100 + 1010:,} parameters" in texts(at)


def test_the_stack_is_one_table_until_the_editor_is_opened():
    at = open_page("build")
    by_key(at.selectbox, "build_preset_choice").select("mlp_dropout").run()
    # Closed: no layer widgets, one table with every layer's settings, shape and parameters.
    assert not [n for n in at.number_input if n.key and n.key.startswith("build_layer")]
    assert not [b for b in at.button if b.key and b.key.startswith("build_remove")]
    assert at.markdown[0].value.splitlines() == [
        "| # | Layer | Settings | Output shape | Parameters |",
        "|--:|---|---|---|--:|",
        "| 1 | **Dense** | units 512, activation relu, initializer glorot_uniform | 512 | 401,920 |",
        "| 2 | **Dropout** | rate 0.2 | 512 | 0 |",
        "| 3 | **Dense** | units 10, activation softmax, initializer glorot_uniform | 10 | 5,130 |",
    ]
    # Open: a row of widgets per layer. An edit shows in the table once it is closed again.
    open_layer_editor(at)
    units_keys = [n.key for n in at.number_input if n.key and n.key.endswith("_units")]
    assert len(units_keys) == 2
    by_key(at.number_input, units_keys[0]).set_value(100).run()
    by_key(at.toggle, "build_editing").set_value(False).run()
    assert (
        "| 1 | **Dense** | units 100, activation relu, initializer glorot_uniform | 100 | 78,500 |"
        in (at.markdown[0].value.splitlines())
    )
    # Reopened, the editor starts from the edited value; and it stays open across pages.
    open_layer_editor(at)
    assert by_key(at.number_input, units_keys[0]).value == 100
    at = open_page("build", open_page("data", at))
    assert by_key(at.toggle, "build_editing").value
    assert by_key(at.number_input, units_keys[0]).value == 100


def test_python_code_view_shows_the_whole_script():
    at = open_page("build")
    assert not at.code  # made only while its tab is open
    at.session_state["build_tabs"] = "Python code"
    at.run()
    script = at.code[0].value
    for piece in ("keras.Sequential", "model.compile", "model.fit", "model.evaluate", "model.save"):
        assert piece in script


def test_compile_settings_and_name_survive_a_visit_to_another_page():
    at = build(open_page("build"), "mlp_sgd")
    by_key(at.text_input, Keys.BUILD_NAME).input("My MLP").run()
    by_key(at.number_input, "build_learning_rate").set_value(0.05).run()
    at = open_page("build", open_page("data", at))
    assert by_key(at.selectbox, "build_optimizer").value == "sgd"
    assert by_key(at.number_input, "build_learning_rate").value == 0.05
    assert by_key(at.text_input, Keys.BUILD_NAME).value == "My MLP"
