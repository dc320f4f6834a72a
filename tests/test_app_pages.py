"""AppTest for every page on a store of hand-made runs (tests/app_helpers.py; no worker, no
training): each page loads, the sidebar shows the workers, and Explore shows a stored, running,
failed or not-yet-stored run with its charts, progress, notes and errors, the Runs page lists,
compares and deletes runs, and Explore runs the loss-sensitivity pair in one click. The form and
its links are in test_app_explore_form.py."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from app_helpers import (
    app,
    app_store,
    charts,
    fake_records,
    fields,
    no_exception,
    seed,
    sens_records,
)
from test_errors import plain

from memcore.jobs import api, lease
from memcore.jobs.worker import Worker
from memcore.spec.presets import preset


@pytest.fixture
def store(tmp_path, monkeypatch):
    return app_store(tmp_path, monkeypatch)


# -- pages load -------------------------------------------------------------------------------
@pytest.mark.parametrize("page", [None, "../pages/runs.py", "../pages/about.py"])
def test_every_page_loads_on_an_empty_store(store, page):
    at = app()
    if page:
        at.switch_page(page).run()
    no_exception(at)
    assert not at.error
    assert at.title


def test_sidebar_shows_workers_and_device(store):
    at = app()
    text = " ".join(c.value for c in at.sidebar.caption)
    assert "workers alive: 0" in text and "device: " in text


def test_supervised_workers_are_wanted_in_the_sidebar_and_not_started_by_the_app(
    store, monkeypatch
):
    """docker/entrypoint.sh runs the workers itself (MEMCORE_WORKERS_SUPERVISED=1): the app
    starts none, even on Run, and the sidebar shows the operator's MEMCORE_WORKERS."""
    from memcore.jobs import pool

    started = []
    monkeypatch.setattr(pool, "ensure_workers", lambda *a, **k: started.append(a))
    monkeypatch.setenv("MEMCORE_WORKERS", "2")
    monkeypatch.setenv("MEMCORE_WORKERS_SUPERVISED", "1")
    at = app()
    at.button(key="explore:run").click().run()
    no_exception(at)
    text = " ".join(c.value for c in at.sidebar.caption)
    assert "workers alive: 0 (wanted 2)" in text
    assert api.list_runs(store) and started == []
    monkeypatch.delenv("MEMCORE_WORKERS_SUPERVISED")  # the reference: unsupervised, it starts 2
    at = app()
    at.button(key="explore:run").click().run()
    assert started and all(a[0] == 2 for a in started)


# -- stored runs --------------------------------------------------------------------------------
def test_link_restores_the_form_and_shows_the_stored_run(store):
    changes = {"noise.kind": "randX", "noise.level": 0.4, "model.width": 24}
    spec = preset("digits-mlp", **changes, **{"train.epochs": 3, "train.members": 3})
    seed(store, spec)
    from app.links import short_params

    at = app(short_params(spec))
    no_exception(at)
    assert at.number_input(key="explore:model.width").value == 24
    assert at.selectbox(key="explore:noise.kind").value == "randX"
    assert at.slider(key="explore:noise.level").value == pytest.approx(0.4)
    assert at.metric[0].value == "3 / 3"  # the last epoch, readable at a glance
    specs = charts(at)
    all_fields = [fields(s) for s in specs]
    assert any({"epoch", "mean", "series"} <= f for f in all_fields)  # accuracy
    acc = next(s for s in specs if "series" in fields(s))
    assert "train (noisy)" in json.dumps(acc)
    assert any("critical sample ratio" in json.dumps(s) for s in specs)
    assert any({"p_correct", "rank"} <= f for f in all_fields)  # easiness: histogram + sorted
    assert any({"variability", "confidence"} <= f for f in all_fields)  # data map
    assert any("forgetting" in f for f in all_fields)
    assert len(at.caption) >= len(specs)  # a how-to-read caption per chart
    assert not at.error


def test_failed_run_shows_message_and_traceback_in_expander(store):
    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 3})
    seed(store, spec, fail_at=2)
    from app.links import short_params

    at = app(short_params(spec))
    no_exception(at)
    assert any("boom: a deliberate test failure" in plain(e.value) for e in at.error)
    assert at.expander and "Traceback" in at.expander[0].code[0].value
    assert "Traceback" not in " ".join(e.value for e in at.error)


def test_sensitivity_run_shows_gini_and_log_heatmap(store):
    spec = preset("sensitivity-2x16")
    seed(store, spec, runner=lambda s, resume=None, should_stop=None: sens_records(s))
    from app.links import short_params

    at = app(short_params(spec))
    no_exception(at)
    specs = charts(at)
    heat = next(s for s in specs if "loss_class" in fields(s))
    assert heat["encoding"]["color"]["scale"]["type"] == "log"
    gini = next(s for s in specs if {"step", "variant"} <= fields(s))
    assert "running mean" in json.dumps(gini)


def test_runs_page_lists_compares_and_deletes(store):
    a = seed(store, preset("digits-mlp", **{"model.width": 20, "train.epochs": 2}))
    noisy = {"noise.kind": "randY", "noise.level": 0.2}
    b = seed(store, preset("digits-mlp", **{"model.width": 40, "train.epochs": 2}, **noisy))
    at = app()
    at.switch_page("../pages/runs.py").run()
    no_exception(at)
    table = at.dataframe[0].value
    assert set(table["key"]) == {a, b} and set(table["status"]) == {"done"}
    assert {"train acc", "val acc", "CSR", "duration (s)"} <= set(table.columns)
    assert set(at.multiselect(key="runs:pick").value) == {a, b}  # done runs overlaid by default
    assert any({"run", "epoch", "mean", "lo", "hi"} <= fields(s) for s in charts(at))
    assert len(at.get("download_button")) == 3
    at.selectbox(key="runs:one").set_value(a)
    at.button(key="runs:delete").click().run()
    no_exception(at)
    assert [r["key"] for r in api.list_runs(store)] == [b]


def test_running_run_shows_progress_live_charts_and_cancels(store):
    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 3})
    key = api.submit(spec, store)
    claim = lease.claim(store, "test-worker")
    assert claim is not None and claim.key == key
    recs = list(fake_records(spec))
    shown = ("meta", "epoch")
    first_two_epochs = [r for r in recs if r["type"] in shown and r.get("epoch", 0) <= 1]
    progress = {"epoch": 1.0, "epochs": 3, "fraction": 1 / 3}
    lease.set_pending(store, key, "test-worker", first_two_epochs, progress)
    from app.links import short_params

    at = app(short_params(spec))
    no_exception(at)
    bar = at.get("progress")
    assert bar and "epoch 1 / 3" in bar[0].proto.text
    assert at.metric[0].value == "1 / 3"
    assert any("series" in fields(s) for s in charts(at))  # the curve so far
    at.button(key=f"cancel:{key}").click().run()
    no_exception(at)
    assert api.status(key, store).status == "cancelled"
    assert any("Cancelled at epoch" in w.value for w in at.warning)


def test_a_real_engine_run_renders_every_training_chart(store, tiny_spec):
    """The same page on records written by memcore.engine.trainer (not hand-made ones)."""
    from memcore.jobs.worker import default_runner

    spec = tiny_spec.replace(
        **{"train.members": 3, "metrics.csr_every": 1, "noise.kind": "randY", "noise.level": 0.3}
    )
    seed(store, spec, runner=default_runner)
    assert api.status(spec.key, store).status == "done"
    from app.links import short_params

    at = app(short_params(spec))
    no_exception(at)
    assert not at.error
    assert at.metric[0].value == f"{spec.train.epochs} / {spec.train.epochs}"
    found = [fields(s) for s in charts(at)]
    for needed in ({"series", "mean"}, {"p_correct", "rank"}, {"variability", "confidence"}):
        assert any(needed <= f for f in found), needed
    assert any("critical sample ratio" in json.dumps(s) for s in charts(at))


def test_a_link_to_a_run_not_stored_yet_shows_it_once_it_is(store):
    """'Not found' is never cached: a shared link opened before its run exists shows the run
    as soon as it is stored (it used to say "This run was deleted." until a restart)."""
    from app import state
    from app.links import short_params

    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 2})
    assert state.spec_of(spec.key) is None
    at = app(short_params(spec))
    assert any("not been run yet" in i.value for i in at.info)
    seed(store, spec)
    assert state.spec_of(spec.key) == spec
    at.run()
    no_exception(at)
    assert not [w for w in at.warning if "deleted" in w.value]
    assert charts(at)


# -- what a run's page says ---------------------------------------------------------------------
CSR_OFF_NOTE = "No critical sample ratio"


def test_csr_note_only_when_csr_is_off(store):
    from app.links import short_params

    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 3})
    assert spec.metrics.csr_every == 5
    key = api.submit(spec, store)
    lease.claim(store, "test-worker")
    epoch0 = [r for r in fake_records(spec)
              if r["type"] == "meta" or (r["type"] == "epoch" and r["epoch"] == 0)]  # fmt: skip
    lease.set_pending(store, key, "test-worker", epoch0, {"epoch": 0.0, "epochs": 3})
    at = app(short_params(spec))
    no_exception(at)
    assert charts(at) and not any(CSR_OFF_NOTE in c.value for c in at.caption)

    off = spec.replace(**{"metrics.csr_every": 0, "model.width": 21})
    seed(store, off, runner=lambda s, resume=None, should_stop=None: (
        r for r in fake_records(s) if r["type"] != "csr"))  # fmt: skip
    at = app(short_params(off))
    assert any(CSR_OFF_NOTE in c.value for c in at.caption)


def test_a_run_failed_before_its_first_evaluation_shows_its_error_not_waiting(store):
    from app.links import short_params

    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 3})
    seed(store, spec, fail_at=0)
    at = app(short_params(spec))
    no_exception(at)
    assert any("boom" in e.value for e in at.error)
    assert not [c for c in at.caption if "Waiting" in c.value]


def test_running_progress_shows_an_eta_from_the_records(store):
    from app.links import short_params

    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 3, "metrics.csr_every": 0})
    key = api.submit(spec, store)
    lease.claim(store, "test-worker")
    recs = [
        {**r, "wall": 30.0 * r["epoch"]} if r["type"] == "epoch" else r  # 30 s per epoch
        for r in fake_records(spec)
        if r["type"] == "meta" or (r["type"] == "epoch" and r["epoch"] <= 1)
    ]
    lease.set_pending(store, key, "test-worker", recs, {"epoch": 1.0, "epochs": 3})
    at = app(short_params(spec))
    text = at.get("progress")[0].proto.text
    assert re.search(r"ETA (59|60) s", text), text  # two epochs of 30 s are left


def test_easiness_histogram_bars_centred_on_k_over_k(store):
    from app.links import short_params

    spec = preset("digits-mlp", **{"model.width": 22, "train.epochs": 3, "train.members": 4})
    seed(store, spec)
    at = app(short_params(spec))
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    element = next(
        c for c in at.get("vega_lite_chart") if "rank" in fields(json.loads(c.proto.spec))
    )
    easy = json.loads(element.proto.spec)
    hist = easy["hconcat"][0]["layer"][0]
    data = {d.name: convert_arrow_bytes_to_pandas_df(d.data.data) for d in element.proto.datasets}
    bars = data[hist["data"]["name"]]
    k = spec.train.members
    assert len(bars) and np.allclose((bars["lo"] + bars["hi"]) / 2, bars["p_correct"])
    assert np.allclose(bars["p_correct"] * k, np.round(bars["p_correct"] * k))  # on k/K
    x = hist["encoding"]["x"]
    assert x["scale"]["domain"] == pytest.approx([-0.5 / k, 1 + 0.5 / k])
    assert x["axis"]["values"] == [i / k for i in range(k + 1)]  # a tick on every bar


# -- the loss-sensitivity views from Explore ---------------------------------------------------
def test_explore_runs_loss_sensitivity_for_the_form_in_one_click(store):
    """Real data and the form's noise side by side: one click queues both; one Gini chart has a
    curve per setting in the poster's colours, y fitted to the data; a heatmap per run."""
    from app.links import short_params
    from app.views import sensitivity_pair

    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 2, "noise.kind": "randY",
                                   "noise.level": 0.5})  # fmt: skip
    seed(store, spec)
    at = app(short_params(spec))
    assert any("Loss-sensitivity" in t.label for t in at.tabs)
    at.button(key="explore:sens").click().run()
    no_exception(at)
    pair = sensitivity_pair(spec)
    assert list(pair) == ["real", "randY 0.5"]
    assert pair["randY 0.5"].noise == spec.noise and pair["real"].noise.kind == "none"
    assert all(s.task == "sensitivity" for s in pair.values())
    assert {api.status(s.key, store).status for s in pair.values()} == {"queued"}
    w = Worker(store, runner=lambda s, resume=None, should_stop=None: sens_records(s))
    w.run_job(lease.claim(store, w.id))
    w.run_job(lease.claim(store, w.id))
    at.run()
    no_exception(at)
    specs = charts(at)
    heats = [s for s in specs if "loss_class" in fields(s)]
    assert len(heats) == 2  # one per setting, side by side
    assert "yellow" in json.dumps(heats[0]["encoding"]["color"]["title"])  # viridis: bright = large
    gini = next(s for s in specs if {"step", "setting"} <= fields(s))  # one chart, both runs
    assert gini["encoding"]["color"]["scale"]["domain"] == ["real", "randY"]
    assert gini["encoding"]["y"]["scale"] == {"zero": False}  # fitted to the data
    assert any("series" in fields(s) for s in specs)  # and the training run's own charts
    assert sensitivity_pair(preset("digits-mlp"))["randX 1"].noise.level == 1.0  # real: vs randX
