"""What can go wrong with a store folder, as errors that say what happened and what to do.

Low-level failures (OSError, sqlite3.DatabaseError) are turned into one of these by
`disk_errors(where)`: a full disk, a read-only folder, a damaged index (pointing at
`python -m memcore doctor`), or plain unreadable. Everything here is pure: no diskcache.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path


class StoreError(RuntimeError):
    """The store cannot do what was asked (disk full, read-only, damaged, corrupt artifact)."""


class CorruptArtifact(StoreError):
    """An artifact or checkpoint file is missing or failed its checksum (nothing was changed:
    recomputing the run is an explicit call, `api.mark_recompute` or `memcore recompute`)."""


class ReadOnlyStore(StoreError):
    """The store can be read but not written (permissions, a read-only mount)."""


class DamagedStore(StoreError):
    """The store's index is damaged or inconsistent: `python -m memcore doctor` says how."""


class DiskFull(StoreError):
    """The disk holding the store is full: free space first (nothing stored was lost)."""


_READONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)
LOW_DISK = 64 * 2**20  # bytes free below which a failed write is blamed on a full disk


def low_disk(where: Path) -> bool:
    """Whether the disk holding `where` is (nearly) full. torch.save reports a full disk as a
    RuntimeError ("unexpected pos ..."), and a worker killed mid-write reports nothing: the
    free space is what tells."""
    try:
        return shutil.disk_usage(where).free < LOW_DISK
    except OSError:
        return False


def disk_full(e: BaseException) -> bool:
    if isinstance(e, OSError):
        return e.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(e, sqlite3.DatabaseError) and "full" in str(e).lower()


def read_only(e: BaseException) -> bool:
    """Whether `e` says the store may not be written (read-only mount or permissions)."""
    if isinstance(e, OSError):
        return e.errno in _READONLY_ERRNOS
    text = str(e).lower()
    return isinstance(e, sqlite3.DatabaseError) and ("readonly" in text or "read-only" in text)


def disk_full_message(where: Path) -> str:
    return (
        f"disk full while writing the store at {where}: free some space (or delete old runs) "
        "and retry; nothing already stored was lost"
    )


def read_only_message(where: Path, what: str = "writing") -> str:
    return (
        f"the store at {where} is read-only: {what} needs to write to it; stored runs can "
        "still be viewed (fix: make the folder writable for this user (permissions) or point "
        "MEMCORE_STORE / --store at a writable folder)"
    )


def doctor_hint(where: Path) -> str:
    return f"check it with: python -m memcore doctor --store {where} (add --repair to fix it)"


def damaged_message(where: Path, what: str) -> str:
    return f"the store index {where}/index/cache.db {what}; {doctor_hint(where)}"


@contextlib.contextmanager
def disk_errors(where: Path) -> Iterator[None]:
    """Turn low-level failures into a StoreError that says what to do."""
    try:
        yield
    except OSError as e:
        if disk_full(e):
            raise DiskFull(disk_full_message(where)) from e
        if read_only(e):
            raise ReadOnlyStore(read_only_message(where)) from e
        raise
    except sqlite3.DatabaseError as e:
        text = str(e).lower()
        if disk_full(e) or (("i/o" in text or "unable to open" in text) and low_disk(where)):
            raise DiskFull(disk_full_message(where)) from e  # SQLite's I/O error on a full disk
        if read_only(e):
            raise ReadOnlyStore(read_only_message(where)) from e
        if "locked" in text or "busy" in text:
            raise
        if "malformed" in text or "not a database" in text or "corrupt" in text:
            raise DamagedStore(damaged_message(where, f"is damaged ({e})")) from e
        raise StoreError(  # the disk or the permissions, not the file: no --repair advice
            f"the store at {where} could not be read ({e}): check the disk and the folder's "
            f"permissions; python -m memcore doctor --store {where} says more"
        ) from e
