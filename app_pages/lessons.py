"""Lessons page: the five tutorials as steps in the app, each checked against the tutorial's figures."""

import streamlit as st

from core.i18n import code_comments
from core.lessons import LESSONS, LESSONS_BY_KEY, Lesson
from ui.i18n import language, relabel_after_language_switch, t, tm
from ui.lesson_progress import lesson_results
from ui.state import Keys, init_session_state

STATUS_MARKS = {
    "todo": ":gray[:material/radio_button_unchecked:]",
    "done": ":green[:material/check_circle:]",
    "differs": ":orange[:material/check_circle:]",
}
PAGE_ICONS = {
    "build": ":material/construction:",
    "inspect": ":material/account_tree:",
    "train": ":material/model_training:",
    "runs": ":material/history:",
    "save": ":material/download:",
    "evaluate": ":material/fact_check:",
    "mistakes": ":material/error:",
}

init_session_state()
st.title(t("lessons.title"))
st.caption(t("lessons.caption"))
results, saved = lesson_results(LESSONS)
if not saved:
    st.warning(t("lessons.not_saved"), icon=":material/warning:")


def steps_done(lesson: Lesson) -> int:
    return sum(results[step.key].status != "todo" for step in lesson.steps)


def lesson_label(key: str) -> str:
    lesson = LESSONS_BY_KEY[key]
    return t(
        "lessons.choice",
        number=LESSONS.index(lesson) + 1,
        title=t(f"lessons.{key}.title"),
        done=steps_done(lesson),
        total=len(lesson.steps),
    )


labels = {key: lesson_label(key) for key in LESSONS_BY_KEY}  # worked out once per run
# Streamlit forgets a widget's value on pages that do not draw it: the lesson outlives it here.
if "lessons_choice" not in st.session_state:
    st.session_state["lessons_choice"] = st.session_state.get(Keys.LESSON, LESSONS[0].key)
relabel_after_language_switch("lessons_choice")
choice = st.selectbox(
    t("lessons.choose"), list(labels), format_func=labels.__getitem__, key="lessons_choice"
)
st.session_state[Keys.LESSON] = choice
lesson = LESSONS_BY_KEY[choice]
done = steps_done(lesson)
st.progress(
    done / len(lesson.steps), text=t("lessons.progress", done=done, total=len(lesson.steps))
)


def _open_lesson(key: str) -> None:
    st.session_state["lessons_choice"] = key


if done == len(lesson.steps):
    position = LESSONS.index(lesson)
    if position + 1 < len(LESSONS):
        following = LESSONS[position + 1]
        st.success(t("lessons.all_done"), icon=":material/task_alt:")
        st.button(
            t("lessons.next", title=labels[following.key]),
            key="lessons_next",
            on_click=_open_lesson,
            args=(following.key,),
            icon=":material/arrow_forward:",
            type="primary",
        )
    else:
        st.success(t("lessons.all_lessons_done"), icon=":material/celebration:")
st.markdown(t(f"lessons.{lesson.key}.intro"))
st.info(t(f"lessons.{lesson.key}.differ"), icon=":material/info:")

for number, step in enumerate(lesson.steps, start=1):
    result = results[step.key]
    with st.container(border=True, key=f"lessons_step_{step.key.replace('.', '_')}"):
        st.markdown(
            f"{STATUS_MARKS[result.status]} **{number}. {t(f'lessons.{step.key}.title')}** · "
            + t(f"lessons.status.{result.status}")
        )
        st.markdown(t(f"lessons.{step.key}.do"))
        st.page_link(
            f"app_pages/{step.page}.py",
            label=t("lessons.open", page=t(f"nav.{step.page}")),
            icon=PAGE_ICONS[step.page],
        )
        st.code(code_comments(step.code, language()), language="python")
        tutorial_col, yours_col = st.columns(2)
        tutorial_col.markdown(f"**{t('lessons.tutorial_got')}**  \n{tm(step.tutorial)}")
        yours = tm(result.yours) if result.yours else t("lessons.not_yet")
        yours_col.markdown(f"**{t('lessons.you_got')}**  \n{yours}")
        if result.status == "differs":
            yours_col.caption(t("lessons.differs_hint"))
        if step.note:
            st.caption(t(f"lessons.{step.key}.note"))
