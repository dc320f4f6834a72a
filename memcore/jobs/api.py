"""The job API used by the app and the CLI: submit runs, watch them, read their results.

Every function takes `store=None`: a Store, a folder path, or None for the default store
(env MEMCORE_STORE, else <repo>/cache/store). Runs are computed by worker processes
(`python -m memcore worker`, or `memcore.jobs.pool.ensure_workers(n)`), never in the caller.

- `submit(spec)` -> key: idempotent (atomic add on status:K); a done, queued or running key is
  returned as is; a failed/cancelled one stays so unless `retry=True` (or `retry(key)`).
- `records(key, since=n)`: committed records from index n on, then the current epoch's
  pending ones. "arrays" records carry "names" instead of their arrays; `arrays(key)` stacks them.
- `status(key)` -> JobStatus; `list_runs(...)` -> rows; `sweep_status(id)` -> SweepStatus.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memcore import demo
from memcore.jobs import jobqueue
from memcore.jobs.store import ACTIVE, FINISHED, CorruptArtifact, Store, open_store
from memcore.spec import RunSpec

StoreArg = Store | str | os.PathLike | None


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
class RunResult:
    """A run's spec, status, records and stacked arrays."""

    key: str
    spec: RunSpec
    status: JobStatus
    records: list[dict[str, Any]]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


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


def _spec(spec: RunSpec | dict | str) -> RunSpec:
    """Validate whatever was given into a RunSpec (raises ValueError naming the field)."""
    if isinstance(spec, RunSpec):
        return RunSpec.from_dict(spec.to_dict())  # re-validate: a spec may be built unchecked
    if isinstance(spec, str):
        return RunSpec.from_json(spec)
    if isinstance(spec, dict):
        return RunSpec.from_dict(spec)
    raise ValueError(f"spec={spec!r} is invalid: must be a RunSpec, dict or JSON")


def _demo_admit(s: Store, specs: list[RunSpec], retry: bool) -> None:
    """[G] Demo mode (memcore/demo.py): a public demo's caps and read-only mode, applied to the
    runs this call would ADD (stored done/queued/running runs are served as is). A no-op unless
    env MEMLAB_DEMO or MEMLAB_READONLY is set. Raises ValueError naming the cap."""
    lim = demo.limits()
    if not lim.active:
        return
    again = ("failed", "cancelled") if retry else ()
    unique = {x.key: x for x in specs}.values()
    new = [x for x in unique if s.cache.get(f"status:{x.key}", retry=True) in (None, *again)]
    demo.admit(
        new,
        active_total=lambda: (
            len(s.cache.get("queue", [], retry=True)) + len(s.cache.get("running", {}, retry=True))
        ),
        is_active=lambda k: s.cache.get(f"status:{k}", retry=True) in ACTIVE,
        limits=lim,
    )


def submit(spec: RunSpec | dict | str, store: StoreArg = None, *, retry: bool = False) -> str:
    """Queue a run unless the store has it; returns its key."""
    s, spec = open_store(store), _spec(spec)
    _demo_admit(s, [spec], retry)  # [G] demo caps; no-op unless MEMLAB_DEMO/MEMLAB_READONLY
    return jobqueue.enqueue(s, [spec], retry=retry)[0]


def sweep_id(keys: list[str]) -> str:
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


def submit_sweep(specs: list, store: StoreArg = None, *, retry: bool = False) -> str:
    """Queue a grid of runs all at once (none if one is invalid or the queue would overflow)."""
    s = open_store(store)
    specs = [_spec(x) for x in specs]
    _demo_admit(s, specs, retry)  # [G] demo caps; no-op unless MEMLAB_DEMO/MEMLAB_READONLY
    keys = jobqueue.enqueue(s, specs, retry=retry)
    sid = sweep_id(keys)
    s.cache.set(f"sweep:{sid}", keys, retry=True)
    return sid


def exists(key: str, store: StoreArg = None) -> bool:
    return f"status:{key}" in open_store(store).cache


def _job(s: Store, key: str) -> tuple[str, dict[str, Any]]:
    st, job = s.cache.get(f"status:{key}", retry=True), s.cache.get(f"job:{key}", retry=True)
    if st is None or job is None:
        raise KeyError(f"no run with key {key} in the store at {s.path}")
    return st, job


def _status(s: Store, key: str, st: str, job: dict[str, Any], queue=None) -> JobStatus:
    p = job["progress"]
    pos = None
    if st == "queued":
        queue = s.cache.get("queue", [], retry=True) if queue is None else queue
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


def status(key: str, store: StoreArg = None) -> JobStatus:
    """Where run `key` stands; KeyError if the store has no such run."""
    s = open_store(store)
    st, job = _job(s, key)
    return _status(s, key, st, job)


def _stored_records(s: Store, key: str, since: int = 0) -> list[dict[str, Any]]:
    _, job = _job(s, key)
    ends = job["chunks"]
    out: list[dict[str, Any]] = []
    first = bisect.bisect_right(ends, since)
    for i in range(first, len(ends)):
        start = ends[i - 1] if i else 0
        chunk = s.cache.get(f"rec:{key}:{i}", [], retry=True)
        out.extend(chunk[max(0, since - start) :])
    pending = s.cache.get(f"pending:{key}", [], retry=True)
    n = ends[-1] if ends else 0
    out.extend(pending[max(0, since - n) :])
    return out


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    if rec["type"] != "arrays":
        return rec
    return {k: v for k, v in rec.items() if k not in ("file", "sha256")}


def records(key: str, since: int = 0, store: StoreArg = None) -> list[dict[str, Any]]:
    """Records of run `key` from index `since` on (committed, then the current epoch's)."""
    return [_public(r) for r in _stored_records(open_store(store), key, since)]


def arrays(key: str, store: StoreArg = None) -> dict[str, np.ndarray]:
    """Each array name stacked over the run's "arrays" records (leading row axis), plus
    "epoch" (float) and "step" (int) per row. A corrupt artifact marks the run for recompute
    and raises CorruptArtifact."""
    s = open_store(store)
    rows = [r for r in _stored_records(s, key) if r["type"] == "arrays"]
    loaded = []
    for r in rows:
        try:
            loaded.append(s.read_arrays(r["file"], r["sha256"]))
        except CorruptArtifact as e:
            requeued = mark_recompute(key, s)
            what = "it was requeued for recompute" if requeued else "it will be recomputed"
            raise CorruptArtifact(f"run {key[:12]}: {e}; {what}") from e
    out: dict[str, np.ndarray] = {}
    for name in dict.fromkeys(n for a in loaded for n in a):
        out[name] = np.stack([a[name] for a in loaded if name in a])
    out["epoch"] = np.array([float(r["epoch"]) for r in rows], dtype=np.float64)
    out["step"] = np.array([int(r.get("step") or 0) for r in rows], dtype=np.int64)
    return out


def result(key: str, store: StoreArg = None) -> RunResult:
    s = open_store(store)
    return RunResult(
        key=key,
        spec=RunSpec.from_json(s.cache.get(f"spec:{key}", retry=True)),
        status=status(key, s),
        records=records(key, 0, s),
        arrays=arrays(key, s),
    )


def spec(key: str, store: StoreArg = None) -> RunSpec:
    text = open_store(store).cache.get(f"spec:{key}", retry=True)
    if text is None:
        raise KeyError(f"no run with key {key}")
    return RunSpec.from_json(text)


def cancel(key: str, store: StoreArg = None) -> str:
    """Cancel a queued or running run (a worker stops it within an epoch); returns its status."""
    demo.check_manage(key)  # [G] demo: a visitor cancels only their own runs; no-op when off
    s = open_store(store)
    with s.transact() as c:
        st, job = _job(s, key)
        if st not in ACTIVE:
            return st
        jobqueue._finish(c, job, "cancelled", time.time())
        c.set(f"job:{key}", job)
        c.set("queue", [k for k in c.get("queue", []) if k != key])
        c.delete(f"pending:{key}")
    return "cancelled"


def retry(key: str, store: StoreArg = None) -> str:
    """Requeue a failed or cancelled run (resuming from its last checkpoint)."""
    s = open_store(store)
    st, _ = _job(s, key)
    if st == "done":
        raise ValueError(f"run {key[:12]} is done; nothing to retry (delete it to recompute)")
    if st in ACTIVE:
        return st
    _demo_admit(s, [spec(key, s)], True)  # [G] demo caps; no-op unless MEMLAB_DEMO/MEMLAB_READONLY
    jobqueue.enqueue(s, [spec(key, s)], retry=True)
    return "queued"


def _remove(c, key: str) -> None:
    job = c.get(f"job:{key}")
    for i in range(len(job["chunks"]) if job else 0):
        c.delete(f"rec:{key}:{i}")
    for k in ("status", "spec", "job", "pending"):
        c.delete(f"{k}:{key}")
    c.set("queue", [k for k in c.get("queue", []) if k != key])
    c.set("runs", {k: v for k, v in c.get("runs", {}).items() if k != key})
    c.set("running", {k: v for k, v in c.get("running", {}).items() if k != key})


def delete(key: str, store: StoreArg = None) -> bool:
    """Remove a run and its files (a running one stops: its worker loses the lease)."""
    demo.check_manage(key)  # [G] demo: a visitor deletes only their own runs; no-op when off
    s = open_store(store)
    with s.transact() as c:
        if f"status:{key}" not in c:
            return False
        _remove(c, key)
    s.remove_files(key)
    return True


def mark_recompute(key: str, store: StoreArg = None) -> bool:
    """Drop a finished run's records and files and queue it again; False if it is running."""
    s = open_store(store)
    with s.transact() as c:
        st, job = _job(s, key)
        if st == "running":
            return False
        for i in range(len(job["chunks"])):
            c.delete(f"rec:{key}:{i}")
        fresh = jobqueue.new_job(key, job["submitted"])
        c.set(f"job:{key}", fresh)
        c.set(f"status:{key}", "queued")
        c.delete(f"pending:{key}")
        queue = c.get("queue", [])
        if key not in queue:
            c.set("queue", [*queue, key])
    s.remove_files(key)
    return True


def _flat_summary(summary: dict[str, Any] | None) -> dict[str, Any]:
    out = {}
    for k, v in (summary or {}).items():
        if isinstance(v, int | float | str | bool) or v is None:
            out[f"summary.{k}"] = v
    return out


def list_runs(
    store: StoreArg = None,
    *,
    status: str | tuple[str, ...] | None = None,
    dataset: str | None = None,
    task: str | None = None,
    limit: int | None = None,
    **fields: Any,
) -> list[dict[str, Any]]:
    """Rows (newest first): key, status, fraction, timings, error, the spec's flat fields and
    the scalar summary (summary.*). Filters: status (one or several), dataset, task, and any
    flat field given with underscores for dots (e.g. noise_kind="randY")."""
    s = open_store(store)
    wanted = {status} if isinstance(status, str) else set(status or ())
    flat_filters = {k.replace("__", ".").replace("_", ".", 1): v for k, v in fields.items()}
    runs = s.cache.get("runs", {}, retry=True)
    queue = s.cache.get("queue", [], retry=True)
    rows = []
    for key in sorted(runs, key=runs.get, reverse=True):
        try:
            st, job = _job(s, key)
            sp = RunSpec.from_json(s.cache.get(f"spec:{key}", retry=True))
        except (KeyError, TypeError):
            continue  # deleted meanwhile
        flat = sp.to_flat()
        if wanted and st not in wanted:
            continue
        if dataset and flat["data.dataset"] != dataset or task and sp.task != task:
            continue
        if any(str(flat.get(k)) != str(v) for k, v in flat_filters.items()):
            continue
        js = _status(s, key, st, job, queue)
        rows.append(
            {
                "key": key,
                "status": st,
                "fraction": js.fraction,
                "epoch": js.epoch,
                "submitted": js.submitted,
                "finished": js.finished,
                "duration": js.duration,
                "error": js.error,
                **flat,
                **_flat_summary(js.summary),
            }
        )
        if limit and len(rows) >= limit:
            break
    return rows


def sweep_keys(sid: str, store: StoreArg = None) -> list[str]:
    keys = open_store(store).cache.get(f"sweep:{sid}", retry=True)
    if keys is None:
        raise KeyError(f"no sweep with id {sid}")
    return list(keys)


def sweep_status(sid: str, store: StoreArg = None) -> SweepStatus:
    s = open_store(store)
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


def enforce_limit(store: StoreArg = None) -> list[str]:
    """Delete the oldest finished runs (never queued or running) until the store fits its
    size limit; returns the evicted keys."""
    s = open_store(store)
    if s.size() <= s.size_limit:
        return []
    done = []
    for key in s.cache.get("runs", {}, retry=True):
        try:
            st, job = _job(s, key)
        except KeyError:
            continue
        if st in FINISHED:
            done.append((job["finished"] or job["submitted"], key))
    evicted = []
    for _, key in sorted(done):
        with s.transact() as c:
            if c.get(f"status:{key}") not in FINISHED:
                continue  # retried meanwhile
            _remove(c, key)
        s.remove_files(key)
        evicted.append(key)
        if s.size() <= s.size_limit:
            break
    return evicted
