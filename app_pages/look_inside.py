"""Look inside page: what the network sees layer by layer, why it decides, and its map of digits."""

import numpy as np
import streamlit as st

from core.inside.attribution import occlusion_map
from core.inside.probe import InsideError
from core.inside.weights import filter_of, first_weights
from core.mistakes import find_mistakes
from ui.charts import probability_bars
from ui.i18n import relabel_after_language_switch, t, tm
from ui.look_inside import (
    add_tsne,
    map_for,
    picked_digit,
    probe_for,
    run_snapshots,
)
from ui.look_inside_charts import (
    attribution,
    digit_map,
    feature_maps,
    picture,
    unit_bars,
    weight_grid,
)
from ui.look_inside_digit import choose_digit, chosen_digit
from ui.navigation import end_page
from ui.predictions import test_probabilities
from ui.resources import mnist
from ui.state import init_session_state, require_active_model
from ui.widgets import sharp_digit

PREDICTED = -1  # the class choice that follows the prediction
KNOWN_KINDS = {"Conv2D", "MaxPooling2D", "BatchNormalization", "Flatten", "Dropout", "Dense"}

init_session_state()
st.title(t("look_inside.title"))
active = require_active_model()
data = mnist()
try:
    probe = probe_for(active)
except InsideError as error:
    st.error(tm(error))
    end_page()
probabilities_all = test_probabilities(active)
mistakes = find_mistakes(probabilities_all, data.y_test)
rng = np.random.default_rng()


def _pick_index() -> None:
    choose_digit(int(st.session_state["look_inside_index"]))


def _pick_random() -> None:
    choose_digit(int(rng.integers(len(data.y_test))))


def _pick_mistake() -> None:
    if len(mistakes):
        choose_digit(int(rng.choice(mistakes["index"].to_numpy())))


# ----- 1. the digit ---------------------------------------------------------------------------
digit = chosen_digit()
is_drawing = isinstance(digit, np.ndarray)
if not is_drawing:
    st.session_state["look_inside_index"] = int(digit)  # follow a digit chosen elsewhere
index_col, random_col, mistake_col = st.columns([2, 1, 1], vertical_alignment="bottom")
index_col.number_input(
    t("look_inside.index"),
    min_value=0,
    max_value=len(data.y_test) - 1,
    step=1,
    key="look_inside_index",
    on_change=_pick_index,
)
random_col.button(t("look_inside.random"), key="look_inside_random", on_click=_pick_random)
mistake_col.button(
    t("look_inside.a_mistake"),
    key="look_inside_mistake",
    on_click=_pick_mistake,
    disabled=mistakes.empty,
)

if is_drawing:
    image = np.asarray(digit, np.float32)
    true_label = None
    caption = t("look_inside.your_drawing")
else:
    image = data.x_test[int(digit)] / np.float32(255)
    true_label = int(data.y_test[int(digit)])
    caption = t("look_inside.test_digit", index=int(digit), label=true_label)

relabel_after_language_switch("look_inside_class")
choice = st.selectbox(
    t("look_inside.explain_class"),
    [PREDICTED, *range(10)],
    format_func=lambda c: t("look_inside.the_prediction") if c == PREDICTED else str(c),
    key="look_inside_class",
)
reading = probe.read(image, None if choice == PREDICTED else int(choice))
predicted = int(np.argmax(reading.probabilities))
target = reading.target

digit_col, bars_col = st.columns([1, 3])
digit_col.image(sharp_digit(image), caption=caption, width=168)
bars_col.metric(
    t("look_inside.model_reads"),
    str(predicted),
    t("look_inside.sure", probability=float(reading.probabilities[predicted])),
    delta_color="off",
    delta_arrow="off",
)
bars_col.plotly_chart(
    probability_bars(reading.probabilities, true_label), key="look_inside_probabilities"
)

# ----- 2. why this answer ---------------------------------------------------------------------
question = (
    t("look_inside.why", digit=target)
    if target == predicted
    else t("look_inside.why_not", digit=target)
)
st.header(question)
st.caption(t("look_inside.colours"))
saliency_col, cam_col, occlusion_col = st.columns(3)
with saliency_col:
    st.subheader(t("look_inside.saliency"))
    st.plotly_chart(attribution(reading.saliency, image), key="look_inside_saliency")
    st.caption(t("look_inside.saliency_how"))
with cam_col:
    st.subheader(t("look_inside.grad_cam"))
    if reading.grad_cam is None:
        st.info(t("look_inside.grad_cam_none"))
    else:
        st.plotly_chart(attribution(reading.grad_cam, image), key="look_inside_grad_cam")
        st.caption(t("look_inside.grad_cam_how", layer=probe.conv.name))
with occlusion_col:
    st.subheader(t("look_inside.occlusion"))
    st.plotly_chart(
        attribution(occlusion_map(probe, image, target), image), key="look_inside_occlusion"
    )
    st.caption(t("look_inside.occlusion_how"))

# ----- 3. layer by layer ----------------------------------------------------------------------
st.header(t("look_inside.layers"))
for info, activation in zip(probe.layers, reading.activations, strict=True):
    shape = " × ".join(str(n) for n in info.shape) or "?"
    what = t(f"look_inside.kind.{info.kind if info.kind in KNOWN_KINDS else 'other'}")
    st.markdown(f"**{info.name}** · `{info.kind}` · {shape} — {what}")
    if info.view == "maps":
        event = st.plotly_chart(
            feature_maps(activation, t("look_inside.channel_hover")),
            key=f"look_inside_maps_{info.index}",
            on_select="rerun",
            selection_mode="points",
        )
        points = event.selection.points if event and event.selection else []
        if points:
            channel = int(points[0]["customdata"])
            large_col, filter_col = st.columns(2)
            large_col.caption(t("look_inside.channel_large", channel=channel, layer=info.name))
            large_col.plotly_chart(
                picture(activation[:, :, channel]), key=f"look_inside_large_{info.index}"
            )
            kernel = filter_of(probe.model, info.name, channel)
            if kernel is None:
                filter_col.caption(t("look_inside.no_filter", kind=info.kind))
            else:
                filter_col.caption(t("look_inside.filter_of", channel=channel))
                filter_col.plotly_chart(
                    picture(kernel, "RdBu_r"), key=f"look_inside_filter_{info.index}"
                )
        else:
            st.caption(t("look_inside.click_a_map"))
    elif info.view == "vector" and info.kind != "Flatten":
        st.plotly_chart(unit_bars(activation), key=f"look_inside_bars_{info.index}")
    elif info.kind == "Flatten":
        st.caption(t("look_inside.flatten_values", count=activation.size))
    else:
        st.caption(t("look_inside.no_picture"))

# ----- 4. weights -----------------------------------------------------------------------------
st.header(t("look_inside.weights"))
weights = first_weights(probe.model)
if weights is None:
    st.info(t("look_inside.weights_none"))
else:
    st.caption(
        t(f"look_inside.weights_{weights.kind}", layer=weights.layer, shown=len(weights.pictures),
          total=weights.total)
    )  # fmt: skip
    titles = [t("look_inside.weight_title", number=i) for i in range(len(weights.pictures))]
    st.plotly_chart(weight_grid(weights.pictures, titles), key="look_inside_weights")

# ----- 5. the map -----------------------------------------------------------------------------
st.header(t("look_inside.map"))
with st.spinner(t("look_inside.map_computing")):
    the_map, _ = map_for(active, probe)
method = st.radio(
    t("look_inside.projection"),
    ["pca", "tsne"],
    format_func={"pca": "PCA", "tsne": "t-SNE"}.get,
    horizontal=True,
    key="look_inside_projection",
)
if method == "tsne" and the_map.tsne is None:
    bar = st.progress(0.0, text=t("look_inside.tsne_running"))
    add_tsne(active, bar, t("look_inside.tsne_running"))
    bar.empty()
    the_map, _ = map_for(active, probe)
positions = the_map.pca if method == "pca" else the_map.tsne
st.caption(t("look_inside.map_how", count=len(the_map.indices), layer=probe.feature.name
             if probe.feature else t("look_inside.pixels")))  # fmt: skip
event = st.plotly_chart(
    digit_map(
        positions,
        the_map.indices,
        the_map.true,
        the_map.predicted,
        t("look_inside.map_hover"),
        t("look_inside.mistake_legend"),
        None if is_drawing else int(digit),
        data.x_test[the_map.indices],
    ),
    key="look_inside_map",
    on_select="rerun",
    selection_mode="points",
)
index = picked_digit(event, the_map)
if index is not None:
    preview_col, go_col = st.columns([1, 3], vertical_alignment="center")
    preview_col.image(
        sharp_digit(data.x_test[index]),
        caption=t(
            "look_inside.map_pick",
            index=index,
            label=int(data.y_test[index]),
            predicted=int(np.argmax(probabilities_all[index])),
        ),
    )
    if is_drawing or index != int(digit):
        go_col.button(
            t("look_inside.look_at_it", index=index),
            key="look_inside_take",
            on_click=choose_digit,
            args=(index,),
        )

# ----- 6. learning over time ------------------------------------------------------------------
st.header(t("look_inside.over_time"))
snapshots = run_snapshots(active)
if snapshots is None:
    st.info(t("look_inside.snapshots_not_a_run"))
elif not snapshots:
    st.info(t("look_inside.snapshots_none"))
else:
    epoch = st.select_slider(
        t("look_inside.epoch"),
        [s.epoch for s in snapshots],
        value=snapshots[-1].epoch,
        key="look_inside_epoch",
    )
    snapshot = next(s for s in snapshots if s.epoch == epoch)
    weights_col, map_col = st.columns(2)
    with weights_col:
        if len(snapshot.weights):
            titles = [t("look_inside.weight_title", number=i) for i in range(len(snapshot.weights))]
            st.plotly_chart(weight_grid(snapshot.weights, titles), key="look_inside_epoch_weights")
        else:
            st.caption(t("look_inside.weights_none"))
    with map_col:
        st.plotly_chart(
            digit_map(
                snapshot.positions,
                snapshot.indices,
                snapshot.true,
                snapshot.predicted,
                t("look_inside.map_hover"),
                t("look_inside.mistake_legend"),
                pictures=data.x_test[snapshot.indices],
            ),
            key="look_inside_epoch_map",
        )
    right = float(np.mean(snapshot.predicted == snapshot.true))
    st.caption(
        t("look_inside.snapshot_caption", epoch=epoch, count=len(snapshot.true), right=right)
    )
