"""Faults an operator meets, through real worker processes on a tmp store: a job that kills its
worker (out of memory), a full disk, SIGTERM inside a long CSR search, and workers whose app is
gone. Runners are injected with MEMCORE_JOBS_RUNNER from small modules written into tmp_path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import wait_for

from memcore.jobs import api, pool
from memcore.spec.presets import preset

ROOT = Path(__file__).resolve().parents[1]


def runner_env(tmp_path: Path, source: str, **extra: str) -> dict[str, str]:
    """Environment for a worker whose runner is `run` in a module holding `source`."""
    (tmp_path / "injected_runner.py").write_text(textwrap.dedent(source))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]))
    env.update(MEMCORE_JOBS_RUNNER="injected_runner:run", **extra)
    return env


def worker(store: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "memcore", "worker", "--store", str(store), *args]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def small(**changes):
    return preset("digits-mlp", **{"model.width": 16, "train.epochs": 3, **changes})


KILLER = """
    import os, signal
    from tests import fake_runner as fake

    def run(spec, *, resume=None, should_stop=None):
        if spec.train.seed == 666:  # like the kernel's OOM killer: no exception, no goodbye
            os.kill(os.getpid(), signal.SIGKILL)
        return fake.run(spec, resume=resume, should_stop=should_stop)
"""


def test_a_job_that_kills_its_worker_fails_after_three_deaths_and_the_queue_moves_on(tmp_path):
    store = tmp_path / "store"
    doomed = api.submit(small(**{"train.seed": 666}), store)
    behind = api.submit(small(**{"train.seed": 1}), store)
    env = runner_env(tmp_path, KILLER)
    env.pop("MEMCORE_MAX_ATTEMPTS", None)  # the default: 3
    starts, outputs = 0, []
    while api.status(doomed, store).status != "failed" and starts < 8:
        w = worker(store, env, "--lease", "0.5", "--idle-exit", "1")
        outputs.append(w.communicate(timeout=60)[0])
        starts += 1
    st = api.status(doomed, store)
    assert st.status == "failed", outputs
    assert st.error.startswith("the worker running it died 3 times (killed: likely out of memory)")
    assert "reduce model.width (16), train.members (1) or train.batch_size" in st.error
    assert st.attempts == 3 and starts == 4  # 3 deaths, then one worker to notice the third
    assert api.status(behind, store).status == "done"  # not starved behind the doomed job
    assert api.list_runs(store, status=("queued", "running")) == []
    assert all("Traceback" not in out for out in outputs)


DISK_FULL = """
    import errno
    import torch
    from tests import fake_runner as fake

    def full(obj, f, *args, **kwargs):  # leave a partial file, as a full disk does
        f.write(b"partial" * 1000)
        f.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    torch.save = full  # the store's checkpoint write path

    def run(spec, *, resume=None, should_stop=None):
        return fake.run(spec, resume=resume, should_stop=should_stop)
"""


def test_disk_full_while_checkpointing_fails_the_job_removes_the_partial_file(tmp_path):
    store = tmp_path / "store"
    key = api.submit(small(), store)
    w = worker(store, runner_env(tmp_path, DISK_FULL), "--max-jobs", "1")
    out, _ = w.communicate(timeout=60)
    assert w.returncode == 0 and "Traceback" not in out, out
    st = api.status(key, store)
    assert st.status == "failed" and st.error.startswith("disk full while writing the store")
    assert list((store / "checkpoints").iterdir()) == []  # no partial temp file left behind
    assert api.retry(key, store) == "queued"  # once space is freed, a retry can go on


REAL_DISK_FULL = """
    import json, subprocess, sys, time
    from pathlib import Path
    from memcore.jobs import api
    from memcore.spec.presets import preset

    store = Path(sys.argv[1]) / "store"
    key = api.submit(preset("digits-mlp", **{"model.width": 16, "train.epochs": 3}), store)
    w = subprocess.run([sys.executable, "-m", "memcore", "worker", "--store", str(store),
                        "--max-jobs", "1"], capture_output=True, text=True, timeout=120)
    st = api.status(key, store)
    print(json.dumps({"rc": w.returncode, "out": w.stdout + w.stderr, "status": st.status,
                      "error": st.error, "left": sorted(p.name for p in
                      (store / "checkpoints").iterdir())}))
"""

BIG_CHECKPOINT = """
    import torch
    from tests import fake_runner as fake

    def run(spec, *, resume=None, should_stop=None):
        for rec in fake.run(spec, resume=resume, should_stop=should_stop):
            if rec["type"] == "checkpoint":  # 8 MB: more than the 4 MB filesystem holds
                rec = {**rec, "state": {**rec["state"], "pad": torch.ones(2_000_000)}}
            yield rec
"""


def _unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


# Tests that mount a filesystem in a private namespace (a tiny tmpfs, a read-only bind).
needs_unshare = pytest.mark.skipif(
    not _unshare_works(), reason="needs unshare -rm (user + mount namespaces)"
)


@needs_unshare
def test_a_real_full_disk_fails_the_job_cleanly(tmp_path):
    """A 4 MB tmpfs (mounted in a private namespace): torch.save itself hits the full disk."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    (tmp_path / "check.py").write_text(textwrap.dedent(REAL_DISK_FULL))
    env = runner_env(tmp_path, BIG_CHECKPOINT)
    script = f"mount -t tmpfs -o size=4m tmpfs {mnt} && {sys.executable} {tmp_path}/check.py {mnt}"
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout.strip().splitlines()[-1])
    assert res["rc"] == 0 and "Traceback" not in res["out"], res["out"]
    assert res["status"] == "failed" and res["error"].startswith("disk full"), res["out"]
    assert res["left"] == []


def test_sigterm_during_a_long_csr_search_requeues_the_job_within_two_seconds(tmp_path):
    spec = preset(
        "digits-mlp",
        **{
            "model.width": 64,
            "train.device": "cpu",
            "train.epochs": 2,
            "metrics.csr_every": 1,
            "metrics.csr_probes": 300,
            "metrics.csr_iters": 10000,  # minutes of search without a stop check inside
            "metrics.csr_min_new": 0,  # never stops early
        },
    )
    store = tmp_path / "store"
    key = api.submit(spec, store)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("MEMCORE_JOBS_RUNNER", None)
    w = worker(store, env, "--threads", "1")
    wait_for(lambda: api.status(key, store).status == "running", 60, "the claim")
    time.sleep(4)  # data, model and the epoch-0 evaluation take well under this: now searching
    assert api.records(key, 0, store) == [] or all(
        r["type"] != "csr" for r in api.records(key, 0, store)
    )
    w.send_signal(signal.SIGTERM)
    t0 = time.time()
    wait_for(lambda: api.status(key, store).status == "queued", 10, "the requeue", 0.02)
    took = time.time() - t0
    out, _ = w.communicate(timeout=30)
    assert w.returncode == 0, out
    assert took < 2.0, f"requeued {took:.1f}s after SIGTERM"
    st = api.status(key, store)
    assert (st.queue_position, st.worker, st.attempts) == (0, None, 1)


PARENT = """
    import sys, time
    from memcore.jobs import pool
    started = pool.ensure_workers(1, sys.argv[1], idle_exit=600, parent=__import__("os").getpid())
    print(started[0]["pid"], flush=True)
    time.sleep(600)
"""


def test_a_worker_started_for_a_parent_exits_when_the_parent_is_killed(tmp_path):
    store = tmp_path / "store"
    env = dict(os.environ, PYTHONPATH=str(ROOT), MEMCORE_JOBS_RUNNER="tests.fake_runner:run")
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(PARENT), str(store)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    pid = int(parent.stdout.readline())
    wait_for(lambda: pool.workers_alive(store), 60, "the worker's first heartbeat")
    assert pool.pid_alive(pid)
    parent.kill()  # SIGKILL: the parent has no chance to stop its worker itself
    parent.wait(timeout=10)
    wait_for(lambda: not pool.pid_alive(pid), 5, "the orphaned worker to exit")
    assert pool.workers_alive(store) == []
    log = next((store / "logs").glob("worker-*.log")).read_text()
    assert f"parent {parent.pid} is gone: stopping" in log and "Traceback" not in log


@pytest.mark.parametrize("limit", ["0", "1K", "20G"])
def test_store_limit_settings_keep_finished_runs_and_a_tiny_limit_says_why(tmp_path, limit):
    store = tmp_path / "store"
    keys = [api.submit(small(**{"train.seed": s}), store) for s in range(2)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), MEMCORE_JOBS_RUNNER="tests.fake_runner:run")
    env["MEMCORE_STORE_LIMIT"] = limit
    w = worker(store, env, "--max-jobs", "2")
    out, _ = w.communicate(timeout=60)
    assert w.returncode == 0, out
    assert {r["key"]: r["status"] for r in api.list_runs(store)} == dict.fromkeys(keys, "done")
    warned = "bigger than the store's size limit" in out and "MEMCORE_STORE_LIMIT=1 KiB" in out
    assert warned == (limit == "1K"), out
    assert "] evicted " not in out
