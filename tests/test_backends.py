"""memcore/sweeps/backends.py and dask_backend.py on a real dask.distributed LocalCluster (loopback,
2 worker processes, 1 thread each): a sweep through Dask stores what the local backend stores;
a Dask worker killed mid-sweep, an interrupted or killed driver and a spec that always fails
still leave a complete sweep; the CLI and a figure page run a sweep through a cluster.

Most tests use the fake runner (tests/fake_runner.py), set on the Dask workers with client.run;
the first and the CLI test train with the engine at the test scale."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from distributed import Client, LocalCluster
from streamlit.testing.v1 import AppTest

from memcore.jobs import api, lease
from memcore.spec import RunSpec
from memcore.store import Store, open_store
from memcore.sweeps import backends, sweep
from memcore.sweeps.dask_backend import Dask

ROOT = Path(__file__).resolve().parents[1]
FAKE = {"MEMCORE_JOBS_RUNNER": "tests.fake_runner:run", "MEMCORE_FAKE_EPOCH_S": "0.05"}


def _cluster() -> LocalCluster:
    return LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=":0",
    )


@pytest.fixture(scope="module")
def cluster():
    cl = _cluster()
    yield cl
    cl.close()


@pytest.fixture
def client(cluster):
    """A client of the module's cluster; worker environment changes are undone afterwards."""
    c = Client(cluster, set_as_default=False)
    yield c
    c.run(_set_env, {k: None for k in (*FAKE, "MEMCORE_FAKE_FAIL_AT")})
    c.close()


def _set_env(env: dict) -> None:
    for k, v in env.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _specs(tiny_spec: RunSpec, n: int, **changes) -> list[RunSpec]:
    return [tiny_spec.replace(**{"train.seed": 100 + i, **changes}) for i in range(n)]


def _statuses(store, specs) -> dict[str, str]:
    return {s.key: api.status(s.key, store).status for s in specs}


def _compute(backend, specs, store, poll=0.2, on_poll=None) -> list[str]:
    """Queue `specs` and compute them with `backend` until each is finished."""
    api.submit_sweep(specs, store)

    def finished() -> bool:
        if on_poll:
            on_poll()
        return all(st in ("done", "failed", "cancelled") for st in _statuses(store, specs).values())

    return backend.compute(specs, store, finished, poll)


def _comparable(recs: list[dict]) -> list[dict]:
    """Records without timings (and the arrays' file names)."""
    drop = {"wall", "file", "sha256"}
    return [{k: v for k, v in r.items() if k not in drop} for r in recs]


def test_dask_sweep_stores_the_same_records_as_the_local_backend(cluster, tmp_path):
    here, there = open_store(tmp_path / "local"), open_store(tmp_path / "dask")
    local = sweep.run("easiness", "digits", "test", here)
    with Dask(cluster.scheduler_address) as dask:
        remote = sweep.run("easiness", "digits", "test", there, backend=dask)
    assert local.progress.done == remote.progress.done == 3
    for s in sweep.grid("easiness", "digits", "test"):
        a, b = api.records(s.key, 0, here), api.records(s.key, 0, there)
        assert len(a) == len(b) and {r["type"] for r in a} >= {"meta", "epoch", "arrays", "done"}
        for x, y in zip(_comparable(a), _comparable(b), strict=True):
            assert x.keys() == y.keys()
            for k in x:
                if isinstance(x[k], float):
                    assert x[k] == pytest.approx(y[k], rel=1e-4, abs=1e-6), (x["type"], k)
                elif k != "summary":
                    assert x[k] == y[k], (x["type"], k)
        arr_a, arr_b = api.arrays(s.key, here), api.arrays(s.key, there)
        assert sorted(arr_a) == sorted(arr_b)
        for name in arr_a:
            np.testing.assert_allclose(arr_a[name], arr_b[name], rtol=1e-4, atol=1e-6)
        assert api.status(s.key, there).summary["final_train_acc"] == pytest.approx(
            api.status(s.key, here).summary["final_train_acc"], abs=1e-6
        )


def test_a_dask_worker_killed_mid_sweep_is_rescheduled_and_the_sweep_completes(
    tiny_spec, tmp_path, monkeypatch
):
    for k, v in {**FAKE, "MEMCORE_FAKE_EPOCH_S": "0.3"}.items():
        monkeypatch.setenv(k, v)  # inherited by the worker processes started now
    specs = _specs(tiny_spec, 4, **{"train.epochs": 6})  # ~2 s each
    store = open_store(tmp_path / "store")
    killed: list[int] = []
    with _cluster() as cl, Client(cl, set_as_default=False) as c:
        pids = c.run(os.getpid)
        first_seen: list[float] = []

        def kill_one_busy_worker() -> None:
            busy = [w for w, keys in c.processing().items() if keys]
            if killed or not busy:
                return
            first_seen.append(first_seen[0] if first_seen else time.time())
            if time.time() - first_seen[0] > 0.8:  # well into the task
                killed.append(pids[busy[0]])
                os.kill(pids[busy[0]], signal.SIGKILL)

        with Dask(cl.scheduler_address) as dask:
            submitted = _compute(dask, specs, store, on_poll=kill_one_busy_worker)
    assert killed, "no worker was killed: the test did not exercise anything"
    assert sorted(submitted) == sorted(s.key for s in specs)  # each submitted once: Dask retried
    assert set(_statuses(store, specs).values()) == {"done"}
    for s in specs:
        epochs = {r["epoch"] for r in api.records(s.key, 0, store) if r["type"] == "epoch"}
        assert epochs == {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}
        assert api.status(s.key, store).attempts == 1


def test_an_interrupted_sweep_reruns_only_the_missing_runs(client, tiny_spec, tmp_path):
    client.run(_set_env, FAKE)
    specs = _specs(tiny_spec, 4, **{"train.epochs": 3})
    store = open_store(tmp_path / "store")

    def interrupt_after_first_done() -> None:
        if "done" in _statuses(store, specs).values():
            raise KeyboardInterrupt

    with Dask(client.scheduler.address) as dask:
        with pytest.raises(KeyboardInterrupt):
            _compute(dask, specs, store, poll=0.05, on_poll=interrupt_after_first_done)
        before = _statuses(store, specs)
        assert "running" not in before.values()  # the driver gave its runs back to the queue
        done = {k for k, st in before.items() if st == "done"}
        assert 0 < len(done) < len(specs)
        finished_at = {k: api.status(k, store).finished for k in done}
        submitted = _compute(dask, specs, store)
    assert sorted(submitted) == sorted(set(before) - done)
    assert set(_statuses(store, specs).values()) == {"done"}
    assert {k: api.status(k, store).finished for k in done} == finished_at  # not recomputed


def test_a_killed_drivers_runs_are_taken_over_when_their_lease_runs_out(
    client, tiny_spec, tmp_path
):
    client.run(_set_env, FAKE)
    specs = _specs(tiny_spec, 2)
    store = Store(tmp_path / "store", lease_s=1.0)
    api.submit_sweep(specs, store)
    held = lease.claim(store, "dead-driver", only={specs[0].key})  # never renewed, never given
    assert held is not None and api.status(held.key, store).status == "running"
    with Dask(client.scheduler.address) as dask:
        submitted = _compute(dask, specs, store)
    assert sorted(submitted) == sorted(s.key for s in specs)
    assert set(_statuses(store, specs).values()) == {"done"}


def test_a_spec_that_always_fails_is_marked_failed_and_the_rest_finish(client, tiny_spec, tmp_path):
    client.run(_set_env, {**FAKE, "MEMCORE_FAKE_FAIL_AT": "3"})
    good = _specs(tiny_spec, 3, **{"train.epochs": 2})  # never reach epoch 3
    bad = tiny_spec.replace(**{"train.epochs": 4, "train.seed": 7})
    store = open_store(tmp_path / "store")
    with Dask(client.scheduler.address, retries=1) as dask:
        _compute(dask, [*good, bad], store)
    assert set(_statuses(store, good).values()) == {"done"}
    st = api.status(bad.key, store)
    assert st.status == "failed"
    assert "fake failure at epoch 3" in st.error
    assert "fake_runner.py" in st.traceback  # the Dask worker's traceback, not only the driver's


def test_a_run_cancelled_meanwhile_stays_cancelled_and_the_sweep_finishes(
    client, tiny_spec, tmp_path
):
    client.run(_set_env, {**FAKE, "MEMCORE_FAKE_EPOCH_S": "0.3"})
    specs = _specs(tiny_spec, 3, **{"train.epochs": 10})  # 3 s each
    store = Store(tmp_path / "store", lease_s=1.0)  # leases renewed every 0.25 s

    def cancel_the_first() -> None:
        if api.status(specs[0].key, store).status == "running":
            api.cancel(specs[0].key, store)

    with Dask(client.scheduler.address) as dask:
        _compute(dask, specs, store, on_poll=cancel_the_first)
    assert api.status(specs[0].key, store).status == "cancelled"
    assert api.records(specs[0].key, 0, store) == []  # nothing written after the cancel
    assert {api.status(s.key, store).status for s in specs[1:]} == {"done"}


def test_resolve_says_what_to_pass(monkeypatch):
    monkeypatch.delenv("MEMCORE_DASK_SCHEDULER", raising=False)
    assert isinstance(backends.resolve(None, workers=2), backends.Local)
    with pytest.raises(ValueError, match="--scheduler tcp://HOST:8786"):
        backends.resolve("dask")
    with pytest.raises(ValueError, match="drop --workers"):
        backends.resolve("dask", workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ValueError, match="add --backend dask"):
        backends.resolve("local", scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ValueError, match="unknown backend 'spark'"):
        backends.resolve("spark")
    monkeypatch.setenv("MEMCORE_DASK_SCHEDULER", "tcp://10.0.0.1:8786")
    assert backends.resolve("dask").scheduler == "tcp://10.0.0.1:8786"


def test_an_unreachable_scheduler_is_a_clear_error(monkeypatch):
    from memcore.sweeps import dask_backend

    monkeypatch.setattr(dask_backend, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(ValueError, match="could not reach the Dask scheduler.*dask scheduler"):
        dask_backend.check("tcp://127.0.0.1:9")


def test_cli_figure_runs_through_a_dask_cluster(cluster, tmp_path):
    store = tmp_path / "store"
    env = {**os.environ, "MEMCORE_STORE": str(store), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "memcore", "figure", "easiness", "--scale", "test", "--json",
           "--backend", "dask", "--scheduler", cluster.scheduler_address]  # fmt: skip
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["runs"] == result["runs_done"] == 3
    assert "dashboard: http://" in out.stderr and "[dask driver]" in out.stderr
    keys = [s.key for s in sweep.grid("easiness", "digits", "test")]
    assert {api.status(k, store).status for k in keys} == {"done"}

    report = [sys.executable, "-m", "memcore", "report", "--scale", "test", "--only", "easiness",
              "--out", str(tmp_path / "r.md"), "--backend", "dask",
              "--scheduler", cluster.scheduler_address]  # fmt: skip
    out = subprocess.run(report, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "dashboard: http://" in out.stderr and "[dask driver]" not in out.stderr  # all stored
    assert "Easiness" in (tmp_path / "r.md").read_text()

    bad = subprocess.run(
        [*cmd[:-4], "--backend", "dask"],
        cwd=ROOT,
        env={**env, "MEMCORE_DASK_SCHEDULER": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "needs the scheduler's address" in bad.stderr


def _figure_page(name: str) -> AppTest:
    """The app opened at figure `name`'s page, test scale (see tests/test_pages_figures.py)."""
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    at.query_params["scale"] = "test"
    at.run()
    url = "fig_" + name.replace("-", "_")
    at._page_hash = next(h for h, p in at._registered_pages.items() if p.get("url_pathname") == url)
    return at.run()


def test_figure_page_runs_its_sweep_on_the_cluster_in_its_field(client, tmp_path, monkeypatch):
    client.run(_set_env, FAKE)
    store = open_store(tmp_path / "store")
    monkeypatch.setenv("MEMCORE_STORE", str(store.path))
    monkeypatch.setenv("MEMCORE_WORKERS", "0")  # no local worker: only the cluster computes
    at = _figure_page("easiness")
    assert not at.exception
    at.text_input(key="easiness-scheduler").set_value(client.scheduler.address)
    next(b for b in at.button if b.label.startswith("Run sweep")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    shown = " ".join(m.value for m in at.markdown)
    assert f"Dask cluster at `{client.scheduler.address}`" in shown
    assert "[Dask dashboard](http://127.0.0.1:" in shown
    keys = [s.key for s in sweep.grid("easiness", "digits", "test")]
    deadline = time.time() + 120
    while time.time() < deadline:
        st = {api.status(k, store).status for k in keys if api.exists(k, store)}
        if st == {"done"} and len(keys) == 3:
            break
        time.sleep(0.5)
    logs = list((store.path / "logs").glob("dask-driver-*.log"))
    text = logs[0].read_text() if logs else ""
    assert st == {"done"}, text
    assert "[dask driver]" in text and "done" in text
    at.run()
    assert "3/3 runs done" in at.get("progress")[0].proto.text


def test_figure_page_hides_the_cluster_field_in_demo_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMCORE_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("MEMCORE_WORKERS", "0")
    at = _figure_page("easiness")
    assert any(t.key == "easiness-scheduler" for t in at.text_input)  # the check can bite
    monkeypatch.setenv("MEMCORE_DEMO", "1")
    at = _figure_page("easiness")
    assert not at.exception
    assert not any(t.key == "easiness-scheduler" for t in at.text_input)


def test_claim_only_takes_the_sweeps_own_runs_and_leaves_the_queue_in_order(tiny_spec, tmp_path):
    store = open_store(tmp_path / "store")
    theirs, ours = _specs(tiny_spec, 2), _specs(tiny_spec, 2, **{"train.epochs": 3})
    api.submit_sweep([theirs[0], ours[0], theirs[1], ours[1]], store)
    got = [lease.claim(store, "driver", only={s.key for s in ours}) for _ in range(3)]
    assert [c.key for c in got[:2]] == [s.key for s in ours] and got[2] is None
    assert store.index.queue() == [s.key for s in theirs]
    assert lease.claim(store, "worker").key == theirs[0].key  # plain claims are unchanged
