"""app/errors.py: a visitor's values never render as Markdown (links, images, colours), long
values are cut, and a public demo shows messages without tracebacks. The Markdown a page sends
is rendered with markdown-it (CommonMark + GFM autolinks), as the browser's renderer would."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from app import errors

MAIN = str(Path(__file__).resolve().parents[1] / "app" / "main.py")
MD = MarkdownIt("gfm-like")  # tables, strikethrough, linkify: GFM as Streamlit renders it


def html(markdown: str) -> str:
    return MD.render(markdown)


def plain(markdown: str) -> str:
    """The text a reader sees: rendered, tags dropped."""
    return unescape(re.sub(r"<[^>]+>", "", html(markdown))).strip()


@given(st.text(max_size=200))
def test_escaped_text_renders_as_itself_without_links_or_images(text: str) -> None:
    out = html(errors.escape(text))
    assert "<a " not in out and "<img" not in out
    words = " ".join(text.split())
    if words and not any(c in text for c in "\r\x0b\x0c\x00"):
        assert " ".join(plain(errors.escape(text)).split()) == words


@pytest.fixture
def app(memcore_env, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MEMCORE_WORKERS", "0")
    for var in ("MEMCORE_DEMO", "MEMCORE_READONLY"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


INJECTIONS = [
    "[Session expired - sign in](https://evil.example/login)",
    "![t](http://evil.example/x.png)",
    "see https://evil.example/login or www.evil.example",
    ":red[**urgent**] $x^2$",
]


@pytest.mark.parametrize("demo", ["0", "1"])
@pytest.mark.parametrize("value", INJECTIONS)
def test_a_link_value_is_shown_as_text_never_markdown(app, demo: str, value: str) -> None:
    app.setenv("MEMCORE_DEMO", demo)
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["data.dataset"] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    [shown] = [e.value for e in at.error if "This link has problems" in e.value]
    out = html(shown)
    assert "<a " not in out and "<img" not in out, out
    assert value in plain(shown)  # shown literally


def test_a_100kb_value_is_cut_in_the_message(app) -> None:
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["data.dataset"] = "[x](https://e.example) " + "A" * 100_000
    at.run()
    [shown] = [e.value for e in at.error if "This link has problems" in e.value]
    assert len(shown) < 600 and "characters)" in plain(shown) and "<a " not in html(shown)


@pytest.mark.parametrize("demo", ["0", "1"])
def test_demo_visitors_see_no_traceback(app, demo: str) -> None:
    """A failed run's details and a page that raises: locally the traceback is in an expander;
    in a public demo only the message shows (tracebacks name server paths)."""
    from app_helpers import seed

    from app import state
    from app.links import short_params
    from memcore.spec.presets import preset
    from memcore.store import open_store

    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 3})
    seed(open_store(), spec, fail_at=2)
    app.setenv("MEMCORE_DEMO", demo)
    at = AppTest.from_file(MAIN, default_timeout=120)
    for k, v in short_params(spec).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert any("boom: a deliberate test failure" in plain(e.value) for e in at.error)
    tracebacks = [c.value for c in at.code if "Traceback" in c.value]
    assert bool(tracebacks) == (demo == "0")

    def broken(key: str):
        raise RuntimeError(f"boom in {Path(state.__file__).parent}")

    app.setattr(state, "status", broken)  # the Explore page reads every run through this
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    assert not at.exception
    assert any("This page hit an error" in e.value and "boom" in e.value for e in at.error)
    tracebacks = [c.value for c in at.code if "Traceback" in c.value]
    assert bool(tracebacks) == (demo == "0")


def test_a_100kb_link_is_cut_where_the_page_echoes_it(app) -> None:
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["data.dataset"] = "A" * 100_000
    at.run()
    echoed = [c.value for c in at.code if c.value.startswith("?")]
    assert echoed and all(len(c) < 2100 and "characters)" in c for c in echoed)
