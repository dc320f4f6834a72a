"""The job state machine on a Store, users' side: enqueue, cancel, recompute, remove.

Every transition is one `store.transact()`, so it is atomic across threads and processes:

    (new) --enqueue--> queued --claim--> running --commit(done)--> done
                         ^                 |  |--fail--> failed --retry--> queued
                         |--requeue/lease--|  |--cancel--> cancelled --retry--> queued

The workers' side (claim with a lease, commits, fail, requeue) is memcore/jobs/lease.py; both
share `new_job`, `put_back` and `finish` from here.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from memcore.spec import RunSpec
from memcore.store import ACTIVE, FINISHED, DamagedStore, Store, damaged_message
from memcore.store.index import Job, RunIndex


def new_job(key: str, now: float) -> Job:
    """The job record of a freshly queued run."""
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
        "attempts": 0,  # claims
        "deaths": 0,  # claims whose worker died (lease expired) without a word
        "progress": {"epoch": 0.0, "epochs": None, "fraction": 0.0, "eta": None},
        "chunks": [],  # cumulative record counts after each committed chunk
        "checkpoint": None,  # {"file", "sha256", "records"}
        "error": None,
        "traceback": None,
        "summary": None,
    }


def put_back(ix: RunIndex, key: str, queue: list[str], *, front: bool) -> None:
    """Mark run `key` queued again, at the front or back of `queue` (the caller stores it)."""
    job = ix.job(key)
    job.update(worker=None, lease=None, finished=None, error=None, traceback=None)
    ix.set_job(key, job)
    ix.set_status(key, "queued")
    ix.drop_pending(key)
    if key not in queue:
        queue.insert(0, key) if front else queue.append(key)
    running = ix.running()
    running.pop(key, None)
    ix.set_running(running)


def finish(ix: RunIndex, job: Job, status: str, now: float) -> None:
    """End the run's current attempt with `status` (done, failed, cancelled); the caller
    stores `job`."""
    key = job["key"]
    if job["attempt_started"] and ix.status(key) == "running":
        job["duration"] = (job["duration"] or 0.0) + now - job["attempt_started"]
    job.update(finished=now, worker=None, lease=None)
    ix.set_status(key, status)
    running = ix.running()
    running.pop(key, None)
    ix.set_running(running)


# A caller's admission rule, run inside enqueue's transaction before anything is written:
# admit(ix, adding, created, now) may raise to refuse (nothing is queued). `adding`: the keys the
# call would queue (new ones and retries), `created`: the new ones (their job's "submitted" is
# `now`). The public demo's queue caps are one (memcore/demo/verbs.py): check and act are one
# step under the store's lock, so concurrent submitters cannot all pass a check of one count.
Admit = Callable[[RunIndex, list[str], list[str], float], None]
# A caller's rule for touching one run (cancel, remove), run inside that transaction.
Guard = Callable[[RunIndex, str], None]


def enqueue(
    store: Store, specs: list[RunSpec], *, retry: bool = False, admit: Admit | None = None
) -> list[str]:
    """Queue the specs not yet in the store (atomic `add` of their status); returns their keys.

    A done/queued/running key is left as is; a failed or cancelled one is requeued only when
    `retry`. Raises ValueError when the new jobs would exceed store.max_queue, or whatever
    `admit` raises (see Admit): then nothing is queued.
    """
    keys = [s.key for s in specs]
    now = time.time()
    with store.transact() as ix:
        check_runs_list(ix, store)
        queue = ix.queue()
        unique = dict(zip(keys, specs, strict=True)).values()
        fresh = [s for s in unique if not ix.has_run(s.key)]
        again = [
            k for k in dict.fromkeys(keys) if retry and ix.status(k) in ("failed", "cancelled")
        ]
        if admit is not None:
            admit(ix, [s.key for s in fresh] + again, [s.key for s in fresh], now)
        if len(queue) + len(fresh) + len(again) > store.max_queue:
            raise ValueError(
                f"queue is full ({len(queue)} jobs, limit {store.max_queue}): wait for queued "
                f"runs to finish or cancel some; {len(fresh) + len(again)} new job(s) not queued"
            )
        runs = ix.runs()
        for s in fresh:
            if ix.add_status(s.key, "queued"):
                ix.set_spec_json(s.key, s.to_json())
                ix.set_job(s.key, new_job(s.key, now))
                runs[s.key] = now
                queue.append(s.key)
        for k in again:
            put_back(ix, k, queue, front=False)
            ix.set_job(k, {**ix.job(k), "deaths": 0})  # a retry gets MEMCORE_MAX_ATTEMPTS anew
        ix.set_runs(runs)
        ix.set_queue(queue)
    return keys


def check_runs_list(ix: RunIndex, store: Store) -> None:
    """Raise DamagedStore when the `runs` list is gone but runs exist: writing a fresh list
    would orphan them (`python -m memcore doctor --repair` rebuilds it)."""
    if not ix.has_runs_list() and next(ix.status_keys(), None) is not None:
        raise DamagedStore(damaged_message(store.path, "has lost its list of runs"))


def cancel(store: Store, key: str, guard: Guard | None = None) -> str:
    """Cancel a queued or running run (its worker stops within an epoch); returns its status.
    KeyError when the store has no such run; whatever `guard(ix, key)` raises (nothing done)."""
    with store.transact() as ix:
        st, job = ix.require(key)
        if guard is not None:
            guard(ix, key)
        if st not in ACTIVE:
            return st
        finish(ix, job, "cancelled", time.time())
        ix.set_job(key, job)
        ix.set_queue([k for k in ix.queue() if k != key])
        ix.drop_pending(key)
    return "cancelled"


def recompute(store: Store, key: str) -> bool:
    """Drop a run's records and files and queue it again from scratch; False (nothing done)
    while it is running. KeyError when the store has no such run."""
    with store.transact() as ix:
        st, job = ix.require(key)
        if st == "running":
            return False
        ix.delete_chunks(key, 0, len(job["chunks"]))
        ix.set_job(key, new_job(key, job["submitted"]))
        ix.set_status(key, "queued")
        ix.drop_pending(key)
        queue = ix.queue()
        if key not in queue:
            ix.set_queue([*queue, key])
    store.remove_files(key)
    return True


def _forget(ix: RunIndex, key: str) -> None:
    ix.delete_run(key)
    ix.set_queue([k for k in ix.queue() if k != key])
    ix.set_runs({k: v for k, v in ix.runs().items() if k != key})
    ix.set_running({k: v for k, v in ix.running().items() if k != key})


def remove(store: Store, key: str, guard: Guard | None = None) -> bool:
    """Remove a run and its files (a running one stops: its worker loses the lease); False
    when the store has no such run; whatever `guard(ix, key)` raises (nothing done)."""
    with store.transact() as ix:
        if not ix.has_run(key):
            return False
        if guard is not None:
            guard(ix, key)
        _forget(ix, key)
    store.remove_files(key)
    return True


@dataclass(frozen=True)
class Eviction:
    """What `enforce_limit` did: the runs evicted, and the finished runs it kept because each
    alone is bigger than the limit (evicting them would delete every run as it finishes)."""

    limit: int
    evicted: list[str] = field(default_factory=list)
    too_big: dict[str, int] = field(default_factory=dict)  # key -> bytes

    def warning(self) -> str | None:
        """A line for the log naming the setting, or None when nothing needs saying."""
        if not self.too_big:
            return None
        return (
            f"{len(self.too_big)} finished run(s) are each bigger than the store's size limit "
            f"(largest {_human(max(self.too_big.values()))} > MEMCORE_STORE_LIMIT="
            f"{_human(self.limit)}) and were kept, not evicted; raise MEMCORE_STORE_LIMIT "
            "(e.g. 20G; 0 = no cap)"
        )


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} TiB"


def _run_bytes(store: Store, key: str) -> int:
    """About how many bytes run `key` holds: its files plus its pickled records."""
    job = store.index.job(key) or {"chunks": []}
    chunks = range(len(job["chunks"]))
    return store.files_size(key) + sum(len(pickle.dumps(store.index.chunk(key, i))) for i in chunks)


def enforce_limit(store: Store) -> Eviction:
    """Delete the oldest finished runs (never queued or running ones, nor one bigger than the
    whole limit) until the store fits store.size_limit (0 = no cap)."""
    out = Eviction(store.size_limit)
    if not store.size_limit or store.size() <= store.size_limit:
        return out
    finished = []
    for key in store.index.runs():
        try:
            st, job = store.index.require(key)
        except KeyError:
            continue
        if st in FINISHED:
            finished.append((job["finished"] or job["submitted"], key))
    for _, key in sorted(finished):
        own = _run_bytes(store, key)
        if own > store.size_limit:
            out.too_big[key] = own
            continue
        with store.transact() as ix:
            if ix.status(key) not in FINISHED:
                continue  # retried meanwhile
            _forget(ix, key)
        store.remove_files(key)
        out.evicted.append(key)
        if store.size() <= store.size_limit:
            break
    return out
