"""memcore/jobs/writer.py: the one writer of a run's records, fed a stand-in run record by record
(the worker, batched and Dask paths are compared end to end in test_jobs_worker, test_jobs_batches
and test_backends)."""

from __future__ import annotations

import numpy as np
import pytest

from memcore.jobs import api, lease
from memcore.jobs.writer import RunWriter
from memcore.store import Store
from tests import fake_runner as fake
from tests.test_jobs_worker import tiny


def _claimed(tmp_path, **changes):
    store = Store(tmp_path / "s")
    spec = tiny(**{"train.epochs": 3, "train.members": 2, **changes})
    api.submit(spec, store)
    return store, lease.claim(store, "w")


def _arrays_free(recs):
    return [{k: v for k, v in r.items() if k != "arrays"} for r in recs]


def test_committed_records_follow_the_stream_up_to_each_checkpoint(tmp_path):
    store, claim = _claimed(tmp_path)
    writer = RunWriter.fresh(store, claim, "w")
    stream = list(fake.run(claim.spec))
    written = [r for r in stream if r["type"] != "checkpoint"]
    for i, rec in enumerate(stream):
        done = writer.add(rec)
        if rec["type"] == "checkpoint":
            committed = api.records(claim.key, 0, store)
            n = sum(r["type"] != "checkpoint" for r in stream[:i])
            assert len(committed) == n == api.status(claim.key, store).n_records
            assert store.index.job(claim.key)["checkpoint"]["records"] == n
    assert done and writer.done
    stored = api.records(claim.key, 0, store)
    arrays = [r for r in stored if r["type"] == "arrays"]
    assert [r["names"] for r in arrays] == [sorted(r["arrays"]) for r in written if "arrays" in r]
    strip = [{k: v for k, v in r.items() if k not in ("names", "file", "sha256")} for r in stored]
    assert strip == _arrays_free(written)
    st = api.status(claim.key, store)
    last = [r["train_acc"] for r in written if r["type"] == "epoch" and r["epoch"] == 3.0]
    assert st.status == "done" and st.fraction == 1.0
    assert st.summary["final_train_acc"] == pytest.approx(np.mean(last))
    assert not list((store.path / "checkpoints").iterdir())  # done: checkpoints removed


def test_checkpoints_are_throttled_and_the_first_curve_point_shows_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMCORE_CHECKPOINT_EVERY_S", "3600")
    store, claim = _claimed(tmp_path)
    writer = RunWriter.fresh(store, claim, "w")
    stream = fake.run(claim.spec)
    for rec in stream:
        writer.add(rec)
        if rec["type"] == "epoch" and rec["member"] == 1:  # the first epoch's last member
            break
    shown = api.records(claim.key, 0, store)  # committed + pending
    assert [r["type"] for r in shown] == ["meta", "epoch", "epoch"]
    assert api.status(claim.key, store).n_records == 0  # pending only: nothing committed
    for rec in stream:
        writer.add(rec)
        if rec["type"] == "checkpoint" and rec["epoch"] == 2:
            break
    assert store.index.job(claim.key)["checkpoint"] is None  # none was due
    assert api.status(claim.key, store).n_records == 0 and not list(
        (store.path / "checkpoints").iterdir()
    )
    for rec in stream:
        writer.add(rec)
    assert api.status(claim.key, store).status == "done"
    assert len(api.records(claim.key, 0, store)) == 1 + 3 * (2 + 1) + 1


def test_a_resumed_writer_keeps_the_committed_records_and_drops_the_repeated_meta(tmp_path):
    store, claim = _claimed(tmp_path)
    first = RunWriter.fresh(store, claim, "w")
    for rec in fake.run(claim.spec):
        first.add(rec)
        if rec["type"] == "checkpoint":
            break
    kept = api.records(claim.key, 0, store)
    resumed = RunWriter(store, claim.key, claim.spec, "w", committed=len(kept))
    assert resumed.meta == kept[0]  # read back from the store
    assert not resumed.add(kept[0])  # a resumed runner's meta record: not stored again
    for rec in fake.run(claim.spec, resume={"epoch": 1}):
        resumed.add(rec)
    ref_store, ref_claim = _claimed(tmp_path / "ref")
    ref = RunWriter.fresh(ref_store, ref_claim, "w")
    for rec in fake.run(ref_claim.spec):
        ref.add(rec)
    strip = ("file", "sha256", "wall")  # artifact paths differ between the stores
    got, want = (
        [{k: v for k, v in r.items() if k not in strip} for r in api.records(claim.key, 0, s)]
        for s in (store, ref_store)
    )
    assert got == want


def test_a_deleted_run_raises_lease_lost_and_loses_its_files(tmp_path):
    store, claim = _claimed(tmp_path)
    writer = RunWriter.fresh(store, claim, "w")
    stream = fake.run(claim.spec)
    for rec in stream:
        writer.add(rec)
        if rec["type"] == "checkpoint":
            break
    api.delete(claim.key, store)  # removes the run's files so far
    with pytest.raises(lease.LeaseLost):
        for rec in stream:
            writer.add(rec)
    files = store.path / "artifacts" / claim.key
    assert list(files.iterdir())  # the next epoch's arrays, written before the commit failed
    writer.lost()
    assert not files.exists() and not list((store.path / "checkpoints").iterdir())


def test_a_failure_is_stored_with_its_message_and_traceback(tmp_path):
    store, claim = _claimed(tmp_path)
    writer = RunWriter.fresh(store, claim, "w")
    try:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
    except RuntimeError as e:
        msg = writer.fail(e)
    st = api.status(claim.key, store)
    assert st.status == "failed" and st.error == msg
    assert msg.startswith("out of memory on cpu: reduce model.width (16)")
    assert "Traceback" in st.traceback and "test_jobs_writer.py" in st.traceback
