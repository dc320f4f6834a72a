"""The run store: one `diskcache.Cache` (the index) plus checksummed files in one folder.

Layout of a store folder (`open_store(path)`; path from the argument, setting MEMCORE_STORE, or
<repo>/cache/store):

- `index/`: the diskcache.Cache (SQLite WAL: readers never block the writer for long); its keys
  are spelled only in memcore/jobs/index.py and read and written through `store.index` (outside
  a transaction) or `with store.transact() as ix:` (atomically).
- `artifacts/K/N.npz`: the arrays of record N of run K; its sha256 is kept in the record.
- `checkpoints/K.N.pt`: `torch.save` of the resume state after record N; sha256 in `job:K`.
- `logs/`: worker logs (pool.ensure_workers).

Files are written before the transaction that references them, so a crash leaves at most an
orphan file, never a record pointing at nothing. diskcache's own eviction is off
(eviction_policy="none"): `enforce_limit` evicts whole finished runs, oldest first.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import diskcache
import numpy as np

from memcore import settings
from memcore.jobs.index import RunIndex

STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
ACTIVE = ("queued", "running")


class StoreError(RuntimeError):
    """The store cannot do what was asked (disk full, unreadable, corrupt artifact)."""


class CorruptArtifact(StoreError):
    """An artifact or checkpoint file is missing or failed its checksum (nothing was changed:
    recomputing the run is an explicit call, `api.mark_recompute` or `memcore recompute`)."""


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_path() -> Path:
    return Path(settings.get("MEMCORE_STORE") or repo_root() / "cache" / "store")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def disk_full(e: BaseException) -> bool:
    if isinstance(e, OSError):
        return e.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(e, sqlite3.DatabaseError) and "full" in str(e).lower()


def disk_full_message(where: Path) -> str:
    return (
        f"disk full while writing the store at {where}: free some space (or delete old runs) "
        "and retry; nothing already stored was lost"
    )


@contextlib.contextmanager
def disk_errors(where: Path) -> Iterator[None]:
    """Turn low-level failures into a StoreError that says what to do."""
    try:
        yield
    except OSError as e:
        if disk_full(e):
            raise StoreError(disk_full_message(where)) from e
        raise
    except sqlite3.DatabaseError as e:
        if disk_full(e):
            raise StoreError(disk_full_message(where)) from e
        if "locked" in str(e).lower():
            raise
        raise StoreError(f"the store at {where} is unreadable ({e}); move it aside") from e


def _open_cache(directory: Path, attempts: int = 40) -> diskcache.Cache:
    """Open the Cache, retrying "database is locked" from concurrent first opens
    (python-diskcache#85, #266)."""
    delay = 0.02
    for i in range(attempts):
        try:
            return diskcache.Cache(
                str(directory), timeout=60, eviction_policy="none", size_limit=2**62
            )
        except sqlite3.OperationalError as e:
            if "locked" not in str(e).lower() or i == attempts - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
    raise AssertionError("unreachable")


class Store:
    """A store folder: its index (`index`, `transact()`) and helpers for its files and limits."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        size_limit: int | None = None,
        max_queue: int | None = None,
        lease_s: float | None = None,
    ) -> None:
        self.path = Path(path or default_path()).resolve()
        self.size_limit = int(size_limit or settings.get("MEMCORE_STORE_LIMIT"))
        self.max_queue = int(max_queue or settings.get("MEMCORE_MAX_QUEUE"))
        self.lease_s = float(lease_s or settings.get("MEMCORE_LEASE_S"))
        with disk_errors(self.path):
            for sub in ("index", "artifacts", "checkpoints", "logs"):
                (self.path / sub).mkdir(parents=True, exist_ok=True)
            self.cache = _open_cache(self.path / "index")
        self.index = RunIndex(self.cache, self.path)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def close(self) -> None:
        self.cache.close()

    @contextlib.contextmanager
    def transact(self) -> Iterator[RunIndex]:
        """All index writes inside happen atomically (one SQLite IMMEDIATE transaction)."""
        with disk_errors(self.path), self.cache.transact(retry=True):
            yield self.index

    # -- artifacts ------------------------------------------------------------------------
    def artifact_path(self, key: str, index: int) -> Path:
        return self.path / "artifacts" / key / f"{index}.npz"

    def write_arrays(self, key: str, index: int, arrays: dict[str, Any]) -> tuple[str, str]:
        """Save arrays as artifacts/key/index.npz; returns (relative file, sha256)."""
        path = self.artifact_path(key, index)
        with disk_errors(self.path):
            path.parent.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            np.savez(buf, **{n: np.asarray(a) for n, a in arrays.items()})
            data = buf.getvalue()
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return str(path.relative_to(self.path)), hashlib.sha256(data).hexdigest()

    def read_arrays(self, rel: str, sha: str) -> dict[str, np.ndarray]:
        """Load an artifact, verifying its checksum; raises CorruptArtifact on mismatch."""
        path = self.path / rel
        try:
            data = path.read_bytes()
        except FileNotFoundError as e:
            raise CorruptArtifact(f"artifact {rel} is missing") from e
        if hashlib.sha256(data).hexdigest() != sha:
            raise CorruptArtifact(f"artifact {rel} failed its sha256 checksum")
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {n: z[n] for n in z.files}

    # -- checkpoints ----------------------------------------------------------------------
    def write_checkpoint(self, key: str, index: int, state: Any) -> tuple[str, str]:
        """torch.save the resume state to checkpoints/key.index.pt; returns (file, sha256)."""
        import torch

        path = self.path / "checkpoints" / f"{key}.{index}.pt"
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with disk_errors(self.path):
            torch.save(state, tmp)
            os.replace(tmp, path)
        return str(path.relative_to(self.path)), sha256_file(path)

    def read_checkpoint(self, rel: str, sha: str) -> Any:
        import torch

        path = self.path / rel
        if not path.exists() or sha256_file(path) != sha:
            raise CorruptArtifact(f"checkpoint {rel} is missing or failed its checksum")
        return torch.load(path, map_location="cpu", weights_only=False)

    def remove_checkpoints(self, key: str, keep: str | None = None) -> None:
        for p in (self.path / "checkpoints").glob(f"{key}.*"):
            if keep is None or str(p.relative_to(self.path)) != keep:
                p.unlink(missing_ok=True)

    def remove_files(self, key: str) -> None:
        shutil.rmtree(self.path / "artifacts" / key, ignore_errors=True)
        self.remove_checkpoints(key)

    # -- size -----------------------------------------------------------------------------
    def files_size(self, key: str | None = None) -> int:
        """Bytes of artifact and checkpoint files (of one run, or all)."""
        dirs = [self.path / "artifacts" / key] if key else [self.path / "artifacts"]
        total = sum(p.stat().st_size for d in dirs if d.exists() for p in d.rglob("*.npz"))
        pattern = f"{key}.*" if key else "*"
        total += sum(p.stat().st_size for p in (self.path / "checkpoints").glob(pattern))
        return total

    def size(self) -> int:
        """Total bytes: the cache's volume (database pages and value files) plus artifact and
        checkpoint files."""
        return int(self.cache.volume()) + self.files_size()


_OPEN: dict[tuple[int, Path], Store] = {}
StoreArg = Store | str | os.PathLike | None  # what every jobs function takes as `store`


def open_store(path: str | os.PathLike | Store | None = None) -> Store:
    """The Store at `path` (a Store passes through); one open handle per process and folder."""
    if isinstance(path, Store):
        return path
    resolved = Path(path or default_path()).resolve()
    handle = (os.getpid(), resolved)  # diskcache handles must not cross a fork
    if handle not in _OPEN:
        _OPEN[handle] = Store(resolved)
    return _OPEN[handle]
