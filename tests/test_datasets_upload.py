"""AppTest for Explore's "Add dataset" control (app/datasets_upload.py): an upload is imported
with the same validation as the CLI and picked in the form; a bad or too-large file is named
and changes nothing; in a demo the control is off unless MEMCORE_DEMO_UPLOADS is set, and a
visitor's dataset box shows the built-ins and only their own uploads."""

from __future__ import annotations

import io

import numpy as np
import pytest
from app_helpers import app, app_store, no_exception, widget
from test_errors import plain

from memcore.data import imports
from memcore.datasets import DATASETS, REGISTRY, user_registry_path

K = "add-dataset"


@pytest.fixture
def env(memcore_env, tmp_path, monkeypatch):
    app_store(tmp_path, monkeypatch)
    return memcore_env


def npz_bytes(n: int = 60, shift: float = 0.0) -> bytes:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 3
    x = np.array([[0, 0], [8, 0], [0, 8]], float)[y] + rng.normal(size=(n, 2)) + shift
    buf = io.BytesIO()
    np.savez(buf, x=x, y=y)
    return buf.getvalue()


def upload(at, data: bytes, filename: str, name: str):
    at.sidebar.get_by_key(f"{K}:file").set_value((filename, data, "application/octet-stream"))
    at.sidebar.get_by_key(f"{K}:name").set_value(name)
    at.sidebar.get_by_key(f"{K}:add").click()
    return at.run()


def test_upload_imports_and_picks_the_dataset(env):
    at = app()
    at = upload(at, npz_bytes(), "blobs.npz", "upblobs")
    no_exception(at)
    assert any("Imported upblobs: 48 train / 12 val, input 1x2, 3 classes" in plain(s.value)
               for s in at.sidebar.success)  # fmt: skip
    box = widget(at, "data.dataset")
    assert box.value == "upblobs" and "upblobs" in box.options[-1]
    assert REGISTRY["upblobs"].origin == "upload blobs.npz" and REGISTRY["upblobs"].owner == ""
    assert not at.error  # the form's spec on the new dataset is valid


@pytest.mark.parametrize(
    ("data", "filename", "name", "message"),
    [
        (b"PK\x03\x04 broken", "bad.npz", "x1", "corrupt or not an .npz"),
        (npz_bytes(), "blobs.npz", "digits", "is a built-in dataset"),
        (npz_bytes(), "blobs.npz", "", "name the dataset"),
        (b"not a zip", "pics.zip", "x3", "corrupt or not a zip"),
    ],
)
def test_a_bad_upload_is_named_and_changes_nothing(env, data, filename, name, message):
    at = app()
    at = upload(at, data, filename, name)
    no_exception(at)
    assert any(message in plain(e.value) for e in at.sidebar.error), [
        e.value for e in at.sidebar.error
    ]
    assert not user_registry_path().exists()


def test_an_upload_over_the_cap_is_refused(env, monkeypatch):
    monkeypatch.setenv("MEMCORE_MAX_UPLOAD_MB", "0.001")  # about 1 KB
    at = app()
    at = upload(at, npz_bytes(200), "big.npz", "big")
    assert any("over the cap" in plain(e.value) and "MEMCORE_MAX_UPLOAD_MB" in plain(e.value)
               for e in at.sidebar.error)  # fmt: skip
    assert "big" not in REGISTRY


def test_demo_mode_has_no_uploads_unless_allowed(env, monkeypatch):
    monkeypatch.setenv("MEMCORE_DEMO", "1")
    at = app()
    no_exception(at)
    assert not at.sidebar.get("file_uploader")
    assert any("MEMCORE_DEMO_UPLOADS" in c.value for c in at.sidebar.caption)


def test_demo_visitor_sees_builtins_and_only_their_own_uploads(env, monkeypatch, tmp_path):
    np.savez(tmp_path / "o.npz", x=np.eye(4), y=[0, 1, 0, 1])
    imports.add(tmp_path / "o.npz", "someone-elses", owner="address 203.0.113.9")
    imports.add(tmp_path / "o.npz", "for-everyone")  # imported by the operator (CLI)
    monkeypatch.setenv("MEMCORE_DEMO", "1")
    monkeypatch.setenv("MEMCORE_DEMO_UPLOADS", "1")
    at = app()
    assert at.sidebar.get("file_uploader")  # uploads on
    assert not [w for w in at.sidebar.text_input if w.key == f"{K}:path"]  # no server paths
    at = upload(at, npz_bytes(), "mine.npz", "mine")
    no_exception(at)
    options = [o.split(" ")[0] for o in widget(at, "data.dataset").options]
    assert options == [*DATASETS, "for-everyone", "mine"]
    assert REGISTRY["mine"].owner  # recorded as this visitor's


def test_a_demo_link_to_another_visitors_dataset_is_refused(env, monkeypatch, tmp_path):
    np.savez(tmp_path / "o.npz", x=np.eye(4), y=[0, 1, 0, 1])
    imports.add(tmp_path / "o.npz", "theirs", owner="address 203.0.113.9")
    monkeypatch.setenv("MEMCORE_DEMO", "1")
    at = app({"data.dataset": "theirs"})
    no_exception(at)
    assert any("'theirs' is not available to you" in plain(e.value) for e in at.error)


def test_figure_pages_and_report_offer_an_imported_dataset(env, tmp_path):
    from test_pages_figures import page

    np.savez(tmp_path / "o.npz", x=np.eye(4), y=[0, 1, 0, 1])
    imports.add(tmp_path / "o.npz", "mine")
    for name in ("easiness", "../pages/report.py"):
        at = page(name)
        no_exception(at)
        box = next(s for s in at.selectbox if s.label == "dataset")
        assert "mine" in box.options, (name, box.options)


def test_a_server_path_imports_outside_a_demo(env, tmp_path):
    rows = ["f1,f2,kind"] + [f"{i % 3 * 5 + i / 100},{i % 7},{'abc'[i % 3]}" for i in range(30)]
    (tmp_path / "t.csv").write_text("\n".join(rows))
    at = app()
    at.sidebar.get_by_key(f"{K}:path").set_value(str(tmp_path / "t.csv"))
    at.sidebar.get_by_key(f"{K}:label").set_value("kind")
    at.sidebar.get_by_key(f"{K}:name").set_value("tab")
    at = at.sidebar.get_by_key(f"{K}:add").click().run()
    no_exception(at)
    assert any("Imported tab: 24 train / 6 val" in plain(s.value) for s in at.sidebar.success)
    assert REGISTRY["tab"].classes == ("a", "b", "c") and widget(at, "data.dataset").value == "tab"


def test_the_sensitivity_run_for_a_small_imported_dataset_uses_all_of_it(env, tmp_path):
    from app.views import sensitivity_for
    from memcore.spec.presets import preset

    np.savez(tmp_path / "s.npz", x=np.random.default_rng(0).normal(size=(50, 3)),
             y=np.arange(50) % 2)  # fmt: skip
    imports.add(tmp_path / "s.npz", "small")  # 40 training examples, fewer than the preset's
    sens = sensitivity_for(preset("digits-mlp", **{"data.dataset": "small"}))
    assert sens.task == "sensitivity" and sens.data.train_size == 0
    assert sensitivity_for(preset("digits-mlp")).data.train_size == 1000  # digits: unchanged
