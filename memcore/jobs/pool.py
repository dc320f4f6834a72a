"""Find live workers by heartbeat and start missing ones as detached processes.

A worker is alive when its heartbeat (store key `workers`) is younger than three beat periods and,
on this host, its process still exists. `ensure_workers(n)` starts
`python -m memcore worker --store PATH` processes in their own session (a Streamlit rerun or a
Ctrl-C in the caller's terminal does not reach them), logging to <store>/logs/. With
`parent=PID` (the app passes its own pid) each is started with `--parent-pid PID` and exits, its
job requeued, within a second of that process ending, so stopping `streamlit run` leaves no
worker behind and restarts do not pile them up; without it they run until stopped. Started but
not yet beating workers are remembered for a minute (store key `spawning`), so concurrent callers
do not start twice as many. A read-only store gets no workers (they could not write).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from memcore import settings
from memcore.store import Store, open_store, repo_root

SPAWN_GRACE_S = 60.0  # a started worker has this long to send its first heartbeat


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def workers(store: Store | str | None = None) -> list[dict[str, Any]]:
    """Every heartbeat record (alive or not): id, pid, host, device, key, beat, jobs_done."""
    return list(open_store(store).index.workers().values())


def workers_alive(store: Store | str | None = None) -> list[dict[str, Any]]:
    """Heartbeat records of the workers alive now (for the UI's indicator)."""
    now, host = time.time(), socket.gethostname()
    out = []
    for w in workers(store):
        if now - w["beat"] > 3 * w.get("every", 10.0) + 1.0:
            continue
        if w["host"] == host and not pid_alive(w["pid"]):
            continue
        out.append(w)
    return out


def start_worker(
    store: Store,
    device: str | None = None,
    idle_exit: float | None = None,
    parent: int | None = None,
) -> subprocess.Popen:
    """Start one detached worker process logging to <store>/logs/worker-<time>-<n>.log; with
    `parent`, it exits when that process does."""
    args = ["worker", "--store", str(store.path)]
    if device:
        args += ["--device", device]
    if idle_exit is not None:
        args += ["--idle-exit", str(idle_exit)]
    if parent is not None:
        args += ["--parent-pid", str(parent)]
    return spawn(args, store, "worker")[0]


def spawn(args: list[str], store: Store, log_name: str) -> tuple[subprocess.Popen, Path]:
    """Start `python -m memcore ARGS` detached from this process (it outlives a Streamlit rerun
    or the app), logging to <store>/logs/<log_name>-<time>-<n>.log; returns it and its log."""
    cmd = [sys.executable, "-m", "memcore", *args]
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(2).hex()}"
    log = store.path / "logs" / f"{log_name}-{stamp}.log"
    root = str(repo_root())
    env = settings.child_env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the caller's process group (Streamlit reruns)
        )
    return proc, log


def ensure_workers(
    n: int,
    store: Store | str | None = None,
    device: str | None = None,
    idle_exit: float | None = None,
    parent: int | None = None,
) -> list[dict[str, Any]]:
    """Make sure `n` workers are alive or starting; returns their records (starting ones as
    {"pid", "starting": True}). `parent`: the pid whose exit stops the ones started now."""
    s = open_store(store)
    if s.readonly:
        return workers_alive(s)
    with s.index.lock("pool-lock", expire=30):
        alive = workers_alive(s)
        beating = {w["pid"] for w in alive if w["host"] == socket.gethostname()}
        now = time.time()
        spawning = {
            pid: t
            for pid, t in s.index.spawning().items()
            if now - t < SPAWN_GRACE_S and pid not in beating and pid_alive(pid)
        }
        for _ in range(n - len(alive) - len(spawning)):
            spawning[start_worker(s, device, idle_exit, parent).pid] = now
        s.index.set_spawning(spawning)
    return alive + [{"pid": pid, "starting": True} for pid in spawning]


def stop_workers(store: Store | str | None = None, sig: int = signal.SIGTERM) -> list[int]:
    """Signal this host's live workers (SIGTERM: they requeue their job and exit); never the
    calling process itself (a Worker run in-process, e.g. a CLI sweep, has a record too)."""
    me = os.getpid()
    pids = [
        w["pid"]
        for w in workers_alive(store)
        if w["host"] == socket.gethostname() and w["pid"] != me
    ]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    return pids
