"""The app serving a store it cannot write (a read-only mount or folder): stored runs are viewed
as usual, no worker is started. The store is opened with SQLite's mode=ro (the flag a store on a
read-only mount gets; tests run as root, whom file permissions do not stop)."""

from __future__ import annotations

import os

from memcore import store as jobstore
from memcore.jobs import pool
from memcore.spec.presets import preset
from memcore.store import Store
from tests.app_helpers import app, no_exception, seed
from tests.test_errors import plain


def test_the_app_shows_the_runs_of_a_read_only_store_and_starts_no_worker(tmp_path, monkeypatch):
    path = tmp_path / "store"
    monkeypatch.setenv("MEMCORE_STORE", str(path))
    monkeypatch.setenv("MEMCORE_WORKERS", "1")  # would start one on a writable store
    spec = preset("digits-mlp", **{"model.width": 24, "train.epochs": 3})
    key = seed(Store(path), spec)
    ro = Store(path, readonly=True)
    monkeypatch.setitem(jobstore._OPEN, (os.getpid(), path.resolve()), ro)
    started = []
    monkeypatch.setattr(pool, "start_worker", lambda *a, **k: started.append(a))

    at = app()
    at.switch_page("../pages/runs.py").run()
    no_exception(at)
    assert list(at.dataframe[0].value["key"]) == [key] and not at.error
    from app.links import short_params

    at = app(short_params(spec))
    no_exception(at)
    assert at.metric[0].value == "3 / 3" and at.get("vega_lite_chart") and not at.error
    assert started == []  # a worker could not write: none is started


def test_delete_on_a_read_only_store_says_why_instead_of_raising(tmp_path, monkeypatch):
    path = tmp_path / "store"
    monkeypatch.setenv("MEMCORE_STORE", str(path))
    monkeypatch.setenv("MEMCORE_WORKERS", "0")
    spec = preset("digits-mlp", **{"model.width": 24, "train.epochs": 3})
    key = seed(Store(path), spec)
    monkeypatch.setitem(jobstore._OPEN, (os.getpid(), path.resolve()), Store(path, readonly=True))

    at = app()
    at.switch_page("../pages/runs.py").run()
    at.button(key="runs:delete").click().run()
    no_exception(at)
    shown = [plain(e.value) for e in at.error]  # as rendered (escaped)
    assert any(s.startswith("Not done") and "is read-only" in s for s in shown), shown
    assert Store(path).index.status(key) == "done"  # nothing lost
