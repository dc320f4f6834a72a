"""Asking for work: submit runs and sweeps, retry, cancel, delete, recompute, evict.

Every function takes `store=None`: a Store, a folder path, or None for the default store
(setting MEMCORE_STORE, else <repo>/cache/store). Runs are computed by worker processes, never in
the caller. No visitor policy here: a public demo's caps are checked by the caller before it
submits (memcore/demo/, used by the app and the CLI).
"""

from __future__ import annotations

import hashlib
import warnings

from memcore.engine.cost import check_fits
from memcore.jobs import jobqueue
from memcore.jobs.runs import spec as stored_spec
from memcore.spec import RunSpec
from memcore.store import ACTIVE, StoreArg, open_store


def as_spec(spec: RunSpec | dict | str) -> RunSpec:
    """Validate whatever was given into a RunSpec (raises ValueError naming the field)."""
    if isinstance(spec, RunSpec):
        return RunSpec.from_dict(spec.to_dict())  # re-validate: a spec may be built unchecked
    if isinstance(spec, str):
        return RunSpec.from_json(spec)
    if isinstance(spec, dict):
        return RunSpec.from_dict(spec)
    raise ValueError(f"spec={spec!r} is invalid: must be a RunSpec, dict or JSON")


def admissible(spec: RunSpec | dict | str) -> RunSpec:
    """`as_spec`, then refuse (ValueError with the numbers) a run that cannot fit in the memory
    of the device it would run on here, or names a device this machine lacks (engine.cost)."""
    checked = as_spec(spec)
    check_fits(checked)
    return checked


def submit(
    spec: RunSpec | dict | str,
    store: StoreArg = None,
    *,
    retry: bool = False,
    admit: jobqueue.Admit | None = None,
) -> str:
    """Queue a run unless the store has it; returns its key. A done, queued or running key is
    returned as is; a failed/cancelled one stays so unless `retry=True`. `admit`: a caller's
    admission rule, checked atomically with the enqueue (jobqueue.Admit)."""
    return jobqueue.enqueue(open_store(store), [admissible(spec)], retry=retry, admit=admit)[0]


def sweep_id(keys: list[str]) -> str:
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


def submit_sweep(
    specs: list,
    store: StoreArg = None,
    *,
    retry: bool = False,
    admit: jobqueue.Admit | None = None,
) -> str:
    """Queue a grid of runs all at once (none if one is invalid, the queue would overflow or
    `admit` refuses); returns the sweep id."""
    s = open_store(store)
    keys = jobqueue.enqueue(s, [admissible(x) for x in specs], retry=retry, admit=admit)
    sid = sweep_id(keys)
    s.index.set_sweep(sid, keys)
    return sid


def cancel(key: str, store: StoreArg = None, guard: jobqueue.Guard | None = None) -> str:
    """Cancel a queued or running run (a worker stops it within an epoch); returns its status.
    `guard(ix, key)`: a caller's rule, checked in the same transaction (may raise)."""
    return jobqueue.cancel(open_store(store), key, guard)


def retry(key: str, store: StoreArg = None) -> str:
    """Requeue a failed or cancelled run (resuming from its last checkpoint)."""
    s = open_store(store)
    st, _ = s.index.require(key)
    if st == "done":
        raise ValueError(f"run {key[:12]} is done; nothing to retry (delete it to recompute)")
    if st in ACTIVE:
        return st
    jobqueue.enqueue(s, [stored_spec(key, s)], retry=True)
    return "queued"


def delete(key: str, store: StoreArg = None, guard: jobqueue.Guard | None = None) -> bool:
    """Remove a run and its files (a running one stops: its worker loses the lease).
    `guard(ix, key)`: a caller's rule, checked in the same transaction (may raise)."""
    return jobqueue.remove(open_store(store), key, guard)


def annotate(
    key: str,
    store: StoreArg = None,
    *,
    name: str | None = None,
    tags: list[str] | tuple[str, ...] | None = None,
    note: str | None = None,
) -> dict:
    """Name, tag or annotate a stored run (None leaves that part as it is); returns the notes.
    Names and tags are trimmed, tags deduplicated; KeyError when the run is not stored."""
    s = open_store(store)
    with s.transact() as ix:
        if not ix.has_run(key):
            raise KeyError(key)
        notes = ix.notes(key)
        if name is not None:
            notes["name"] = " ".join(name.split())[:120]
        if tags is not None:
            notes["tags"] = list(dict.fromkeys(t.strip()[:40] for t in tags if t.strip()))
        if note is not None:
            notes["note"] = note.strip()[:4000]
        ix.set_notes(key, notes)
    return notes


def mark_recompute(key: str, store: StoreArg = None) -> bool:
    """Drop a run's records and files and queue it again; False if it is running."""
    return jobqueue.recompute(open_store(store), key)


def enforce_limit(store: StoreArg = None) -> list[str]:
    """Delete the oldest finished runs (never queued or running) until the store fits its
    size limit (setting MEMCORE_STORE_LIMIT, 0 = no cap); returns the evicted keys. A run bigger
    than the whole limit is kept, with a warning naming the setting."""
    out = jobqueue.enforce_limit(open_store(store))
    if (text := out.warning()) is not None:
        warnings.warn(text, RuntimeWarning, stacklevel=2)
    return out.evicted
