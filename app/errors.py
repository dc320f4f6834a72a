"""Never a raw exception on a page: `guarded()` shows st.error with the message and keeps the
traceback in an expander. Streamlit's own control flow (st.rerun, st.stop) passes through."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException


def show(e: BaseException, what: str = "Something went wrong") -> None:
    """st.error with the exception's message; the traceback inside an expander."""
    st.error(f"{what}: {type(e).__name__}: {e}")
    with st.expander("Details (traceback)"):
        st.code("".join(traceback.format_exception(e)), language="text")


@contextlib.contextmanager
def guarded(what: str = "Something went wrong") -> Iterator[None]:
    try:
        yield
    except ScriptControlException:
        raise
    except Exception as e:
        show(e, what)
