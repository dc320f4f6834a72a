"""Store, queue and job API on a real diskcache store in a tmp folder (in-process, fake runner)."""

from __future__ import annotations

import errno
import threading
import time

import numpy as np
import pytest

from memcore.jobs import api, lease
from memcore.jobs.worker import Worker
from memcore.spec import RunSpec
from memcore.spec.presets import preset
from memcore.store import CorruptArtifact, Store, StoreError
from tests import fake_runner as fake


def tiny(**changes) -> RunSpec:
    base = {"model.width": 16, "data.train_size": 200, "train.epochs": 4, "metrics.csr_every": 0}
    return preset("digits-mlp", **{**base, **changes})


def run_one(store: Store, runner=fake.run) -> str:
    w = Worker(store, runner=runner)
    return w.run_job(lease.claim(store, w.id))


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "store")


def test_submit_twice_makes_one_job(store):
    k1, k2 = api.submit(tiny(), store), api.submit(tiny(), store)
    assert k1 == k2 == tiny().key
    assert store.index.queue() == [k1]
    assert [r["key"] for r in api.list_runs(store)] == [k1]
    assert api.status(k1, store).status == "queued"


def test_done_key_returned_as_is(store):
    key = api.submit(tiny(), store)
    assert run_one(store) == "done"
    n = api.status(key, store).n_records
    assert api.submit(tiny(), store) == key
    st = api.status(key, store)
    assert (st.status, st.n_records, store.index.queue()) == ("done", n, [])


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"model": {"width": 0}}, "model.width"),
        ({"noise": {"kind": "randZ"}}, "noise.kind"),
        ('{"train": {"lr": -1}}', "train.lr"),
        ({"train": {"bogus": 1}}, "train.bogus"),
    ],
)
def test_invalid_spec_rejected_naming_field_nothing_queued(store, bad, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        api.submit(bad, store)
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        api.submit_sweep([tiny(), bad], store)  # one bad spec: none of the sweep is queued
    assert store.index.queue() == [] and api.list_runs(store) == []


def test_queue_limit_is_a_clear_error_and_all_or_nothing(tmp_path):
    store = Store(tmp_path / "s", max_queue=3)
    for seed in range(3):
        api.submit(tiny(**{"train.seed": seed}), store)
    with pytest.raises(ValueError, match=r"queue is full \(3 jobs"):
        api.submit(tiny(**{"train.seed": 9}), store)
    assert api.submit(tiny(**{"train.seed": 0}), store)  # already queued: no new job, no error
    run_one(store)
    with pytest.raises(ValueError, match="queue is full"):
        api.submit_sweep([tiny(**{"train.seed": s}) for s in (10, 11)], store)
    assert len(store.index.queue()) == 2 and len(api.list_runs(store)) == 3


def test_concurrent_claims_never_share_a_job(store):
    keys = [api.submit(tiny(**{"train.seed": s}), store) for s in range(12)]
    got: list[str] = []

    def claimer(i):
        while (c := lease.claim(store, f"w{i}")) is not None:
            got.append(c.key)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(got) == sorted(keys)  # each exactly once


def test_expired_lease_goes_back_to_the_front_and_old_owner_is_locked_out(tmp_path):
    store = Store(tmp_path / "s", lease_s=0.3)
    k1 = api.submit(tiny(), store)
    k2 = api.submit(tiny(**{"train.seed": 1}), store)
    assert lease.claim(store, "dead").key == k1
    assert lease.claim(store, "alive").key == k2  # k1's lease is still valid
    assert not api.status(k1, store).stalled
    time.sleep(0.4)
    assert api.status(k1, store).stalled  # its worker stopped beating
    c = lease.claim(store, "late")
    assert c.key == k1 and api.status(k1, store).attempts == 2
    with pytest.raises(lease.LeaseLost):
        lease.commit(store, k1, "dead", [{"type": "meta"}])


def test_records_since_is_a_suffix_and_pending_comes_last(store):
    key = api.submit(tiny(), store)
    c = lease.claim(store, "w")
    recs = [{"type": "epoch", "epoch": float(i), "member": 0} for i in range(7)]
    lease.commit(store, key, "w", recs[:3], checkpoint=("x", "y"))
    lease.commit(store, key, "w", recs[3:5], checkpoint=("x", "y"))
    lease.set_pending(store, key, "w", recs[5:], {"epoch": 2.0, "fraction": 0.5})
    assert c is not None and api.records(key, 0, store) == recs
    for since in range(9):
        assert api.records(key, since, store) == recs[since:]
    assert api.status(key, store).n_records == 5  # pending is not committed


def test_cancel_retry_delete(store):
    key = api.submit(tiny(), store)
    assert api.cancel(key, store) == "cancelled" and store.index.queue() == []
    assert lease.claim(store, "w") is None
    assert api.submit(tiny(), store) == key and api.status(key, store).status == "cancelled"
    assert api.retry(key, store) == "queued"
    assert run_one(store) == "done"
    with pytest.raises(ValueError, match="done"):
        api.retry(key, store)
    assert api.delete(key, store) and not api.exists(key, store)
    assert not (store.path / "artifacts" / key).exists()
    with pytest.raises(KeyError):
        api.status(key, store)


def test_failed_run_keeps_error_and_traceback(store, monkeypatch):
    monkeypatch.setenv("MEMCORE_FAKE_FAIL_AT", "3")
    key = api.submit(tiny(), store)
    assert run_one(store) == "failed"
    st = api.status(key, store)
    assert st.status == "failed" and "fake failure at epoch 3" in st.error
    assert "Traceback" in st.traceback and "fake_runner.py" in st.traceback
    assert api.status(key, store).n_records > 0  # epochs 1-2 kept
    monkeypatch.delenv("MEMCORE_FAKE_FAIL_AT")
    assert api.submit(tiny(), store, retry=True) == key
    assert run_one(store) == "done"
    clean = Store(store.path.parent / "clean")
    api.submit(tiny(), clean)
    run_one(clean)
    assert api.records(key, 0, store) == api.records(key, 0, clean)


def test_cuda_oom_message_says_what_to_reduce(store):
    def oom(spec, **_):
        yield {"type": "meta"}
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    key = api.submit(tiny(), store)
    run_one(store, oom)
    err = api.status(key, store).error
    assert "model.width" in err and "train.members" in err and "train.batch_size" in err


def test_corrupt_artifact_is_reported_by_a_pure_read_and_recomputed_on_request(store):
    k1, k2 = api.submit(tiny(), store), api.submit(tiny(**{"train.seed": 1}), store)
    run_one(store), run_one(store)
    good = api.arrays(k1, store)
    assert good["correct"].shape == (4, 1, 8) and list(good["epoch"]) == [1.0, 2.0, 3.0, 4.0]
    victim = sorted((store.path / "artifacts" / k1).glob("*.npz"))[0]
    victim.write_bytes(victim.read_bytes()[:-7] + b"garbage")
    before = api.records(k1, 0, store)
    with pytest.raises(CorruptArtifact, match="checksum.*memcore recompute"):
        api.arrays(k1, store)
    # Reads never write: the run stays done with its records until recompute is asked for.
    assert api.status(k1, store).status == "done" and api.records(k1, 0, store) == before
    assert api.mark_recompute(k1, store)
    assert api.status(k1, store).status == "queued" and api.records(k1, 0, store) == []
    other = api.arrays(k2, store)  # the other run is untouched
    assert api.status(k2, store).status == "done" and other["correct"].shape == (4, 1, 8)
    assert run_one(store) == "done"
    again = api.arrays(k1, store)
    assert all(np.array_equal(good[n], again[n]) for n in good)


def test_eviction_takes_oldest_finished_runs_never_queued_or_running(tmp_path):
    store = Store(tmp_path / "s", size_limit=10**9)
    done = []
    for seed in range(3):
        done.append(api.submit(tiny(**{"train.seed": seed, "train.members": 20}), store))
        run_one(store)
    running = api.submit(tiny(**{"train.seed": 10}), store)
    queued = [api.submit(tiny(**{"train.seed": s}), store) for s in (11, 12)]
    assert lease.claim(store, "w").key == running
    store.size_limit = store.size() - 1  # just over: evicting the oldest run is enough
    assert api.enforce_limit(store) == [done[0]]
    store.size_limit = 0  # no cap
    assert api.enforce_limit(store) == []
    store.size_limit = 1  # below one run's size: nothing is evicted, and the warning says why
    with pytest.warns(RuntimeWarning, match=r"2 finished run\(s\) are each bigger.*MEMCORE_STORE"):
        assert api.enforce_limit(store) == []
    store.size_limit = store.size() - 1  # over again, and a run fits: oldest finished goes
    assert api.enforce_limit(store) == [done[1]]
    left = {r["key"]: r["status"] for r in api.list_runs(store)}
    assert left == {done[2]: "done", running: "running", queued[0]: "queued", queued[1]: "queued"}


def test_disk_full_is_a_clear_error_and_loses_nothing(store, monkeypatch):
    key = api.submit(tiny(), store)
    real, calls = Store.write_arrays, []

    def flaky(self, *a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *a, **k)

    monkeypatch.setattr(Store, "write_arrays", flaky)
    assert run_one(store) == "failed"
    st = api.status(key, store)
    assert "disk full" in st.error and st.n_records > 0
    kept = api.records(key, 0, store)
    assert [r["epoch"] for r in kept if r["type"] == "epoch"] == [1.0, 2.0]
    with pytest.raises(StoreError, match="disk full"), store.transact():
        raise OSError(errno.ENOSPC, "No space left on device")
    assert api.retry(key, store) == "queued" and run_one(store) == "done"
    assert api.records(key, 0, store)[: len(kept)] == kept


def test_sweep_status_aggregates(store):
    specs = [tiny(**{"train.seed": s}) for s in range(4)]
    sid = api.submit_sweep(specs, store)
    assert sid == api.submit_sweep(specs, store)  # stable id, no new jobs
    assert api.sweep_status(sid, store).counts == {"queued": 4}
    run_one(store)
    api.cancel(specs[1].key, store)
    st = api.sweep_status(sid, store)
    assert st.counts == {"done": 1, "cancelled": 1, "queued": 2} and st.fraction == 0.5
    assert not st.finished


def test_list_runs_filters_and_summary(store):
    a = api.submit(tiny(), store)
    b = api.submit(tiny(**{"noise.kind": "randY", "noise.level": 0.5}), store)
    run_one(store)
    assert [r["key"] for r in api.list_runs(store, status="done")] == [a]
    assert [r["key"] for r in api.list_runs(store, noise_kind="randY")] == [b]
    assert api.list_runs(store, dataset="mnist1d") == []
    row = api.list_runs(store, status="done")[0]
    assert row["summary.final_train_acc"] == pytest.approx(
        np.mean(
            [
                r["train_acc"]
                for r in api.records(a, 0, store)
                if r["type"] == "epoch" and r["epoch"] == 4
            ]
        )
    )
    res = api.result(a, store)
    assert res.spec == tiny() and res.status.status == "done" and "loss" in res.arrays


def test_unreadable_store_is_a_clear_error(tmp_path):
    (tmp_path / "bad" / "index").mkdir(parents=True)
    (tmp_path / "bad" / "index" / "cache.db").write_bytes(b"not a database" * 500)
    with pytest.raises(StoreError, match="is damaged.*python -m memcore doctor"):
        Store(tmp_path / "bad")


def test_store_keys_are_spelled_only_in_the_index_module():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    raw = re.compile(
        r"\.cache\.(get|set|add|delete|pop)\(|\b(status|spec|job|rec|pending|sweep):\{"
    )
    found = [
        f"{p.relative_to(root)}:{i}"
        for d in ("memcore", "app", "pages")
        for p in sorted((root / d).rglob("*.py"))
        if p.name != "index.py"
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if raw.search(line)
    ]
    assert found == []


def test_the_app_asks_for_the_recompute_of_a_corrupt_run_explicitly(memcore_env):
    from app import state

    store = state.store()
    key = api.submit(tiny(), store)
    run_one(store)
    for f in (store.path / "artifacts" / key).glob("*.npz"):
        f.write_bytes(b"garbage")
    with pytest.raises(CorruptArtifact, match="checksum; the run was requeued for recompute"):
        state.arrays(key, "token")
    assert api.status(key, store).status == "queued"


def test_a_run_is_named_tagged_and_annotated_and_its_notes_go_with_it(memcore_env):
    """annotate() keeps the person's words beside a run (never touching its results); list_runs
    shows them; delete removes them; an unknown key is a KeyError."""
    store = memcore_env["store"]
    spec = RunSpec()
    key = api.submit(spec, store)
    assert api.list_runs(store)[0]["name"] == "" and api.list_runs(store)[0]["tags"] == []
    api.annotate(key, store, name="  baseline   run ", tags=["lr", " lr", "", "seeds"])
    notes = api.annotate(key, store, note="first try\n")
    assert notes == {"name": "baseline run", "tags": ["lr", "seeds"], "note": "first try"}
    row = api.list_runs(store)[0]
    assert (row["name"], row["tags"], row["note"]) == ("baseline run", ["lr", "seeds"], "first try")
    assert api.spec(key, store) == spec and api.status(key, store).status == "queued"
    with pytest.raises(KeyError):
        api.annotate("0" * 64, store, name="x")
    api.delete(key, store)
    api.submit(spec, store)
    assert api.list_runs(store)[0]["name"] == ""  # a deleted run's notes went with it
