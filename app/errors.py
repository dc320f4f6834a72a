"""Never a raw exception on a page, and never a visitor's text rendered as Markdown.

`escape(text)` is the one place where text that may carry a visitor's values (an exception's
message: spec validation echoes the value a link gave) becomes Markdown: every ASCII punctuation
character is backslash-escaped (CommonMark renders it literally), so `[x](https://...)` shows
no link, `![t](http://host/x.png)` loads no image, and `https://...`, `:red[...]` or `$x$` stay
plain text. The spec already cuts echoed values to a few dozen characters
(memcore.spec.fields.shown). `error(what, e)` shows an exception that way.

`guarded()` shows st.error with the message; the traceback goes in an expander only when the
public demo is off: a demo visitor sees the message alone (tracebacks name server paths).
Streamlit's own control flow (st.rerun, st.stop) passes through.
"""

from __future__ import annotations

import contextlib
import re
import traceback
from collections.abc import Iterator

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from memcore import demo

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character


def escape(text: str) -> str:
    """`text` as Markdown that renders as `text` (no link, image, emphasis, colour); lines
    lose their indentation, which Markdown would turn into a code block."""
    lines = (line.lstrip() for line in text.replace("\t", " ").split("\n"))
    return _PUNCTUATION.sub(r"\\\1", "\n".join(lines))


# An absolute server path: "/" then name characters, at the start or after a space, quote or
# bracket (so "1/255" and "http://x" are left alone).
_SERVER_PATH = re.compile(r"(?<=[\s'\"(=])/[\w.+@-]+(?:/[\w.+@-]*)*|^/[\w.+@-]+(?:/[\w.+@-]*)*")


def redact(text: str) -> str:
    """`text` with absolute server paths replaced by "(a server folder)": a public demo's
    visitors see what went wrong, never where the server keeps its files."""
    return _SERVER_PATH.sub("(a server folder)", text)


def details_allowed() -> bool:
    """Tracebacks may be shown: not in a public demo (or read-only) server."""
    try:
        return not demo.limits().active
    except ValueError:  # a malformed demo setting: assume a public server
        return False


def error(what: str, e: BaseException | str) -> None:
    """st.error "<what>: <message>", the message escaped (`what` is ours, Markdown allowed);
    in a public demo without server paths (`redact`)."""
    st.error(f"{what}: {message(str(e))}")


def message(text: str) -> str:
    """A message for the page: escaped Markdown, without server paths in a public demo."""
    return escape(text if details_allowed() else redact(text))


def traceback_expander(text: str | None) -> None:
    """The traceback in an expander, unless this is a public demo."""
    if details_allowed():
        with st.expander("Details (traceback)"):
            st.code(text or "no traceback stored", language="text")


def show(e: BaseException, what: str = "Something went wrong") -> None:
    """st.error with the exception's type and message; the traceback inside an expander."""
    error(what, f"{type(e).__name__}: {e}")
    traceback_expander("".join(traceback.format_exception(e)))


@contextlib.contextmanager
def guarded(what: str = "Something went wrong") -> Iterator[None]:
    try:
        yield
    except ScriptControlException:
        raise
    except Exception as e:
        show(e, what)


def configure() -> None:
    """Process-wide: in a public demo, uncaught exceptions show their type only (the guarded
    pages show messages; this covers anything outside them, whatever flags started the app)."""
    if not details_allowed() and st.get_option("client.showErrorDetails") != "type":
        st.set_option("client.showErrorDetails", "type")
