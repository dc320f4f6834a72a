"""What a visitor's values and the server's paths look like on the pages (issue 25 items 3, 15):
a `?run=` value renders as text (no link, image, colour or bold), and a public demo's messages
never show where the server keeps its files."""

from __future__ import annotations

import pytest
from app_helpers import app, no_exception
from test_errors import html, plain

from app import errors
from memcore.jobs import api
from memcore.spec.presets import preset

INJECTIONS = ["[x](//127.1)", "![](//127.1)", ":red[boom]", "**bold**", "<b>x</b>"]


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = tmp_path / "store"
    monkeypatch.setenv("MEMCORE_STORE", str(path))
    monkeypatch.setenv("MEMCORE_WORKERS", "0")
    for var in ("MEMCORE_DEMO", "MEMCORE_READONLY"):
        monkeypatch.delenv(var, raising=False)
    return path


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_run_link_value_renders_as_text_on_the_examples_page(store, value):
    api.submit(preset("digits-mlp", **{"model.width": 16}), store)  # a run to fall back on
    at = app({"run": value})
    at.switch_page("../pages/examples.py").run()
    no_exception(at)
    [warning] = [w.value for w in at.warning if "No training run with key" in w.value]
    out = html(warning)
    assert "<a " not in out and "<img" not in out and "<strong>" not in out, out
    assert ":red[" not in warning  # Streamlit's colour directive is escaped too
    assert value[:12] in plain(warning)  # the reader sees what was typed


def test_a_demo_visitor_is_not_shown_the_servers_data_folder(store, tmp_path, monkeypatch):
    monkeypatch.setenv("MEMCORE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("MEMCORE_DEMO", "1")
    at = app()
    at.selectbox(key="explore:data.dataset").set_value("mnist").run()
    at.button(key="explore:run").click().run()
    said = " ".join(e.value for e in at.error)
    assert "not available on this server" in said and str(tmp_path) not in said, said
    assert api.list_runs(store) == []


def test_store_errors_shown_to_demo_visitors_name_no_server_path(monkeypatch):
    message = "disk full while writing the store at /srv/memlab/store: free some space"
    monkeypatch.setenv("MEMCORE_DEMO", "1")
    assert "/srv" not in errors.message(message) and "disk full" in plain(errors.message(message))
    monkeypatch.delenv("MEMCORE_DEMO")
    assert "/srv/memlab/store" in plain(errors.message(message))  # a local user sees where
    assert errors.redact("radius 1/255, see http://x.org/a") == "radius 1/255, see http://x.org/a"
