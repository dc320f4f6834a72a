"""Where runs and sweeps stand: JobStatus and SweepStatus, read from the store (pure reads)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from memcore.store import FINISHED, Store, StoreArg, open_store
from memcore.store.index import Job, RunIndex


@dataclass(frozen=True)
class JobStatus:
    """Where one run stands. Times are unix seconds; duration sums the running attempts."""

    key: str
    status: str  # queued | running | done | failed | cancelled
    epoch: float  # last evaluated epoch (sensitivity: steps / steps per epoch)
    epochs: int | None
    fraction: float  # of the run completed, [0, 1]
    eta: float | None  # seconds left, estimated from the current attempt's speed
    n_records: int
    submitted: float
    started: float | None
    finished: float | None
    duration: float | None
    worker: str | None
    attempts: int
    error: str | None = None
    traceback: str | None = None
    summary: dict[str, Any] | None = None
    queue_position: int | None = None  # 0 = next to run
    stalled: bool = False  # running, but its lease expired (worker gone): resumes when claimed

    @property
    def is_finished(self) -> bool:
        """done, failed or cancelled: nothing more will happen without a retry."""
        return self.status in FINISHED


@dataclass(frozen=True)
class SweepStatus:
    """Aggregated progress of a sweep: counts per status and the completed fraction."""

    sweep_id: str
    keys: tuple[str, ...]
    counts: dict[str, int]  # status -> number of runs
    fraction: float  # mean over runs of their fraction; finished runs count 1

    @property
    def finished(self) -> bool:
        return sum(self.counts.get(s, 0) for s in FINISHED) == len(self.keys)


def job_status(
    ix: RunIndex, key: str, st: str, job: Job, queue: list[str] | None = None
) -> JobStatus:
    """The JobStatus of run `key` from its status and job record (`queue` given: not re-read)."""
    p = job["progress"]
    pos = None
    if st == "queued":
        queue = ix.queue() if queue is None else queue
        pos = queue.index(key) if key in queue else None
    duration = job["duration"]
    if st == "running" and job["attempt_started"]:
        duration = (duration or 0.0) + time.time() - job["attempt_started"]
    return JobStatus(
        key=key,
        status=st,
        epoch=float(p["epoch"] or 0.0),
        epochs=p["epochs"],
        fraction=1.0 if st == "done" else float(p["fraction"] or 0.0),
        eta=p["eta"] if st == "running" else None,
        n_records=(job["chunks"][-1] if job["chunks"] else 0),
        submitted=job["submitted"],
        started=job["started"],
        finished=job["finished"],
        duration=duration,
        worker=job["worker"],
        attempts=job["attempts"],
        error=job["error"],
        traceback=job["traceback"],
        summary=job["summary"],
        queue_position=pos,
        stalled=st == "running" and (job["lease"] or 0) < time.time(),
    )


def exists(key: str, store: StoreArg = None) -> bool:
    return open_store(store).index.has_run(key)


def status(key: str, store: StoreArg = None) -> JobStatus:
    """Where run `key` stands; KeyError if the store has no such run."""
    ix = open_store(store).index
    return job_status(ix, key, *ix.require(key))


def sweep_keys(sid: str, store: StoreArg = None) -> list[str]:
    """The run keys of sweep `sid`; KeyError if the store has no such sweep."""
    keys = open_store(store).index.sweep(sid)
    if keys is None:
        raise KeyError(f"no sweep with id {sid}")
    return keys


def sweep_status(sid: str, store: StoreArg = None) -> SweepStatus:
    s: Store = open_store(store)
    keys = sweep_keys(sid, s)
    counts: dict[str, int] = {}
    total = 0.0
    for key in keys:
        try:
            js = status(key, s)
        except KeyError:
            counts["missing"] = counts.get("missing", 0) + 1
            continue
        counts[js.status] = counts.get(js.status, 0) + 1
        total += 1.0 if js.status in FINISHED else js.fraction
    return SweepStatus(sid, tuple(keys), counts, total / max(len(keys), 1))
