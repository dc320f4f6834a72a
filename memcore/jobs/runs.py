"""Looking at runs: their spec, records, stacked arrays, and a listing of the store.

Reads never write: a missing run raises KeyError, a corrupt artifact raises CorruptArtifact, a
damaged index DamagedStore (pointing at `python -m memcore doctor`), and nothing in the store
changes. Recomputing a run is an explicit call (`control.mark_recompute`,
`python -m memcore recompute KEY`).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memcore.jobs.status import JobStatus, job_status, status
from memcore.spec import RunSpec
from memcore.store import (
    CorruptArtifact,
    DamagedStore,
    StoreArg,
    damaged_message,
    open_store,
)
from memcore.store.index import RunIndex


@dataclass(frozen=True)
class RunResult:
    """A run's spec, status, records and stacked arrays."""

    key: str
    spec: RunSpec
    status: JobStatus
    records: list[dict[str, Any]]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def spec(key: str, store: StoreArg = None) -> RunSpec:
    """The stored run's spec; KeyError if the store has no such run."""
    text = open_store(store).index.spec_json(key)
    if text is None:
        raise KeyError(f"no run with key {key}")
    return RunSpec.from_json(text)


def _stored_records(ix: RunIndex, key: str, since: int = 0) -> list[dict[str, Any]]:
    _, job = ix.require(key)
    ends = job["chunks"]
    out: list[dict[str, Any]] = []
    for i in range(bisect.bisect_right(ends, since), len(ends)):
        start = ends[i - 1] if i else 0
        out.extend(ix.chunk(key, i)[max(0, since - start) :])
    n = ends[-1] if ends else 0
    out.extend(ix.pending(key)[max(0, since - n) :])
    return out


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    if rec["type"] != "arrays":
        return rec
    return {k: v for k, v in rec.items() if k not in ("file", "sha256")}


def records(key: str, since: int = 0, store: StoreArg = None) -> list[dict[str, Any]]:
    """Records of run `key` from index `since` on (committed, then the current epoch's).
    "arrays" records carry "names" instead of their arrays (`arrays(key)` loads them)."""
    return [_public(r) for r in _stored_records(open_store(store).index, key, since)]


def arrays(key: str, store: StoreArg = None) -> dict[str, np.ndarray]:
    """Each array name stacked over the run's "arrays" records (leading row axis), plus
    "epoch" (float) and "step" (int) per row. A corrupt artifact raises CorruptArtifact naming
    the run (the run itself is left as it is)."""
    s = open_store(store)
    rows = [r for r in _stored_records(s.index, key) if r["type"] == "arrays"]
    loaded = []
    for r in rows:
        try:
            loaded.append(s.read_arrays(r["file"], r["sha256"]))
        except CorruptArtifact as e:
            hint = f"recompute it: python -m memcore recompute {key[:12]}"
            raise CorruptArtifact(f"run {key[:12]}: {e}; {hint}") from e
    out: dict[str, np.ndarray] = {}
    for name in dict.fromkeys(n for a in loaded for n in a):
        out[name] = np.stack([a[name] for a in loaded if name in a])
    out["epoch"] = np.array([float(r["epoch"]) for r in rows], dtype=np.float64)
    out["step"] = np.array([int(r.get("step") or 0) for r in rows], dtype=np.int64)
    return out


def result(key: str, store: StoreArg = None) -> RunResult:
    s = open_store(store)
    return RunResult(key, spec(key, s), status(key, s), records(key, 0, s), arrays(key, s))


def _flat_summary(summary: dict[str, Any] | None) -> dict[str, Any]:
    out = {}
    for k, v in (summary or {}).items():
        if isinstance(v, int | float | str | bool) or v is None:
            out[f"summary.{k}"] = v
    return out


def check_listed(ix: RunIndex, runs: dict[str, float]) -> None:
    """Raise DamagedStore when runs exist that the list of runs lacks (a lost or damaged
    list would otherwise read as "no runs"; `python -m memcore doctor --repair` rebuilds it)."""
    missing = [k for k in ix.status_keys() if k not in runs]
    if missing:  # read again: a run submitted since `runs` was read is not damage
        now = ix.runs()
        missing = [k for k in missing if k not in now and ix.has_run(k)]
    if missing:
        what = f"lists {len(runs)} run(s) but {len(missing)} more exist in it"
        raise DamagedStore(damaged_message(ix.where, what))  # type: ignore[arg-type]


def list_runs(
    store: StoreArg = None,
    *,
    status: str | tuple[str, ...] | None = None,
    dataset: str | None = None,
    task: str | None = None,
    limit: int | None = None,
    **fields: Any,
) -> list[dict[str, Any]]:
    """Rows (newest first): key, status, fraction, timings, error, the person's name, tags and
    note (control.annotate), the spec's flat fields and
    the scalar summary (summary.*). Filters: status (one or several), dataset, task, and any
    flat field given with underscores for dots (e.g. noise_kind="randY")."""
    ix = open_store(store).index
    wanted = {status} if isinstance(status, str) else set(status or ())
    flat_filters = {k.replace("__", ".").replace("_", ".", 1): v for k, v in fields.items()}
    runs, queue = ix.runs(), ix.queue()
    check_listed(ix, runs)
    rows = []
    for key in sorted(runs, key=runs.get, reverse=True):
        try:
            st, job = ix.require(key)
            sp = RunSpec.from_json(ix.spec_json(key))
        except (KeyError, TypeError):
            continue  # deleted meanwhile
        flat = sp.to_flat()
        if wanted and st not in wanted:
            continue
        if dataset and flat["data.dataset"] != dataset or task and sp.task != task:
            continue
        if any(str(flat.get(k)) != str(v) for k, v in flat_filters.items()):
            continue
        js = job_status(ix, key, st, job, queue)
        notes = ix.notes(key)
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
                "name": notes.get("name", ""),
                "tags": list(notes.get("tags", [])),
                "note": notes.get("note", ""),
                **flat,
                **_flat_summary(js.summary),
            }
        )
        if limit and len(rows) >= limit:
            break
    return rows
