"""Real worker and submitter processes on a real diskcache store in a tmp folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from conftest import wait_for

from memcore.engine import trainer as engine
from memcore.jobs import api, pool
from memcore.spec.presets import preset
from memcore.store import Store

ROOT = Path(__file__).resolve().parents[1]
FAKE = {"MEMCORE_JOBS_RUNNER": "tests.fake_runner:run"}


def env(**extra) -> dict[str, str]:
    e = dict(os.environ, PYTHONPATH=str(ROOT), **extra)
    e.pop("MEMCORE_JOBS_RUNNER", None)
    e.update(extra)
    return e


def worker(store: Path, *args: str, **extra) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "memcore", "worker", "--store", str(store), *args]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env(**extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


SUBMITTER = textwrap.dedent(
    """
    import sys, threading
    from memcore.jobs import api
    from memcore.spec.presets import preset
    specs = [preset("digits-mlp", **{"model.width": 16, "train.epochs": 3, "train.seed": s})
             for s in range(10)]
    keys = []
    def go():
        keys.extend(api.submit(s, sys.argv[1]) for s in specs)
    threads = [threading.Thread(target=go) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(keys) == 40 and len(set(keys)) == 10
    """
)


def test_two_processes_of_four_threads_submit_ten_specs_once_and_two_workers_finish(
    tmp_path, monkeypatch
):
    path = tmp_path / "store"  # created concurrently by both submitters
    subs = [
        subprocess.Popen([sys.executable, "-c", SUBMITTER, str(path)], cwd=ROOT, env=env())
        for _ in range(2)
    ]
    assert [p.wait(timeout=60) for p in subs] == [0, 0]
    store = Store(path)
    rows = api.list_runs(store)
    assert len(rows) == 10 and {r["status"] for r in rows} == {"queued"}
    for k, v in FAKE.items():
        monkeypatch.setenv(k, v)
    started = pool.ensure_workers(2, store, idle_exit=60)
    assert len(started) == 2 and len(pool.ensure_workers(2, store, idle_exit=60)) == 2
    wait_for(lambda: len(pool.workers_alive(store)) == 2, 40, "two heartbeats")
    wait_for(lambda: all(r["status"] == "done" for r in api.list_runs(store)), 40, "10 runs")
    assert all(api.status(r["key"], store).attempts == 1 for r in api.list_runs(store))
    assert len(list((path / "logs").glob("worker-*.log"))) == 2  # no extra workers started
    assert len(pool.stop_workers(store)) == 2
    wait_for(lambda: not pool.workers_alive(store), 20, "workers to exit on SIGTERM")


def test_sigkill_mid_run_another_worker_resumes_with_identical_records(tmp_path):
    spec = preset(
        "digits-mlp",
        **{
            "model.width": 16,
            "data.train_size": 200,
            "train.epochs": 8,
            "train.device": "cpu",
            "metrics.csr_every": 1,
            "metrics.csr_probes": 50,
            "metrics.track_size": 40,
        },
    )
    path = tmp_path / "store"
    key = api.submit(spec, path)
    # Two workers from the start (saves a process start): the one that claims the run is killed.
    procs = {p.pid: p for p in (worker(path, "--lease", "1") for _ in range(2))}
    wait_for(lambda: api.status(key, path).n_records > 0, 60, "a first committed epoch", 0.02)
    st = api.status(key, path)
    a = procs.pop(int(st.worker.split("-")[-2]))
    a.send_signal(signal.SIGKILL)
    a.wait(timeout=10)
    assert st.status == "running" and st.fraction < 1, "killed too late to test a resume"
    kept = api.records(key, 0, path)[: api.status(key, path).n_records]
    wait_for(lambda: api.status(key, path).status == "done", 90, "the other worker to finish")
    (b,) = procs.values()
    b.send_signal(signal.SIGTERM)
    out, _ = b.communicate(timeout=30)
    assert b.returncode == 0, out
    assert f"resuming {key[:12]}" in out
    st = api.status(key, path)
    assert (st.status, st.attempts) == ("done", 2)
    recs = api.records(key, 0, path)
    assert recs[: len(kept)] == kept
    ref = list(engine.train(spec))
    ours = [{k: v for k, v in r.items() if k not in ("wall", "names")} for r in recs]
    theirs = [
        {k: v for k, v in r.items() if k not in ("wall", "arrays")}
        for r in ref
        if r["type"] != "checkpoint"
    ]
    assert ours == theirs
    arrays = api.arrays(key, path)
    for name in ("correct", "prob", "loss"):
        expect = np.stack([r["arrays"][name] for r in ref if r["type"] == "arrays"])
        assert np.array_equal(arrays[name], expect), name


def test_cancel_stops_within_an_epoch_and_sigterm_requeues(tmp_path):
    path = tmp_path / "store"
    long = {"model.width": 16, "train.epochs": 100}
    x = api.submit(preset("digits-mlp", **long), path)
    y = api.submit(preset("digits-mlp", **long, **{"train.seed": 1}), path)
    w = worker(path, **FAKE, MEMCORE_FAKE_EPOCH_S="0.3")
    wait_for(lambda: api.status(x, path).n_records > 0, 60, "x's first epoch")
    api.cancel(x, path)
    n = api.status(x, path).n_records
    wait_for(lambda: api.status(y, path).status == "running", 5, "the worker to move on to y")
    assert api.status(x, path).n_records <= n + 2  # at most one more epoch (epoch + arrays)
    wait_for(lambda: api.status(y, path).n_records > 0, 10, "y's first epoch")
    w.send_signal(signal.SIGTERM)
    out, _ = w.communicate(timeout=20)
    assert w.returncode == 0, out
    st = api.status(y, path)
    assert (st.status, st.queue_position, st.worker) == ("queued", 0, None)
    assert st.n_records > 0 and api.status(x, path).status == "cancelled"
    assert pool.workers(path) == []  # the worker removed its heartbeat record


def test_stop_workers_never_signals_the_calling_process(tmp_path, monkeypatch):
    """A Worker run in-process (a CLI sweep, a test storing runs) has a worker record with this
    process's pid; stopping the host's workers must not signal the caller itself."""
    from memcore.jobs.worker import Worker

    store = Store(tmp_path / "store")
    Worker(store).beat()  # a live record with our own pid
    assert [w["pid"] for w in pool.workers_alive(store)] == [os.getpid()]
    sent = []  # signals other than 0 (signal 0 only asks whether a pid is alive)
    monkeypatch.setattr(os, "kill", lambda pid, sig: sig and sent.append((pid, sig)))
    assert pool.stop_workers(store) == [] and sent == []


def test_a_background_worker_trains_a_queued_sweeps_same_shape_specs_as_one_run(tmp_path):
    """The worker verb batches the queue before each claim (batches.serve_hook), as figure()
    does in-process: three noise levels of one shape train as one run, the odd one alone; each
    spec's records are its own (per-epoch accuracies equal to its own run to 1e-5)."""
    base = {"model.width": 16, "data.train_size": 200, "train.epochs": 3, "train.device": "cpu",
            "metrics.csr_every": 0, "metrics.track_size": 0}  # fmt: skip
    sweep = [
        preset("digits-mlp", **base, **{"noise.kind": "randY", "noise.level": lv})
        for lv in (0.0, 0.5, 1.0)
    ]
    odd = preset("digits-mlp", **{**base, "model.width": 24})
    path = tmp_path / "store"
    api.submit_sweep([*sweep, odd], path)
    keys = [s.key for s in (*sweep, odd)]
    w = worker(path, "--max-jobs", "4")
    out, _ = w.communicate(timeout=120)
    assert w.returncode == 0, out
    assert "[batches] 3 specs as one run" in out, out
    assert {api.status(k, path).status for k in keys} == {"done"}, out
    for spec in sweep:
        mine = [r for r in api.records(spec.key, 0, path) if r["type"] == "epoch"]
        own = [r for r in engine.train(spec) if r["type"] == "epoch"]
        assert [(r["epoch"], r["member"]) for r in mine] == [(r["epoch"], r["member"]) for r in own]
        got = np.array([r["train_acc"] for r in mine])
        np.testing.assert_allclose(got, [r["train_acc"] for r in own], atol=1e-5)
