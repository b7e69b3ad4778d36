"""Draw page: draw a digit, see what the model sees and what it says; keep a set of your digits."""

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from core.drawing import CANVAS_SIZE, STROKE_WIDTH, canvas_to_mnist, digits_to_npz_bytes
from core.predict import predict_single
from ui.charts import probability_bars
from ui.i18n import t
from ui.look_inside_digit import open_look_inside
from ui.state import Keys, init_session_state, require_active_model
from ui.widgets import sharp_digit

init_session_state()
st.title(t("draw.title"))
active = require_active_model()
st.caption(t("draw.intro", name=active.name))


def _clear() -> None:
    st.session_state[Keys.CANVAS_VERSION] += 1  # a new canvas key starts an empty canvas


canvas_col, seen_col, answer_col = st.columns([3, 2, 4])
with canvas_col:
    # Only a short heading above the canvas: its toolbar shows over whatever is at its right end.
    st.markdown(t("draw.canvas_heading"))
    stroke = st.session_state.get("draw_stroke_width", STROKE_WIDTH)
    result = st_canvas(
        stroke_width=stroke,
        stroke_color="#ffffff",
        background_color="#000000",
        width=CANVAS_SIZE,
        height=CANVAS_SIZE,
        drawing_mode="freedraw",
        return_image_data=True,
        key=f"draw_canvas_{st.session_state[Keys.CANVAS_VERSION]}",
    )
    st.slider(t("draw.pen_width"), 8, 40, STROKE_WIDTH, key="draw_stroke_width")
    st.button(t("draw.clear"), key="draw_clear", on_click=_clear, icon=":material/delete:")

rgba = result.image_data if result is not None else None
image = canvas_to_mnist(np.asarray(rgba)) if rgba is not None else None

with seen_col:
    st.markdown(t("draw.model_sees"))
    if image is None:
        st.info(t("draw.empty"))
    else:
        st.image(sharp_digit(image), caption=t("draw.seen_caption"), width=168)

with answer_col:
    if image is not None:
        probabilities = predict_single(active.model, image)
        digit = int(np.argmax(probabilities))
        st.metric(
            t("draw.reads"),
            str(digit),
            t("draw.sure", confidence=probabilities[digit]),
            delta_color="off",
            delta_arrow="off",
        )
        st.plotly_chart(probability_bars(probabilities), key="draw_probabilities")
        if st.button(t("look_inside.open"), key="draw_look_inside", icon=":material/visibility:"):
            open_look_inside(image)

st.divider()
st.subheader(t("draw.my_digits"))
my_digits: list = st.session_state[Keys.MY_DIGITS]
label_col, keep_col = st.columns([2, 3], vertical_alignment="bottom")


def _keep(drawing: np.ndarray) -> None:
    # Back to "choose" after each digit: the next drawing gets its own label, not the last one.
    label = int(st.session_state["draw_label"])
    my_digits.append((drawing, label))
    st.session_state["draw_label"] = None
    st.toast(t("draw.kept", label=label, count=len(my_digits)))


label = label_col.selectbox(
    t("draw.label"),
    list(range(10)),
    index=None,
    placeholder=t("draw.label_choose"),
    key="draw_label",
    persist_state="session",
)
keep_col.button(
    t("draw.keep"),
    key="draw_keep",
    disabled=image is None or label is None,
    on_click=_keep,
    args=(image,),
)

if my_digits:
    images = np.stack([digit for digit, _ in my_digits])
    labels = np.array([label for _, label in my_digits])
    said = np.array([int(np.argmax(predict_single(active.model, d))) for d in images])
    st.metric(
        t("draw.accuracy"),
        f"{np.mean(said == labels):.0%}",
        t("draw.count", count=len(labels)),
        delta_color="off",
        delta_arrow="off",
    )
    st.image(
        [sharp_digit(d) for d in images],
        caption=[f"{true} → {read}" for true, read in zip(labels, said, strict=True)],
    )
    download_col, forget_col = st.columns([1, 1])
    download_col.download_button(
        t("draw.download"),
        digits_to_npz_bytes(images, labels),
        file_name="my-digits.npz",
        mime="application/octet-stream",
        key="draw_download",
    )
    if forget_col.button(t("draw.forget"), key="draw_forget"):
        my_digits.clear()
        st.rerun()
else:
    st.caption(t("draw.hint"))
