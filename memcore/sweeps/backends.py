"""Where a sweep's missing runs are computed: `Local` (this machine) or `Dask` (a cluster).

A sweep (memcore/sweeps/sweep.py) first queues its runs in the store (finished ones are skipped),
then hands them to a backend's `compute(specs, store, finished, poll)`, which works until
`finished()` says every run of the sweep is done, failed or cancelled (or the caller's timeout
passed; `finished` also reports progress). Either way the results land in the one local store,
through the workers' RunWriter (memcore/jobs/writer.py), so the app shows them live.

- `Local(workers=0)`: a worker loop in this process takes one queued job at a time until the
  sweep is finished (nothing is left running afterwards); first, unless batched=False (default
  MEMCORE_BATCH_SWEEPS), the sweep's queued specs of one shape train as one batched run each
  (memcore/sweeps/batches.py); `Local(workers=N)` makes sure N
  background worker processes are alive and waits for them.
- `Dask(scheduler)`: one Dask task per run on a dask.distributed cluster
  (memcore/sweeps/dask_backend.py); dask is imported only when this backend is used.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol

from memcore.spec import RunSpec
from memcore.store import Store

BACKENDS = ("local", "dask")


class Backend(Protocol):
    name: str

    def compute(
        self, specs: list[RunSpec], store: Store, finished: Callable[[], bool], poll: float
    ) -> list[str]:
        """Compute the queued runs of `specs` until `finished()`; returns the keys this call
        computed (or handed to its workers)."""
        ...

    def close(self) -> None: ...


def _serve_once(worker, idle: float) -> None:
    """Run the next queued job in this process (one job, so that we stop as soon as our sweep
    is done rather than working through other people's queue); worker chatter goes to stderr,
    our signal handlers are restored afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with contextlib.redirect_stdout(sys.stderr):
            worker.serve(max_jobs=1, idle_exit=idle)
    finally:
        if threading.current_thread() is threading.main_thread():
            for sig, handler in saved.items():
                signal.signal(sig, handler)
    if worker.term.is_set():
        raise KeyboardInterrupt


class Closing:
    """`with backend:` closes it afterwards."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Local(Closing):
    """This machine: `workers` background worker processes, or (0) a worker loop in-process.
    The queue is first-in first-out, so jobs queued earlier by others are run first."""

    name = "local"

    def __init__(self, workers: int = 0, batched: bool | None = None) -> None:
        self.workers, self.batched = workers, batched

    def compute(
        self, specs: list[RunSpec], store: Store, finished: Callable[[], bool], poll: float = 1.0
    ) -> list[str]:
        inline = None
        if self.workers > 0:
            from memcore.jobs import pool

            pool.ensure_workers(self.workers, store, parent=os.getpid())  # they exit with us
        else:
            from memcore.jobs.worker import Worker
            from memcore.sweeps import batches

            inline = Worker(store)
            if batches.enabled(inline, self.batched):  # same-shape specs as one run
                batches.run(specs, inline, tick=finished)  # finished() reports progress
        while not finished():
            if inline is not None:
                _serve_once(inline, poll)
            else:
                time.sleep(poll)
        return [s.key for s in specs]


def resolve(
    backend: Backend | str | None = None,
    *,
    workers: int = 0,
    scheduler: str | None = None,
    batched: bool | None = None,
) -> Backend:
    """A Backend from its name ("local" by default, "dask" with a scheduler address) or as is.
    `batched`: the local in-process backend's batching (Local). Raises ValueError saying what
    to pass when the combination cannot work."""
    if backend is not None and not isinstance(backend, str):
        return backend
    name = backend or "local"
    if name == "local":
        if scheduler:
            raise ValueError("--scheduler is only used with --backend dask: add --backend dask")
        return Local(workers, batched)
    if name == "dask":
        from memcore import settings
        from memcore.sweeps.dask_backend import Dask

        if workers:
            raise ValueError(
                "--workers is for the local backend; with --backend dask the cluster's Dask "
                "workers compute the runs: drop --workers"
            )
        address = scheduler or settings.get("MEMCORE_DASK_SCHEDULER")
        if not address:
            raise ValueError(
                "--backend dask needs the scheduler's address: pass --scheduler tcp://HOST:8786 "
                "or set MEMCORE_DASK_SCHEDULER"
            )
        return Dask(address)
    raise ValueError(f"unknown backend {name!r}: use one of {', '.join(BACKENDS)}")
