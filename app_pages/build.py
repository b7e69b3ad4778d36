"""Build page: pick a preset or stack layers by hand, compile settings, the Python code."""

import streamlit as st

from core.build import build_model
from core.codegen import to_python
from core.presets import PRESETS
from core.spec import NetworkSpec, analyze
from ui.layer_editor import (
    add_layer_ui,
    compile_ui,
    ensure_editor_state,
    layer_rows_ui,
    load_preset,
    show_shapes,
)
from ui.state import ActiveModel, Keys, init_session_state, set_active_model

init_session_state()
ensure_editor_state()
st.title("Build a network")

preset = st.selectbox(
    "Start from a preset",
    list(PRESETS),
    format_func=lambda key: PRESETS[key].title,
    key="build_preset_choice",
    index=list(PRESETS).index(st.session_state[Keys.BUILD_PRESET]),
    on_change=lambda: load_preset(st.session_state["build_preset_choice"]),
    help="Choosing a preset replaces the layers and compile settings below.",
)
st.caption(PRESETS[preset].description)

st.text_input("Network name", key=Keys.BUILD_NAME)
layers_tab, code_tab = st.tabs(["Layers", "Python code"])
with layers_tab:
    layers, shape_lines = layer_rows_ui()
    add_layer_ui(len(layers))
    st.subheader("Compile")
    settings = compile_ui()

spec = NetworkSpec(
    st.session_state[Keys.BUILD_NAME].strip() or "My network", tuple(layers), settings
)
analysis = analyze(spec)
show_shapes(analysis, shape_lines)

with layers_tab:
    input_text = "28×28×1 images" if len(spec.input_shape) == 3 else "784 pixels (flattened)"
    st.caption(
        f"Input: {input_text}, chosen from the first layer. "
        f"Total: {analysis.total_params:,} parameters "
        f"({analysis.non_trainable_params:,} non-trainable). "
        + ("The last layer is linear, so the loss works on logits." if spec.from_logits else "")
    )
    for message in analysis.errors:
        st.error(message, icon=":material/block:")
    if st.button("Build model", type="primary", key="build_submit", disabled=not analysis.ok):
        model = build_model(spec)
        set_active_model(ActiveModel(model=model, name=spec.name, source="built", spec=spec))
        st.success(
            f"Built **{spec.name}** with {model.count_params():,} parameters. It is now the active model."
        )
        st.page_link("app_pages/inspect.py", label="Inspect it", icon=":material/account_tree:")

with code_tab:
    if analysis.ok:
        preset_settings = PRESETS.get(st.session_state[Keys.BUILD_PRESET])
        script = to_python(
            spec, epochs=preset_settings.epochs, batch_size=preset_settings.batch_size
        )
        st.caption(
            "The whole plain-Keras script for this network. Copy it, or download it, and run it."
        )
        st.download_button(
            "Download script",
            script,
            file_name=f"{spec.slug}.py",
            mime="text/x-python",
            key="build_download_script",
        )
        st.code(script, language="python")
    else:
        st.info("Fix the layer stack first; the code appears when the network can be built.")
