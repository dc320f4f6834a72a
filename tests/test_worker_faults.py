"""A worker on a sick store (issue 25 items 9, 14): claims that fail (a full disk) count as idle
for --idle-exit; a batched run that fails, where the store refuses some of the writes that end
it, leaves none of its specs "running"; a worker training a batch says so in its heartbeat."""

from __future__ import annotations

import time

import pytest
import torch

from memcore.jobs import api, lease, pool
from memcore.jobs.worker import Worker
from memcore.store import DiskFull
from memcore.sweeps import batches


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _specs(tiny_spec, n: int = 3):
    return [tiny_spec.replace(**{"train.seed": s, "model.width": 16}) for s in range(n)]


def test_a_worker_whose_claims_fail_still_exits_when_idle(tmp_path, monkeypatch, capsys):
    worker = Worker(tmp_path / "store")

    def full(*_a, **_k):
        raise DiskFull("disk full while writing the store at X: free some space")

    monkeypatch.setattr(lease, "claim", full)
    t0 = time.time()
    assert worker.serve(idle_exit=0.5, poll=0.05) == 0
    assert time.time() - t0 < 5  # it used to retry every second for ever
    assert "claim failed: disk full" in capsys.readouterr().out


def test_a_failed_batch_whose_first_failure_cannot_be_written_leaves_nothing_running(
    tiny_spec, memcore_env, tmp_path, monkeypatch
):
    specs = _specs(tiny_spec)
    store = tmp_path / "s"
    api.submit_sweep(specs, store)
    worker = Worker(store)
    from memcore.engine import trainer

    def broken(*_a, **_k):
        raise RuntimeError("boom in the batched run")
        yield  # a generator, as train_batch is

    monkeypatch.setattr(trainer, "train_batch", broken)
    fail, calls = lease.fail, []

    def flaky_fail(st, key, wid, msg, tb):  # the disk frees a page only after the first write
        calls.append(key)
        if len(calls) == 1:
            raise DiskFull("disk full while writing the store")
        return fail(st, key, wid, msg, tb)

    monkeypatch.setattr(lease, "fail", flaky_fail)
    assert batches.run(specs, worker) == 0
    status = {s.key: api.status(s.key, store).status for s in specs}
    assert "running" not in status.values(), status
    assert sorted(status.values()) == ["failed", "failed", "queued"]  # the first requeued
    assert all(api.status(s.key, store).attempts == 1 for s in specs)  # no death counted


def test_a_worker_training_a_batch_heartbeats_its_specs(
    tiny_spec, memcore_env, tmp_path, monkeypatch
):
    specs = _specs(tiny_spec)
    store = tmp_path / "s"
    api.submit_sweep(specs, store)
    worker = Worker(store)
    seen: list[dict] = []
    from memcore.engine import trainer

    real = trainer.train_batch

    def watched(*a, **k):
        for out in real(*a, **k):
            if not seen:
                worker.beat()
                seen.extend(pool.workers(store))
            yield out

    monkeypatch.setattr(trainer, "train_batch", watched)
    assert batches.run(specs, worker) == 3
    [me] = [w for w in seen if w["id"] == worker.id]
    assert me["key"] in {s.key for s in specs}  # not None ("no job"): busy with the batch
    assert sorted(me["keys"]) == sorted(s.key for s in specs)
    worker.beat()
    [after] = [w for w in pool.workers(store) if w["id"] == worker.id]
    assert after["key"] is None and after["keys"] == []


def test_sigterm_while_the_worker_warms_up_ends_it_within_the_containers_grace(tmp_path):
    """Issue 25 item 16: 6-23 s on a loaded machine (warm-up before the handler, interpreter
    teardown) against docker's 8 s grace (MEMCORE_STOP_GRACE). Signalled the moment it says
    it serves, while the warm-up still imports the engine and loads data."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    env.pop("MEMCORE_JOBS_RUNNER", None)  # the real runner: warm-up runs
    cmd = [sys.executable, "-m", "memcore", "worker", "--store", str(tmp_path / "s")]
    w = subprocess.Popen(
        cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    line = w.stdout.readline()
    assert "serving" in line, line
    t0 = time.time()
    w.send_signal(signal.SIGTERM)
    out, _ = w.communicate(timeout=60)
    took = time.time() - t0
    assert w.returncode == 0 and "Traceback" not in out, out
    assert "exiting after 0 job(s)" in out
    assert took < 8, f"exited {took:.1f}s after SIGTERM"
    assert pool.workers_alive(tmp_path / "s") == []  # its heartbeat record is gone
