"""Compute a sweep's runs on a dask.distributed cluster; store them in this machine's store.

The driver (this process) is a pseudo-worker of its local store: it claims each queued run of
the sweep with a lease (memcore/jobs/lease.py), submits it as one Dask task, renews the leases
of the runs in flight, and as each task finishes hands its records to the run's RunWriter
(memcore/jobs/writer.py, the workers' own writer), so the app's figure and Runs pages show the
sweep filling in. The store never leaves this machine:
Dask workers only compute (`train_remote`) and send the records back.

Failures:
- a task that raises is rerun by Dask up to MEMCORE_DASK_RETRIES times (client.submit's
  `retries`); a task whose Dask worker dies is rescheduled by the scheduler (at most its
  `distributed.scheduler.allowed-failures`, default 3, then KilledWorker). What still fails is
  marked failed in the store with its error and the sweep goes on with the rest.
- interrupting the driver (Ctrl-C, SIGTERM) gives its runs in flight back to the queue; a
  killed driver's leases run out (MEMCORE_LEASE_S) and its runs go back too; running the sweep
  again computes only what is missing.
- a run cancelled or deleted meanwhile (Runs page) loses its lease; its task is cancelled.

Tasks go through client.submit rather than joblib's dask backend: joblib's Parallel cancels
every task still pending when one task fails, so one bad spec would stop a whole sweep.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from distributed import Client, Future

from memcore import settings
from memcore.jobs import lease
from memcore.jobs.runner import default_runner
from memcore.jobs.writer import RunWriter, drop_if_deleted, record_failure
from memcore.spec import RunSpec
from memcore.store import Store

CONNECT_TIMEOUT_S = 10


def train_remote(spec_json: str) -> list[dict[str, Any]]:
    """Run on a Dask worker: the spec's whole record stream from the workers' runner, on the
    worker's own device ("auto": its GPU when it has one), arrays as numpy. Checkpoint records
    are dropped: the driver stores a whole run at once, so it never resumes one."""
    out = []
    for rec in default_runner(RunSpec.from_json(spec_json)):
        if rec["type"] == "checkpoint":
            continue
        if rec["type"] == "arrays":
            rec = {**rec, "arrays": {n: np.asarray(a) for n, a in rec["arrays"].items()}}
        out.append(rec)
    return out


def store_result(store: Store, owner: str, claim: lease.Claim, future: Future) -> str:
    """Write a finished task's records (or its error) as the run's, through the run's
    RunWriter; returns the outcome (done/failed/requeued/stopped)."""
    if future.status not in ("finished", "error"):  # cancelled: by us or the cluster lost it
        if lease.owns(store, claim.key, owner):
            lease.requeue(store, claim.key, owner)
            return "requeued"
        return "stopped"
    try:
        # The task computed the run from its start: drop whatever an earlier attempt left.
        writer = RunWriter.fresh(store, claim, owner)
        if future.status == "error":
            writer.fail(future.exception().with_traceback(future.traceback()))
            return "failed"
        for rec in future.result():
            if writer.add(rec):
                return "done"
        raise RuntimeError("the run ended without a 'done' record")
    except lease.LeaseLost:
        drop_if_deleted(store, claim.key)
        return "stopped"
    except Exception as e:
        record_failure(store, claim.key, claim.spec, owner, e)
        return "failed"


class _LeaseKeeper(threading.Thread):
    """Renews the leases of the runs in flight every lease/4 s; cancels the task of a run that
    is no longer ours (cancelled or deleted in the store)."""

    def __init__(self, store: Store, worker_id: str, held: dict[Future, lease.Claim]) -> None:
        super().__init__(daemon=True, name="dask-lease-keeper")
        self.store, self.worker_id, self.held = store, worker_id, held
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.store.lease_s / 4):
            with self.lock:
                items = list(self.held.items())
            for future, claim in items:
                try:
                    if not lease.renew(self.store, claim.key, self.worker_id):
                        future.cancel()
                except Exception as e:  # a transient store error: retry at the next beat
                    print(f"[dask driver] lease renewal failed: {e}", file=sys.stderr, flush=True)


class Dask:
    """Runs on the dask.distributed cluster whose scheduler is at `scheduler` (tcp://HOST:PORT)."""

    name = "dask"

    def __init__(self, scheduler: str, retries: int | None = None) -> None:
        self.scheduler = scheduler
        self.retries = settings.get("MEMCORE_DASK_RETRIES") if retries is None else retries
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = connect(self.scheduler)
        return self._client

    @property
    def dashboard(self) -> str | None:
        return dashboard(self.client)

    def submit(self, claim: lease.Claim) -> Future:
        return self.client.submit(
            train_remote,
            claim.spec.to_json(),
            key=f"train-{claim.key[:16]}-{uuid.uuid4().hex[:8]}",
            pure=False,
            retries=self.retries,
        )

    def compute(
        self, specs: list[RunSpec], store: Store, finished: Callable[[], bool], poll: float = 1.0
    ) -> list[str]:
        """Claim every queued run of `specs` and submit it as a task; store each result as it
        comes; claim runs that come back to the queue (a lease ran out); until `finished()`.
        Runs held by others (local workers, another driver) are waited for, not computed."""
        keys = {s.key for s in specs}
        # The driver holds its runs' leases as a pseudo-worker without a heartbeat record: it
        # is not one of this machine's workers (the pool must not count it).
        owner = f"dask-{socket.gethostname()}-{os.getpid()}-{os.urandom(2).hex()}"
        held: dict[Future, lease.Claim] = {}
        keeper = _LeaseKeeper(store, owner, held)
        keeper.start()
        submitted: list[str] = []
        ready = threading.Event()
        restore = _sigterm_interrupts()
        try:
            while True:
                if self.client.status in ("closing", "closed"):
                    raise RuntimeError(f"lost the Dask scheduler at {self.scheduler}")
                while (claim := lease.claim(store, owner, only=keys)) is not None:
                    future = self.submit(claim)
                    future.add_done_callback(lambda _: ready.set())  # in the client's thread
                    with keeper.lock:
                        held[future] = claim
                    submitted.append(claim.key)
                if finished():
                    break
                ready.wait(poll)  # a task finished, or time to look at the store again
                ready.clear()
                for future in [f for f in list(held) if f.done()]:
                    with keeper.lock:
                        claim = held.pop(future)
                    with contextlib.redirect_stdout(sys.stderr):  # worker chatter
                        outcome = store_result(store, owner, claim, future)
                    print(f"[dask driver] {claim.key[:12]} {outcome}", file=sys.stderr, flush=True)
                    future.release()
        finally:
            restore()
            keeper.stopped.set()
            for future, claim in held.items():  # interrupted or timed out: give the runs back
                future.cancel()
                lease.requeue(store, claim.key, owner)
        return submitted

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Dask:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _sigterm_interrupts() -> Callable[[], None]:
    """Make SIGTERM interrupt the driver like Ctrl-C (so it gives its runs back to the queue);
    returns the function restoring the previous handler. Main thread only (signal's rule)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


def connect(scheduler: str) -> Client:
    """A Client of the scheduler at `scheduler`; ValueError saying what to do when unreachable."""
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as e:
        raise ValueError(
            f"could not reach the Dask scheduler at {scheduler!r} ({type(e).__name__}: {e}): "
            "start one with `dask scheduler` and its workers with `dask worker ADDRESS "
            "--nthreads 1`, then pass its address as tcp://HOST:8786"
        ) from e


def dashboard(client: Client) -> str | None:
    """The cluster's dashboard URL, or None when its scheduler serves none."""
    services = client.scheduler_info().get("services", {})
    return client.dashboard_link if "dashboard" in services else None


def check(scheduler: str) -> str | None:
    """Connect once (ValueError when unreachable); the cluster's dashboard URL or None."""
    client = connect(scheduler)
    try:
        return dashboard(client)
    finally:
        client.close()


def start_driver(
    name: str, dataset: str, scale: str, scheduler: str, store: Store
) -> tuple[subprocess.Popen, Path]:
    """Start `python -m memcore figure NAME --backend dask ...` detached (the app's way to run
    a sweep on a cluster: the driver outlives a Streamlit rerun); returns it and its log file."""
    from memcore.jobs.pool import spawn

    args = ["figure", name, "--dataset", dataset, "--scale", scale, "--store", str(store.path)]
    return spawn([*args, "--backend", "dask", "--scheduler", scheduler], store, "dask-driver")
