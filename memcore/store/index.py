"""The store's index: its key scheme, in one place, behind typed accessors.

The index is the diskcache.Cache in <store>/index/. Per run key K:

    status:K    queued | running | done | failed | cancelled (created with an atomic `add`)
    spec:K      the spec's canonical JSON
    job:K       dict: progress, timings, worker, lease expiry, error, traceback, record chunk
                ends, checkpoint and summary (`jobqueue.new_job`)
    rec:K:i     the i-th append-only chunk of committed records
    pending:K   records of the current, not yet checkpointed epoch (shown live)
    notes:K     the person's words on a run: {"name", "tags" (list), "note"} (never the results)

and shared ones: `queue` (FIFO list of keys), `running` ({key: worker id}), `runs` ({key: submit
time}), `workers` ({worker id: heartbeat record}), `spawning` ({pid: start time}) and `sweep:S`
(list of keys). Nothing else in the code spells these strings.

A RunIndex wraps the Cache outside a transaction (`store.index`, reads retry on a busy database)
or inside one (`with store.transact() as ix:`, where writes are atomic together). Every access
goes through `errors` (the store's: a damaged page or a full disk becomes a StoreError naming
the store and what to do) and, on a read-only store, a write raises ReadOnlyStore first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import diskcache

from memcore.store.faults import ReadOnlyStore, read_only_message

Job = dict[str, Any]
_STATUS = "status:"


class RunIndex:
    """Typed reads and writes of the store's index keys (see the module docstring)."""

    def __init__(
        self,
        cache: diskcache.Cache,
        where: object = "",
        *,
        errors: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
        readonly: bool = False,
        refusal: Callable[[], Exception] | None = None,
    ) -> None:
        self.cache = cache
        self.where = where  # the store folder, for messages
        self.errors = errors
        self.readonly = readonly
        self.refusal = refusal  # the error a write meets when read-only (default: read-only)

    def _write(self) -> AbstractContextManager[None]:
        if self.readonly:
            if self.refusal is not None:
                raise self.refusal()
            raise ReadOnlyStore(read_only_message(self.where))  # type: ignore[arg-type]
        return self.errors()

    def _get(self, key: str, default: Any = None) -> Any:
        with self.errors():
            return self.cache.get(key, default, retry=True)

    def _set(self, key: str, value: Any) -> None:
        with self._write():
            self.cache.set(key, value, retry=True)

    def _delete(self, key: str) -> None:
        with self._write():
            self.cache.delete(key, retry=True)

    def _has(self, key: str) -> bool:
        with self.errors():
            return key in self.cache

    # -- one run ----------------------------------------------------------------------------
    def has_run(self, key: str) -> bool:
        return self._has(_STATUS + key)

    def status_keys(self) -> Iterator[str]:
        """Every run key with a status entry (the ground truth the `runs` list is checked
        against: `doctor`, and `runs` refusing to say "no runs" when its list is gone)."""
        with self.errors():
            for k in self.cache.iterkeys():
                if isinstance(k, str) and k.startswith(_STATUS):
                    yield k[len(_STATUS) :]

    def entry_keys(self) -> dict[str, set[str]]:
        """Run keys by the kind of entry they have: {"status", "spec", "job", "rec"} -> keys
        (doctor: a run that lost one entry is still known by the others)."""
        out: dict[str, set[str]] = {"status": set(), "spec": set(), "job": set(), "rec": set()}
        with self.errors():
            for k in self.cache.iterkeys():
                if isinstance(k, str) and (kind := k.split(":", 1)[0]) in out:
                    out[kind].add(k.split(":")[1])
        return out

    def has_chunk(self, key: str, i: int) -> bool:
        return self._has(f"rec:{key}:{i}")

    def status(self, key: str) -> str | None:
        return self._get(f"status:{key}")

    def require(self, key: str) -> tuple[str, Job]:
        """(status, job) of run `key`; KeyError when the store has no such run."""
        st, job = self.status(key), self.job(key)
        if st is None or job is None:
            raise KeyError(f"no run with key {key} in the store at {self.where}")
        return st, job

    def add_status(self, key: str, status: str) -> bool:
        """Create the run's status unless it exists (atomic); True when created."""
        with self._write():
            return self.cache.add(f"status:{key}", status, retry=True)

    def set_status(self, key: str, status: str) -> None:
        self._set(f"status:{key}", status)

    def spec_json(self, key: str) -> str | None:
        return self._get(f"spec:{key}")

    def set_spec_json(self, key: str, text: str) -> None:
        self._set(f"spec:{key}", text)

    def job(self, key: str) -> Job | None:
        return self._get(f"job:{key}")

    def set_job(self, key: str, job: Job) -> None:
        self._set(f"job:{key}", job)

    def notes(self, key: str) -> dict[str, Any]:
        return dict(self._get(f"notes:{key}", {}))

    def set_notes(self, key: str, notes: dict[str, Any]) -> None:
        self._set(f"notes:{key}", notes)

    def chunk(self, key: str, i: int) -> list[dict]:
        return self._get(f"rec:{key}:{i}", [])

    def set_chunk(self, key: str, i: int, records: list[dict]) -> None:
        self._set(f"rec:{key}:{i}", records)

    def delete_chunks(self, key: str, start: int, stop: int) -> None:
        for i in range(start, stop):
            self._delete(f"rec:{key}:{i}")

    def pending(self, key: str) -> list[dict]:
        return self._get(f"pending:{key}", [])

    def set_pending(self, key: str, records: list[dict]) -> None:
        self._set(f"pending:{key}", records)

    def drop_pending(self, key: str) -> None:
        self._delete(f"pending:{key}")

    def delete_run(self, key: str) -> None:
        """Every per-run key of `key` (records, status, spec, job, pending, notes)."""
        job = self.job(key)
        self.delete_chunks(key, 0, len(job["chunks"]) if job else 0)
        for prefix in ("status", "spec", "job", "pending", "notes"):
            self._delete(f"{prefix}:{key}")

    # -- shared -----------------------------------------------------------------------------
    def queue(self) -> list[str]:
        return list(self._get("queue", []))

    def set_queue(self, keys: list[str]) -> None:
        self._set("queue", list(keys))

    def running(self) -> dict[str, str]:
        return dict(self._get("running", {}))

    def set_running(self, running: dict[str, str]) -> None:
        self._set("running", running)

    def runs(self) -> dict[str, float]:
        return dict(self._get("runs", {}))

    def has_runs_list(self) -> bool:
        """Whether the `runs` list exists (a store that never had a run has none either)."""
        return self._has("runs")

    def set_runs(self, runs: dict[str, float]) -> None:
        self._set("runs", runs)

    def workers(self) -> dict[str, dict[str, Any]]:
        return dict(self._get("workers", {}))

    def set_workers(self, workers: dict[str, dict[str, Any]]) -> None:
        self._set("workers", workers)

    def spawning(self) -> dict[int, float]:
        return dict(self._get("spawning", {}))

    def set_spawning(self, spawning: dict[int, float]) -> None:
        self._set("spawning", spawning)

    def sweep(self, sweep_id: str) -> list[str] | None:
        keys = self._get(f"sweep:{sweep_id}")
        return None if keys is None else list(keys)

    def set_sweep(self, sweep_id: str, keys: list[str]) -> None:
        self._set(f"sweep:{sweep_id}", list(keys))

    def lock(self, name: str, expire: float) -> diskcache.Lock:
        """A cross-process lock kept in the index (e.g. "pool-lock" while starting workers)."""
        return diskcache.Lock(self.cache, name, expire=expire)
