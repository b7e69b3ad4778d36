"""The teacher key: set by whoever runs the server, typed once per session to open the Class page."""

from __future__ import annotations

import hashlib
import hmac
import os

import streamlit as st

ENV_VAR = "DIGITLAB_TEACHER_KEY"
SECRET_NAME = "teacher_key"
MIN_LENGTH = 8  # a shorter key is too easy for a class to guess
SIGNED_IN = "class_teacher_signed_in"  # digest of the key this session proved it knows


def teacher_key() -> str | None:
    """The key from the environment, else from Streamlit secrets; None when neither sets one."""
    key = os.environ.get(ENV_VAR, "").strip()
    if not key:
        try:
            key = str(st.secrets.get(SECRET_NAME, "") or "").strip()
        except (FileNotFoundError, ValueError):  # no secrets file, or one that does not parse
            key = ""
    return key or None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def sign_in(typed: str, key: str) -> bool:
    """Compare in constant time; on a match, remember it for this session only."""
    ok = hmac.compare_digest(typed.strip().encode(), key.encode())
    if ok:
        st.session_state[SIGNED_IN] = _digest(key)
    return ok


def signed_in(key: str) -> bool:
    """True if this session typed the current key (a changed key signs everyone out)."""
    remembered = st.session_state.get(SIGNED_IN)
    return isinstance(remembered, str) and hmac.compare_digest(remembered, _digest(key))


def sign_out() -> None:
    st.session_state.pop(SIGNED_IN, None)
