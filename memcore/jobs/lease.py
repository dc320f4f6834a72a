"""The job state machine, workers' side: claim with a lease, renew, commit, fail, give back.

A claim takes the queue's first key and writes the worker's id and a lease expiry (now +
store.lease_s) into the job; heartbeats renew it. A claim first handles every running job whose
lease expired (its worker died without a word: killed for memory, a full disk, a reboot): the job
counts one more death and goes to the BACK of the queue, so it cannot starve the jobs behind it,
and resumes from its checkpoint when its turn comes; after MEMCORE_MAX_ATTEMPTS deaths (default
3) it is failed with a message naming the likely cause instead.
A worker's writes (pending records, commits) succeed only while it still owns the job, so two
workers never both write one run, and a cancelled or deleted job stops taking records.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memcore import settings
from memcore.jobs.jobqueue import finish, put_back
from memcore.spec import RunSpec
from memcore.store import Store, low_disk
from memcore.store.index import Job, RunIndex


class LeaseLost(RuntimeError):
    """The job is no longer this worker's (cancelled, deleted, or its lease was taken over)."""


@dataclass(frozen=True)
class Claim:
    """A job handed to a worker: its spec and where to resume."""

    key: str
    spec: RunSpec
    checkpoint: dict[str, Any] | None  # {"file", "sha256", "records"} or None
    committed: int  # records already committed


def death_message(deaths: int, spec_json: str | None, where: Path) -> str:
    """Why a job failed after its worker died `deaths` times, with the likely cause and fix."""
    if low_disk(where):
        free = shutil.disk_usage(where).free
        return (
            f"the worker running it died {deaths} times (the disk holding the store at {where} "
            f"is full: {free / 2**20:.0f} MiB free); free some space, then retry"
        )
    try:
        t, m = (s := RunSpec.from_json(spec_json or "")).train, s.model
        shrink = (
            f"model.width ({m.width}), train.members ({t.members}) "
            f"or train.batch_size ({t.batch_size})"
        )
    except (ValueError, TypeError):
        shrink = "model.width, train.members or train.batch_size"
    return (
        f"the worker running it died {deaths} times (killed: likely out of memory); reduce "
        f"{shrink} or give the workers more memory, then retry"
    )


def _expire_leases(ix: RunIndex, queue: list[str], now: float, where: Path) -> list[str]:
    expired = []
    for key in ix.running():
        job = ix.job(key)
        if ix.status(key) != "running" or job is None or (job["lease"] or 0) < now:
            expired.append(key)
    limit = settings.get("MEMCORE_MAX_ATTEMPTS")
    for key in expired:
        if ix.status(key) != "running":
            running = ix.running()
            running.pop(key, None)
            ix.set_running(running)
            continue
        job = ix.job(key)
        job["deaths"] = job.get("deaths", 0) + 1  # .get: jobs queued before deaths were counted
        if job["deaths"] >= limit:
            finish(ix, job, "failed", now)
            job.update(error=death_message(job["deaths"], ix.spec_json(key), where))
            ix.set_job(key, job)
            ix.drop_pending(key)
            queue[:] = [k for k in queue if k != key]
        else:
            ix.set_job(key, job)
            put_back(ix, key, queue, front=False)
    return expired


def _nothing_to_claim(ix: RunIndex, now: float) -> bool:
    """Read-only pre-check, so idle workers polling the queue do not write."""
    if ix.queue():
        return False
    for key in ix.running():
        job = ix.job(key)
        if job is None or (job["lease"] or 0) < now:
            return False
    return True


def claim(store: Store, worker_id: str, only: Collection[str] | None = None) -> Claim | None:
    """Take the first queued job (after requeueing expired leases); None when the queue is empty.
    `only`: take the first queued job among these keys (a sweep driver computing its own runs
    elsewhere, memcore/sweeps/backends.py); other queued jobs keep their place."""
    now = time.time()
    if _nothing_to_claim(store.index, now):
        return None
    with store.transact() as ix:
        queue = ix.queue()
        _expire_leases(ix, queue, now, store.path)
        skipped: list[str] = []
        while queue:
            key = queue.pop(0)
            if ix.status(key) != "queued":
                continue  # cancelled or deleted while queued
            if only is not None and key not in only:
                skipped.append(key)
                continue
            return _start(ix, key, skipped + queue, worker_id, now + store.lease_s, now)
        ix.set_queue(skipped + queue)
    return None


def claim_key(store: Store, worker_id: str, key: str) -> Claim | None:
    """Take the queued job `key` wherever it is in the queue (a batched sweep runs several of
    its specs at once); None when it is not queued (running elsewhere, finished, cancelled)."""
    now = time.time()
    with store.transact() as ix:
        queue = ix.queue()
        if ix.status(key) != "queued" or key not in queue:
            return None
        queue.remove(key)
        return _start(ix, key, queue, worker_id, now + store.lease_s, now)


def _start(
    ix: RunIndex, key: str, queue: list[str], worker_id: str, lease_until: float, now: float
) -> Claim:
    """Mark queued job `key` (already taken out of `queue`) running for `worker_id`."""
    job = ix.job(key)
    job.update(
        worker=worker_id,
        lease=lease_until,
        attempts=job["attempts"] + 1,
        started=job["started"] or now,
        attempt_started=now,
        attempt_fraction=job["progress"]["fraction"],
        finished=None,
    )
    ix.set_job(key, job)
    ix.set_status(key, "running")
    ix.drop_pending(key)
    ix.set_running({**ix.running(), key: worker_id})
    ix.set_queue(queue)
    n = job["chunks"][-1] if job["chunks"] else 0
    return Claim(key, RunSpec.from_json(ix.spec_json(key)), job["checkpoint"], n)


def _owned(ix: RunIndex, key: str, worker_id: str) -> Job:
    job = ix.job(key)
    if ix.status(key) != "running" or job is None or job["worker"] != worker_id:
        raise LeaseLost(f"run {key[:12]} is no longer owned by worker {worker_id}")
    return job


def owns(store: Store, key: str, worker_id: str) -> bool:
    """Whether `worker_id` still holds run `key` (one read, no transaction)."""
    try:
        _owned(store.index, key, worker_id)
    except LeaseLost:
        return False
    return True


def renew(store: Store, key: str, worker_id: str) -> bool:
    """Extend the lease; False when the job is no longer this worker's."""
    with store.transact() as ix:
        try:
            job = _owned(ix, key, worker_id)
        except LeaseLost:
            return False
        job["lease"] = time.time() + store.lease_s
        ix.set_job(key, job)
    return True


def _progress(job: Job, progress: dict[str, Any] | None, now: float) -> None:
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
    with store.transact() as ix:
        job = _owned(ix, key, worker_id)
        _progress(job, progress, time.time())
        ix.set_job(key, job)
        ix.set_pending(key, records)


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
    with store.transact() as ix:
        job = _owned(ix, key, worker_id)
        n = job["chunks"][-1] if job["chunks"] else 0
        if records:
            ix.set_chunk(key, len(job["chunks"]), records)
            job["chunks"] = [*job["chunks"], n + len(records)]
        if checkpoint is not None:
            job["checkpoint"] = {
                "file": checkpoint[0],
                "sha256": checkpoint[1],
                "records": n + len(records),
            }
        _progress(job, progress, now)
        ix.drop_pending(key)
        if summary is not None:
            finish(ix, job, "done", now)
            job["summary"] = summary
            job["checkpoint"] = None
            job["progress"] = {**job["progress"], "fraction": 1.0, "eta": 0.0}
        ix.set_job(key, job)


def fail(store: Store, key: str, worker_id: str, error: str, tb: str) -> None:
    """Mark the run failed with its error; its last checkpoint stays for a retry."""
    with store.transact() as ix:
        try:
            job = _owned(ix, key, worker_id)
        except LeaseLost:
            return
        finish(ix, job, "failed", time.time())
        job.update(error=error, traceback=tb)
        ix.set_job(key, job)
        ix.drop_pending(key)


def requeue(store: Store, key: str, worker_id: str) -> None:
    """Give a running job back (worker stopping): front of the queue, resumes from checkpoint."""
    with store.transact() as ix:
        try:
            job = _owned(ix, key, worker_id)
        except LeaseLost:
            return
        if job["attempt_started"]:
            job["duration"] = (job["duration"] or 0.0) + time.time() - job["attempt_started"]
        ix.set_job(key, job)
        queue = ix.queue()
        put_back(ix, key, queue, front=True)
        ix.set_queue(queue)


def truncate(store: Store, key: str, worker_id: str, keep: int) -> None:
    """Drop committed records after the first `keep` (resume point); keep=0 restarts the run."""
    with store.transact() as ix:
        job = _owned(ix, key, worker_id)
        chunks = [n for n in job["chunks"] if n <= keep]
        ix.delete_chunks(key, len(chunks), len(job["chunks"]))
        job["chunks"] = chunks
        if keep == 0:
            job["checkpoint"] = None
            job["progress"] = {**job["progress"], "epoch": 0.0, "fraction": 0.0, "eta": None}
            job["attempt_fraction"] = 0.0
        ix.set_job(key, job)
