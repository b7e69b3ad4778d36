"""Build page: pick a preset or stack layers by hand, compile settings, the Python code."""

import streamlit as st

from core.build import build_model
from core.codegen import script_config, to_python
from core.presets import PRESETS
from core.spec import NetworkSpec, analyze
from ui.i18n import language, option_labels, relabel_after_language_switch, t, tab_labels, tm
from ui.layer_editor import (
    add_layer_ui,
    compile_ui,
    current_layers,
    ensure_editor_state,
    layer_rows_ui,
    load_chosen_preset,
    show_headings,
)
from ui.layer_table import stack_table
from ui.state import ActiveModel, Keys, init_session_state, set_active_model

init_session_state()
ensure_editor_state()
st.title(t("build.title"))

# The box shows the preset the editor holds when the page opens (a lesson may have chosen it).
st.session_state.setdefault("build_preset_choice", st.session_state[Keys.BUILD_PRESET])
relabel_after_language_switch("build_preset_choice")
preset = st.selectbox(
    t("build.preset"),
    list(PRESETS),
    format_func=option_labels("presets.{}.title"),
    key="build_preset_choice",
    on_change=load_chosen_preset,
    help=t("build.preset_help"),
)
st.caption(tm(PRESETS[preset].description))

st.text_input(t("build.name"), key=Keys.BUILD_NAME, persist_state="session")
# The script is made and drawn only while its tab is open: highlighted, it was the larger part of
# the browser's work for each visit of this page (bench/page_switch.py). The layers' widgets are
# drawn in either case, so that their values stay.
layers_tab, code_tab = st.tabs(
    tab_labels("build_tabs", "build.tab_layers", "build.tab_code"),
    key="build_tabs",
    on_change="rerun",
)
with layers_tab:
    editing = st.toggle(
        t("build.edit_layers"),
        key=Keys.BUILD_EDITING,
        persist_state="session",
        help=t("build.edit_layers_help"),
    )
    if editing:
        layers, headings = layer_rows_ui()
        add_layer_ui(len(layers))
    else:
        layers, table = current_layers(), st.empty()
    st.subheader(t("build.compile"))
    settings = compile_ui()

spec = NetworkSpec(
    st.session_state[Keys.BUILD_NAME].strip() or t("build.default_name"), tuple(layers), settings
)
analysis = analyze(spec)
if editing:
    show_headings(layers, analysis, headings)
else:
    table.markdown(stack_table(layers, analysis))

with layers_tab:
    input_text = t("build.input_image" if len(spec.input_shape) == 3 else "build.input_flat")
    totals = t(
        "build.totals",
        input=input_text,
        total=analysis.total_params,
        non_trainable=analysis.non_trainable_params,
    )
    st.caption(totals + (" " + t("build.logits") if spec.from_logits else ""))
    for message in analysis.errors:
        st.error(tm(message), icon=":material/block:")
    if st.button(t("build.submit"), type="primary", key="build_submit", disabled=not analysis.ok):
        model = build_model(spec)
        set_active_model(ActiveModel(model=model, name=spec.name, source="built", spec=spec))
        st.success(t("build.built", name=spec.name, count=model.count_params()))
        st.page_link(
            "app_pages/inspect.py", label=t("build.inspect_link"), icon=":material/account_tree:"
        )

if code_tab.open:
    if analysis.ok:
        script = to_python(spec, script_config(spec), language=language())
        code_tab.caption(t("build.code_caption"))
        code_tab.download_button(
            t("build.download_script"),
            script,
            file_name=f"{spec.slug}.py",
            mime="text/x-python",
            key="build_download_script",
        )
        code_tab.code(script, language="python")
    else:
        code_tab.info(t("build.fix_first"))
