"""The worker loop in-process: crash + resume, SIGTERM requeue and cancel, on a tmp store."""

from __future__ import annotations

import time

import numpy as np
import pytest

from memcore.jobs import api, lease
from memcore.jobs.worker import Worker, default_runner
from memcore.spec import RunSpec
from memcore.spec.presets import preset
from memcore.store import Store
from tests import fake_runner as fake


def tiny(**changes) -> RunSpec:
    base = {
        "model.width": 16,
        "data.train_size": 200,
        "train.epochs": 5,
        "train.device": "cpu",
        "metrics.csr_every": 2,
        "metrics.csr_probes": 50,
        "metrics.track_size": 40,
    }
    return preset("digits-mlp", **{**base, **changes})


def after_checkpoints(runner, n: int, action):
    """Wrap a runner: call action() once the worker has consumed the n-th checkpoint."""

    def wrapped(spec, **kw):
        seen = 0
        for rec in runner(spec, **kw):
            yield rec
            seen += rec["type"] == "checkpoint"
            if seen == n:
                action()
                seen += 1

    return wrapped


class Crash(BaseException):
    """Like SIGKILL: nothing in the worker catches it, the job stays 'running'."""


def crash():
    raise Crash


def strip_wall(recs):
    return [{k: v for k, v in r.items() if k != "wall"} for r in recs]


def clean_run(tmp_path, spec, runner) -> tuple[list, dict]:
    s = Store(tmp_path / "clean")
    key = api.submit(spec, s)
    w = Worker(s, runner=runner)
    assert w.run_job(lease.claim(s, w.id)) == "done"
    return api.records(key, 0, s), api.arrays(key, s)


def test_crash_then_resume_on_another_worker_equals_uninterrupted_run(tmp_path):
    spec = tiny()
    store = Store(tmp_path / "s", lease_s=0.2)
    key = api.submit(spec, store)
    a = Worker(store, runner=after_checkpoints(default_runner, 2, crash))
    with pytest.raises(Crash):
        a.run_job(lease.claim(store, a.id))
    assert api.status(key, store).status == "running"
    kept = api.records(key, 0, store)
    assert [r["epoch"] for r in kept if r["type"] == "epoch"] == [0.0, 1.0, 2.0]
    time.sleep(0.3)  # a's lease expires
    b = Worker(store)
    claim = lease.claim(store, b.id)
    assert claim.key == key and claim.checkpoint["records"] == len(kept)
    assert b.run_job(claim) == "done"
    recs, arrs = api.records(key, 0, store), api.arrays(key, store)
    ref_recs, ref_arrs = clean_run(tmp_path, spec, default_runner)
    assert recs[: len(kept)] == kept  # committed epochs untouched
    assert strip_wall(recs) == strip_wall(ref_recs)
    assert arrs.keys() == ref_arrs.keys()
    assert all(np.array_equal(arrs[n], ref_arrs[n]) for n in arrs)
    assert api.status(key, store).attempts == 2
    assert not list((store.path / "checkpoints").iterdir())  # done: checkpoints removed


def test_sigterm_requeues_to_front_and_resume_is_identical(tmp_path):
    spec = tiny(**{"train.epochs": 6})
    store = Store(tmp_path / "s")
    key = api.submit(spec, store)
    other = api.submit(tiny(**{"train.seed": 1}), store)
    w = Worker(store, runner=fake.run)
    w.runner = after_checkpoints(fake.run, 2, w.term.set)
    assert w.run_job(lease.claim(store, w.id)) == "requeued"
    st = api.status(key, store)
    assert (st.status, st.queue_position, st.worker) == ("queued", 0, None)
    assert store.index.queue() == [key, other]
    w2 = Worker(store, runner=fake.run)
    assert w2.run_job(lease.claim(store, w2.id)) == "done"
    assert api.records(key, 0, store) == clean_run(tmp_path, spec, fake.run)[0]


def test_cancel_stops_within_one_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMCORE_FAKE_EPOCH_S", "0.3")
    store = Store(tmp_path / "s")
    key = api.submit(tiny(**{"train.epochs": 50}), store)
    yielded_after_cancel = []

    def runner(spec, **kw):
        cancelled = False
        for rec in fake.run(spec, **kw):
            if cancelled and rec["type"] == "epoch":
                yielded_after_cancel.append(rec["epoch"])
            yield rec
            if rec["type"] == "checkpoint" and rec["epoch"] == 2:
                api.cancel(key, store)
                cancelled = True

    w = Worker(store, runner=runner)
    t0 = time.time()
    assert w.run_job(lease.claim(store, w.id)) == "stopped"
    assert len(yielded_after_cancel) <= 1 and time.time() - t0 < 3 * 0.3 + 1.5
    st = api.status(key, store)
    assert st.status == "cancelled" and st.n_records == 1 + 2 * 2  # meta + 2 epochs kept
    assert api.retry(key, store) == "queued"


def test_worker_device_fills_in_auto_only(tmp_path):
    store = Store(tmp_path / "s")
    seen = []

    def runner(spec, **kw):
        seen.append(spec.train.device)
        yield from fake.run(spec, **kw)

    auto = api.submit(tiny(**{"train.device": "auto"}), store)
    api.submit(tiny(**{"train.device": "cpu", "train.seed": 3}), store)
    w = Worker(store, device="cuda:1", runner=runner)
    assert w.run_job(lease.claim(store, w.id)) == "done"
    assert w.run_job(lease.claim(store, w.id)) == "done"
    assert seen == ["cuda:1", "cpu"]
    assert api.spec(auto, store).train.device == "auto"  # the key's spec is unchanged


def test_corrupt_checkpoint_restarts_the_run_from_scratch(tmp_path):
    spec = tiny(**{"train.epochs": 6})
    store = Store(tmp_path / "s", lease_s=0.2)
    key = api.submit(spec, store)
    a = Worker(store, runner=after_checkpoints(fake.run, 3, crash))
    with pytest.raises(Crash):
        a.run_job(lease.claim(store, a.id))
    (ck,) = (store.path / "checkpoints").iterdir()
    ck.write_bytes(b"\0" + ck.read_bytes()[1:])
    time.sleep(0.3)
    resumed = []

    def runner(spec, resume=None, **kw):
        resumed.append(resume)
        return fake.run(spec, resume=resume, **kw)

    b = Worker(store, runner=runner)
    assert b.run_job(lease.claim(store, b.id)) == "done"
    assert resumed == [None]  # the corrupt checkpoint was not used
    assert api.records(key, 0, store) == clean_run(tmp_path, spec, fake.run)[0]
