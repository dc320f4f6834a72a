"""The run store: one `diskcache.Cache` (the index) plus checksummed files in one folder.

Layout of a store folder (`open_store(path)`; path from the argument, setting MEMCORE_STORE, or
<repo>/cache/store):

- `index/`: the diskcache.Cache (SQLite WAL: readers never block the writer for long); its keys
  are spelled only in memcore/store/index.py and read and written through `store.index` (outside
  a transaction) or `with store.transact() as ix:` (atomically).
- `artifacts/K/N.npz`: the arrays of record N of run K; its sha256 is kept in the record.
- `checkpoints/K.N.pt`: `torch.save` of the resume state after record N; sha256 in `job:K`.
- `logs/`: worker logs (pool.ensure_workers).

Files are written before the transaction that references them, so a crash leaves at most an
orphan file, never a record pointing at nothing; a failed write (a full disk) removes its partial
file. A store that cannot be written is opened read-only (`Store.readonly`): reads work, writes
raise ReadOnlyStore. A zero-length, missing or damaged index next to run files raises
DamagedStore pointing at `doctor` (a fresh empty index would orphan every run).
diskcache's own eviction is off (eviction_policy="none"): `enforce_limit` evicts whole finished
runs, oldest first.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from memcore import settings
from memcore.store.cachefile import ReadOnlyCache, lost_index, open_cache
from memcore.store.faults import (  # noqa: F401  (re-exported: the store's errors)
    CorruptArtifact,
    DamagedStore,
    DiskFull,
    ReadOnlyStore,
    StoreError,
    damaged_message,
    disk_errors,
    disk_full,
    disk_full_message,
    low_disk,
    read_only_message,
)
from memcore.store.index import RunIndex

STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
ACTIVE = ("queued", "running")


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


@contextlib.contextmanager
def _written(path: Path, where: Path) -> Iterator[BinaryIO]:
    """A temp file next to `path`, open for writing, moved onto it when the block succeeds;
    closed and removed when it fails, so a partial file cannot keep a full disk full (we hold
    the only handle: torch.save's writer, kept alive by a traceback, would otherwise pin it)."""
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    f = None
    try:
        with disk_errors(where):
            f = open(tmp, "wb")  # noqa: SIM115  (closed below, before the move or the unlink)
            yield f
            f.close()
            os.replace(tmp, path)
    except StoreError:
        raise
    except Exception as e:
        if low_disk(path.parent):  # e.g. torch.save's RuntimeError on a full disk
            raise DiskFull(disk_full_message(where)) from e
        raise
    finally:
        if f is not None:
            with contextlib.suppress(OSError):  # flushing a full disk's buffer fails again
                f.close()
        tmp.unlink(missing_ok=True)


class Store:
    """A store folder: its index (`index`, `transact()`) and helpers for its files and limits."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        size_limit: int | None = None,
        max_queue: int | None = None,
        lease_s: float | None = None,
        readonly: bool = False,
    ) -> None:
        self.path = Path(path or default_path()).resolve()
        limit = settings.get("MEMCORE_STORE_LIMIT") if size_limit is None else size_limit
        self.size_limit = int(limit)  # bytes; 0 = no cap
        self.max_queue = int(max_queue or settings.get("MEMCORE_MAX_QUEUE"))
        self.lease_s = float(lease_s or settings.get("MEMCORE_LEASE_S"))
        if (lost := lost_index(self.path)) is not None:  # never start an empty index over runs
            raise DamagedStore(damaged_message(self.path, lost))
        self.readonly = readonly
        self.full = False  # opened read-only because the disk is full
        if not readonly:
            try:
                with disk_errors(self.path):
                    for sub in ("index", "artifacts", "checkpoints", "logs"):
                        (self.path / sub).mkdir(parents=True, exist_ok=True)
                    self.cache = open_cache(self.path / "index")
            except StoreError as e:
                # SQLite says "unable to open database file" when it cannot create its -shm
                # file in a read-only folder: the folder's writability decides. A full disk
                # is served read-only too (reads work; a write says the disk is full).
                ro = isinstance(e, ReadOnlyStore) or not os.access(self.path / "index", os.W_OK)
                self.full = isinstance(e, DiskFull)
                if not (ro or self.full) or not (self.path / "index" / "cache.db").is_file():
                    raise  # not a read-only store, or nothing to read either
                self.readonly = True
        if self.readonly:
            with disk_errors(self.path):
                self.cache = ReadOnlyCache(self.path / "index")
        self.index = RunIndex(
            self.cache, self.path, errors=self.errors, readonly=self.readonly, refusal=self.refusal
        )

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def close(self) -> None:
        self.cache.close()

    def errors(self) -> contextlib.AbstractContextManager[None]:
        """Low-level failures inside become StoreErrors naming this store (faults.py)."""
        return disk_errors(self.path)

    def refusal(self, what: str = "writing") -> StoreError:
        """The error a write meets on this store: read-only, or a full disk."""
        if self.full:
            return DiskFull(disk_full_message(self.path))
        return ReadOnlyStore(read_only_message(self.path, what))

    def writable(self, what: str = "writing") -> None:
        """Raise ReadOnlyStore or DiskFull (saying so, and the fix) when this store cannot be
        written."""
        if self.readonly:
            raise self.refusal(what)

    @contextlib.contextmanager
    def transact(self) -> Iterator[RunIndex]:
        """All index writes inside happen atomically (one SQLite IMMEDIATE transaction)."""
        self.writable()
        with disk_errors(self.path), self.cache.transact(retry=True):
            yield self.index

    # -- artifacts ------------------------------------------------------------------------
    def artifact_path(self, key: str, index: int) -> Path:
        return self.path / "artifacts" / key / f"{index}.npz"

    def write_arrays(self, key: str, index: int, arrays: dict[str, Any]) -> tuple[str, str]:
        """Save arrays as artifacts/key/index.npz; returns (relative file, sha256)."""
        self.writable()
        path = self.artifact_path(key, index)
        buf = io.BytesIO()
        np.savez(buf, **{n: np.asarray(a) for n, a in arrays.items()})
        data = buf.getvalue()
        with disk_errors(self.path):
            path.parent.mkdir(parents=True, exist_ok=True)
        with _written(path, self.path) as f:
            f.write(data)
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

        self.writable()
        path = self.path / "checkpoints" / f"{key}.{index}.pt"
        with _written(path, self.path) as f:
            torch.save(state, f)
        return str(path.relative_to(self.path)), sha256_file(path)

    def read_checkpoint(self, rel: str, sha: str) -> Any:
        import torch

        path = self.path / rel
        if not path.exists() or sha256_file(path) != sha:
            raise CorruptArtifact(f"checkpoint {rel} is missing or failed its checksum")
        return torch.load(path, map_location="cpu", weights_only=False)

    def remove_checkpoints(self, key: str, keep: str | None = None) -> None:
        self.writable()
        for p in (self.path / "checkpoints").glob(f"{key}.*"):
            if keep is None or str(p.relative_to(self.path)) != keep:
                p.unlink(missing_ok=True)

    def remove_files(self, key: str) -> None:
        self.writable()
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
    """The Store at `path` (a Store passes through); one open handle per process and folder.
    A store that cannot be written is opened read-only (`store.readonly`): reads work, writes
    raise ReadOnlyStore saying so."""
    if isinstance(path, Store):
        return path
    resolved = Path(path or default_path()).resolve()
    handle = (os.getpid(), resolved)  # diskcache handles must not cross a fork
    if handle not in _OPEN:
        _OPEN[handle] = Store(resolved)
    return _OPEN[handle]
