"""memcore.sweeps.batches: an in-process figure sweep trains its same-shape specs as one batched run
and stores each spec's records under its own key, as if each had run alone."""

from __future__ import annotations

import pandas as pd
import pytest

from memcore.figures.figure import Figure, Verdict
from memcore.jobs import api, lease
from memcore.jobs.worker import Worker
from memcore.sweeps import batches
from memcore.sweeps import sweep as fr
from tests.test_batching import assert_same

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest


def _figure(tiny_spec) -> Figure:
    base = tiny_spec.replace(**{"model.width": 16, "metrics.csr_every": 1,
                                "metrics.csr_probes": 20, "metrics.csr_iters": 5})  # fmt: skip
    specs = [
        base,
        base.replace(**{"noise.kind": "randY", "noise.level": 0.5}),
        base.replace(**{"noise.kind": "randX", "noise.level": 0.5, "train.members": 2}),
        base.replace(**{"model.width": 8}),  # another shape: runs alone
    ]
    return Figure(
        name="tiny-noise",
        title="tiny",
        paper_figure="-",
        claim="-",
        how_to_read="-",
        specs=lambda dataset, scale: specs,
        frame=lambda runs: pd.DataFrame({"n": [len(r.records) for r in runs]}),
        check=lambda df: Verdict("inconclusive", "test figure"),
        columns=("n",),
    )


def _stored(store, specs):
    return {s.key: (api.records(s.key, 0, store), api.arrays(s.key, store)) for s in specs}


def test_batched_sweep_stores_per_spec_the_records_of_its_own_run(
    tiny_spec, memcore_env, tmp_path, monkeypatch
):
    fig = _figure(tiny_spec)
    specs = fig.grid("digits", "test")
    groups = []
    run_group = batches._run_group
    monkeypatch.setattr(
        batches, "_run_group", lambda c, w, t: groups.append(len(c)) or run_group(c, w, t)
    )
    res = fr.run(fig, "digits", "test", tmp_path / "a", batched=True)
    assert groups == [3]  # the three specs of one shape, as one run; the fourth alone
    assert res.progress.done == 4 and res.errors == []
    fr.run(fig, "digits", "test", tmp_path / "b", batched=False)
    assert groups == [3]  # batched=False: nothing batched
    a, b = _stored(tmp_path / "a", specs), _stored(tmp_path / "b", specs)
    for s in specs:
        (ra, aa), (rb, ab) = a[s.key], b[s.key]
        strip = ("file", "sha256")  # artifact paths differ between the stores
        ra = [{k: v for k, v in r.items() if k not in strip} for r in ra]
        rb = [{k: v for k, v in r.items() if k not in strip} for r in rb]
        assert_same(ra, rb)
        assert set(aa) == set(ab) and aa["correct"].size > 0
        assert_same(dict(aa), dict(ab))
        st_a, st_b = api.status(s.key, tmp_path / "a"), api.status(s.key, tmp_path / "b")
        assert st_a.status == "done" and st_a.fraction == 1.0
        assert_same(st_a.summary, st_b.summary)


def test_only_queued_fresh_specs_are_batched_and_a_lone_one_is_left_queued(
    tiny_spec, memcore_env, tmp_path
):
    specs = _figure(tiny_spec).grid("digits", "test")
    store = tmp_path / "s"
    api.submit_sweep(specs, store)
    worker = Worker(store)
    assert batches.enabled(worker, True) and not batches.enabled(worker, False)
    # one of the three same-shape specs is taken by another worker first
    assert lease.claim_key(worker.store, "other-worker", specs[1].key) is not None
    assert batches.run(specs, worker) == 2
    status = {s.key: api.status(s.key, store).status for s in specs}
    assert status[specs[0].key] == status[specs[2].key] == "done"
    assert status[specs[1].key] == "running"  # still the other worker's
    assert status[specs[3].key] == "queued"  # alone in its shape: the ordinary loop runs it


def test_a_stopping_worker_puts_the_batched_specs_back_in_the_queue(
    tiny_spec, memcore_env, tmp_path
):
    specs = _figure(tiny_spec).grid("digits", "test")[:3]
    store = tmp_path / "s"
    api.submit_sweep(specs, store)
    worker = Worker(store)
    worker.term.set()  # SIGTERM before the first step
    assert batches.run(specs, worker) == 0
    assert {api.status(s.key, store).status for s in specs} == {"queued"}
