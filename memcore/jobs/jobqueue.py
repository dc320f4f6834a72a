"""The job state machine on a Store: enqueue, lease-based claim, commits, requeue, finish.

Every transition is one `store.transact()`, so it is atomic across threads and processes:

    (new) --enqueue--> queued --claim--> running --commit(done)--> done
                         ^                 |  |--fail--> failed --retry--> queued
                         |--requeue/lease--|  |--cancel--> cancelled --retry--> queued

A claim takes the queue's first key and writes the worker's id and a lease expiry (now +
store.lease_s) into `job:K`; heartbeats renew it. A claim first returns every running job whose
lease expired to the FRONT of the queue (its worker died), where it resumes from its checkpoint.
A worker's writes (pending records, commits) succeed only while it still owns the job, so two
workers never both write one run, and a cancelled or deleted job stops taking records.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from memcore.jobs.store import FINISHED, Store
from memcore.spec import RunSpec


class LeaseLost(RuntimeError):
    """The job is no longer this worker's (cancelled, deleted, or its lease was taken over)."""


def new_job(key: str, now: float) -> dict[str, Any]:
    return {
        "key": key,
        "submitted": now,
        "started": None,  # first claim
        "attempt_started": None,  # latest claim
        "attempt_fraction": 0.0,  # progress when the latest claim resumed (for the ETA)
        "finished": None,
        "duration": None,  # seconds spent running, summed over attempts
        "worker": None,
        "lease": None,  # unix time the current lease expires
        "attempts": 0,
        "progress": {"epoch": 0.0, "epochs": None, "fraction": 0.0, "eta": None},
        "chunks": [],  # cumulative record counts after each committed chunk
        "checkpoint": None,  # {"file", "sha256", "records"}
        "error": None,
        "traceback": None,
        "summary": None,
    }


def _queue(c) -> list[str]:
    return list(c.get("queue", []))


def enqueue(store: Store, specs: list[RunSpec], *, retry: bool = False) -> list[str]:
    """Queue the specs not yet in the store (atomic `add` on status:K); returns their keys.

    A done/queued/running key is left as is; a failed or cancelled one is requeued only when
    `retry`. Raises ValueError when the new jobs would exceed store.max_queue (nothing queued).
    """
    keys = [s.key for s in specs]
    now = time.time()
    with store.transact() as c:
        queue = _queue(c)
        fresh = [
            s for s in dict(zip(keys, specs, strict=True)).values() if f"status:{s.key}" not in c
        ]
        again = [
            k
            for k in dict.fromkeys(keys)
            if retry and c.get(f"status:{k}") in ("failed", "cancelled")
        ]
        if len(queue) + len(fresh) + len(again) > store.max_queue:
            raise ValueError(
                f"queue is full ({len(queue)} jobs, limit {store.max_queue}): wait for queued "
                f"runs to finish or cancel some; {len(fresh) + len(again)} new job(s) not queued"
            )
        runs = dict(c.get("runs", {}))
        for s in fresh:
            if c.add(f"status:{s.key}", "queued"):
                c.set(f"spec:{s.key}", s.to_json())
                c.set(f"job:{s.key}", new_job(s.key, now))
                runs[s.key] = now
                queue.append(s.key)
        for k in again:
            _requeue_in(c, k, queue, front=False)
        c.set("runs", runs)
        c.set("queue", queue)
    return keys


def _requeue_in(c, key: str, queue: list[str], *, front: bool) -> None:
    job = c.get(f"job:{key}")
    job.update(worker=None, lease=None, finished=None, error=None, traceback=None)
    c.set(f"job:{key}", job)
    c.set(f"status:{key}", "queued")
    c.delete(f"pending:{key}")
    if key not in queue:
        queue.insert(0, key) if front else queue.append(key)
    running = dict(c.get("running", {}))
    running.pop(key, None)
    c.set("running", running)


@dataclass(frozen=True)
class Claim:
    """A job handed to a worker: its spec and where to resume."""

    key: str
    spec: RunSpec
    checkpoint: dict[str, Any] | None  # {"file", "sha256", "records"} or None
    committed: int  # records already committed


def _expire_leases(c, queue: list[str], now: float) -> list[str]:
    expired = []
    for key in list(c.get("running", {})):
        job = c.get(f"job:{key}")
        if c.get(f"status:{key}") != "running" or job is None or (job["lease"] or 0) < now:
            expired.append(key)
    for key in reversed(expired):
        if c.get(f"status:{key}") == "running":
            _requeue_in(c, key, queue, front=True)
        else:
            running = dict(c.get("running", {}))
            running.pop(key, None)
            c.set("running", running)
    return expired


def _nothing_to_claim(c, now: float) -> bool:
    """Read-only pre-check, so idle workers polling the queue do not write."""
    if c.get("queue", [], retry=True):
        return False
    for key in c.get("running", {}, retry=True):
        job = c.get(f"job:{key}", retry=True)
        if job is None or (job["lease"] or 0) < now:
            return False
    return True


def claim(store: Store, worker_id: str) -> Claim | None:
    """Take the first queued job (after requeueing expired leases); None when the queue is empty."""
    now = time.time()
    if _nothing_to_claim(store.cache, now):
        return None
    with store.transact() as c:
        queue = _queue(c)
        _expire_leases(c, queue, now)
        while queue:
            key = queue.pop(0)
            if c.get(f"status:{key}") != "queued":
                continue  # cancelled or deleted while queued
            job = c.get(f"job:{key}")
            job.update(
                worker=worker_id,
                lease=now + store.lease_s,
                attempts=job["attempts"] + 1,
                started=job["started"] or now,
                attempt_started=now,
                attempt_fraction=job["progress"]["fraction"],
                finished=None,
            )
            c.set(f"job:{key}", job)
            c.set(f"status:{key}", "running")
            c.delete(f"pending:{key}")
            c.set("running", {**c.get("running", {}), key: worker_id})
            c.set("queue", queue)
            n = job["chunks"][-1] if job["chunks"] else 0
            return Claim(key, RunSpec.from_json(c.get(f"spec:{key}")), job["checkpoint"], n)
        c.set("queue", queue)
    return None


def _owned(c, key: str, worker_id: str) -> dict[str, Any]:
    job = c.get(f"job:{key}")
    if c.get(f"status:{key}") != "running" or job is None or job["worker"] != worker_id:
        raise LeaseLost(f"run {key[:12]} is no longer owned by worker {worker_id}")
    return job


def renew(store: Store, key: str, worker_id: str) -> bool:
    """Extend the lease; False when the job is no longer this worker's."""
    with store.transact() as c:
        try:
            job = _owned(c, key, worker_id)
        except LeaseLost:
            return False
        job["lease"] = time.time() + store.lease_s
        c.set(f"job:{key}", job)
    return True


def _progress(job: dict[str, Any], progress: dict[str, Any] | None, now: float) -> None:
    if not progress:
        return
    p = dict(job["progress"], **progress)
    done = p["fraction"] - job["attempt_fraction"]
    elapsed = now - (job["attempt_started"] or now)
    p["eta"] = elapsed / done * (1 - p["fraction"]) if done > 0 and elapsed > 0 else None
    job["progress"] = p


def set_pending(
    store: Store, key: str, worker_id: str, records: list[dict], progress: dict | None
) -> None:
    """Show the current epoch's records live (replaced on each call, dropped on a crash)."""
    with store.transact() as c:
        job = _owned(c, key, worker_id)
        _progress(job, progress, time.time())
        c.set(f"job:{key}", job)
        c.set(f"pending:{key}", records)


def commit(
    store: Store,
    key: str,
    worker_id: str,
    records: list[dict],
    *,
    checkpoint: tuple[str, str] | None = None,
    progress: dict | None = None,
    summary: dict | None = None,
) -> None:
    """Append one chunk of records (and point at its checkpoint) atomically.

    `summary` given: the run is done (status, finish time, summary written in the same
    transaction). Raises LeaseLost (nothing written) when the job is no longer this worker's.
    """
    now = time.time()
    with store.transact() as c:
        job = _owned(c, key, worker_id)
        n = job["chunks"][-1] if job["chunks"] else 0
        if records:
            c.set(f"rec:{key}:{len(job['chunks'])}", records)
            job["chunks"] = [*job["chunks"], n + len(records)]
        if checkpoint is not None:
            job["checkpoint"] = {
                "file": checkpoint[0],
                "sha256": checkpoint[1],
                "records": n + len(records),
            }
        _progress(job, progress, now)
        c.delete(f"pending:{key}")
        if summary is not None:
            _finish(c, job, "done", now)
            job["summary"] = summary
            job["checkpoint"] = None
            job["progress"] = {**job["progress"], "fraction": 1.0, "eta": 0.0}
        c.set(f"job:{key}", job)


def _finish(c, job: dict[str, Any], status: str, now: float) -> None:
    key = job["key"]
    if job["attempt_started"] and c.get(f"status:{key}") == "running":
        job["duration"] = (job["duration"] or 0.0) + now - job["attempt_started"]
    job.update(finished=now, worker=None, lease=None)
    c.set(f"status:{key}", status)
    running = dict(c.get("running", {}))
    running.pop(key, None)
    c.set("running", running)


def fail(store: Store, key: str, worker_id: str, error: str, tb: str) -> None:
    """Mark the run failed with its error; its last checkpoint stays for a retry."""
    with store.transact() as c:
        try:
            job = _owned(c, key, worker_id)
        except LeaseLost:
            return
        _finish(c, job, "failed", time.time())
        job.update(error=error, traceback=tb)
        c.set(f"job:{key}", job)
        c.delete(f"pending:{key}")


def requeue(store: Store, key: str, worker_id: str) -> None:
    """Give a running job back (worker stopping): front of the queue, resumes from checkpoint."""
    with store.transact() as c:
        try:
            job = _owned(c, key, worker_id)
        except LeaseLost:
            return
        if job["attempt_started"]:
            job["duration"] = (job["duration"] or 0.0) + time.time() - job["attempt_started"]
        c.set(f"job:{key}", job)
        queue = _queue(c)
        _requeue_in(c, key, queue, front=True)
        c.set("queue", queue)


def truncate(store: Store, key: str, worker_id: str, keep: int) -> None:
    """Drop committed records after the first `keep` (resume point); keep=0 restarts the run."""
    with store.transact() as c:
        job = _owned(c, key, worker_id)
        chunks = [n for n in job["chunks"] if n <= keep]
        for i in range(len(chunks), len(job["chunks"])):
            c.delete(f"rec:{key}:{i}")
        job["chunks"] = chunks
        if keep == 0:
            job["checkpoint"] = None
            job["progress"] = {**job["progress"], "epoch": 0.0, "fraction": 0.0, "eta": None}
            job["attempt_fraction"] = 0.0
        c.set(f"job:{key}", job)


def finished_status(status: str) -> bool:
    return status in FINISHED
