"""Class page: the teacher's view of every session's runs, ranked, and any run opened as active."""

import pandas as pd
import streamlit as st

from core.class_board import BoardRow, class_board, find_row
from ui.i18n import t
from ui.navigation import end_page
from ui.resources import run_store
from ui.session import activate_run
from ui.state import init_session_state
from ui.teacher import ENV_VAR, MIN_LENGTH, SECRET_NAME, sign_in, sign_out, signed_in, teacher_key

REFRESH_SECONDS = 5  # the board re-reads the runs directory this often
OPENED = "class_opened_message"  # shown once after a run became the active model
STATUSES = ("finished", "stopped", "failed", "incomplete")  # what core.runs writes

init_session_state()
st.title(t("class.title"))
key = teacher_key()
if key is None:
    st.info(t("class.no_key", env=ENV_VAR, secret=SECRET_NAME))
    st.code(f'{ENV_VAR}="choose-a-long-key" bash run.sh', language="bash")
    st.code(f'# .streamlit/secrets.toml\n{SECRET_NAME} = "choose-a-long-key"', language="toml")
    end_page()
if len(key) < MIN_LENGTH:
    st.warning(t("class.key_too_short", minimum=MIN_LENGTH, env=ENV_VAR, secret=SECRET_NAME))
    end_page()
if not signed_in(key):
    st.caption(t("class.key_intro"))
    with st.form("class_key_form", clear_on_submit=True):
        typed = st.text_input(t("class.key_label"), type="password", key="class_key")
        submitted = st.form_submit_button(t("class.key_submit"), key="class_key_submit")
    if submitted:
        if sign_in(typed, key):
            st.rerun()
        st.error(t("class.key_wrong"))
    end_page()

best_only = st.toggle(t("class.best_only"), key="class_best_only")
if opened := st.session_state.pop(OPENED, None):
    st.success(opened)


def nickname_of(row: BoardRow) -> str:
    return row.nickname or t("class.no_nickname")


def status_text(status: str) -> str:
    return t(f"class.status.{status}") if status in STATUSES else status


def board_table(rows: list[BoardRow]) -> pd.DataFrame:
    """The board as a table; the owner token stays out of it (it would open the learner's runs)."""
    return pd.DataFrame(
        [
            {
                t("class.col_rank"): row.rank,
                t("class.col_nickname"): nickname_of(row),
                t("class.col_network"): row.network,
                t("class.col_parameters"): row.parameters,
                t("class.col_train_time"): row.train_seconds,
                t("class.col_test_accuracy"): row.test_accuracy,
                t("class.col_epochs"): row.epochs,
                t("class.col_status"): status_text(row.status),
                t("class.col_layers"): row.layers,
            }
            for row in rows
        ]
    )


def row_label(row: BoardRow) -> str:
    accuracy = f"{row.test_accuracy:.2%}" if row.test_accuracy is not None else "—"
    return f"{row.rank}. {nickname_of(row)} · {row.network} · {accuracy} · {row.run_id}"


def open_run(row_key: str) -> None:
    """Make the chosen run this (the teacher's) session's active model."""
    row = find_row(class_board(run_store()), row_key)  # read again: it may have been deleted
    if row is None or not row.has_model:
        st.error(t("class.run_gone"))
        return
    run = run_store().load_run(row.owner, row.run_id)
    active = activate_run(row.owner, run, name=f"{row.network} · {nickname_of(row)}")
    st.session_state[OPENED] = t("class.opened", name=active.name)
    st.rerun()  # the whole app, so that the sidebar shows the new active model


@st.fragment(run_every=REFRESH_SECONDS)
def live_board(best_only: bool) -> None:
    """The ranked runs, re-read every few seconds, and the picker that opens one of them."""
    rows = class_board(run_store(), best_only=best_only)
    if not rows:
        st.info(t("class.no_runs"))
        return
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(
        board_table(rows),
        hide_index=True,
        column_config={
            t("class.col_test_accuracy"): percent,
            t("class.col_train_time"): st.column_config.NumberColumn(format="%.1f"),
            t("class.col_parameters"): st.column_config.NumberColumn(format="localized"),
        },
    )
    learners = len({row.owner for row in rows})
    st.caption(t("class.board_caption", runs=len(rows), learners=learners))
    openable = {row.key: row for row in rows if row.has_model and row.rank is not None}
    if not openable:
        return
    st.subheader(t("class.open_title"))
    pick_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
    pick = pick_col.selectbox(
        t("class.open_label"),
        list(openable),
        format_func=lambda row_key: row_label(openable[row_key]),
        key="class_pick",
    )
    if button_col.button(t("class.open_button"), key="class_open", icon=":material/open_in_new:"):
        open_run(pick)


live_board(best_only)
st.divider()
st.button(t("class.sign_out"), key="class_sign_out", on_click=sign_out, icon=":material/logout:")
