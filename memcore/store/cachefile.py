"""Opening the store's index file (<store>/index/cache.db): writable, read-only, or not at all.

- `open_cache`: the diskcache.Cache, retrying "database is locked" from concurrent first opens
  (python-diskcache#85, #266).
- `ReadOnlyCache`: the same file opened with SQLite's `mode=ro` (plus `immutable=1` when the
  folder cannot hold SQLite's -shm file), for stores on a read-only mount or without write
  permission: every read works, every write fails (the Store refuses writes first, saying so).
- `lost_index`: a zero-length or missing cache.db next to stored run files is damage, not a
  fresh store (opening it would start an empty index and orphan every run).
- `integrity`: SQLite's `PRAGMA quick_check` on a read-only connection (doctor, error paths);
  an I/O failure (a full disk, permissions) is raised, never reported as damage.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import diskcache

from memcore.store.faults import low_disk

DBNAME = "cache.db"  # diskcache's file name inside the index folder


def open_cache(directory: Path, attempts: int = 40) -> diskcache.Cache:
    """The writable Cache in `directory` (created when missing)."""
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


def _ro_uri(db: Path) -> str:
    # SQLite needs to create the -shm file of a WAL database even to read it, unless the
    # folder cannot take it: then `immutable=1` (nobody can be writing a read-only folder).
    # On a full disk the -shm file cannot grow either; with no (or an empty) -wal file every
    # committed write is in cache.db, and nobody can commit more there: reading it whole is safe.
    shm, wal = db.with_name(DBNAME + "-shm"), db.with_name(DBNAME + "-wal")
    full = low_disk(db.parent) and (not wal.exists() or wal.stat().st_size == 0)
    immutable = (not os.access(db.parent, os.W_OK) and not shm.exists()) or full
    return f"file:{db}?mode=ro" + ("&immutable=1" if immutable else "")


class ReadOnlyCache(diskcache.Cache):
    """A diskcache.Cache on an existing index, opened read-only: its __init__ writes nothing
    (diskcache's own would store its configuration and create tables)."""

    def __init__(self, directory: Path, timeout: float = 60) -> None:
        db = Path(directory) / DBNAME
        if not db.is_file():
            raise FileNotFoundError(f"no index at {db}")
        self._directory = str(directory)
        self._timeout = timeout
        self._local = threading.local()
        self._txn_id = None
        self._uri = _ro_uri(db)
        sets = dict(self._con.execute("SELECT key, value FROM Settings").fetchall())
        for key, value in sets.items():
            setattr(self, key, value)  # eviction_policy, statistics, ... (no PRAGMA writes)
        disk = {k[5:]: v for k, v in sets.items() if k.startswith("disk_")}
        self._disk = diskcache.Disk(self._directory, **disk)
        ((self._page_size,),) = self._con.execute("PRAGMA page_size").fetchall()

    @property
    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None or getattr(self._local, "pid", None) != os.getpid():
            con = sqlite3.connect(self._uri, uri=True, timeout=self._timeout, isolation_level=None)
            self._local.con, self._local.pid = con, os.getpid()
        return con


def run_files(store: Path) -> list[Path]:
    """The store's run folders and files (artifacts/K, checkpoints/K.N.pt)."""
    return sorted((store / "artifacts").glob("*")) + sorted((store / "checkpoints").glob("*"))


def lost_index(store: Path, grace_s: float = 10.0) -> str | None:
    """What is wrong when <store>/index/cache.db cannot be the store's index although the store
    holds run files: "is missing ..." or "is empty (0 bytes) ..." (a zero-length file with no
    run files is damage too once older than `grace_s`: a first open writes it at once). None
    when it may be opened (a store that never held a run may start a fresh index)."""
    db = store / "index" / DBNAME
    try:
        st = db.stat()
    except FileNotFoundError:
        if any((store / "artifacts").glob("*/*")) or any((store / "checkpoints").glob("*")):
            return "is missing although the store holds run files"
        return None
    if st.st_size:
        return None
    files = any((store / "artifacts").glob("*/*")) or any((store / "checkpoints").glob("*"))
    if files or time.time() - st.st_mtime > grace_s:
        return "is empty (0 bytes) although the store holds runs"
    return None


# SQLite's words for a damaged file (anything else, e.g. "disk I/O error", "unable to open
# database file", "database or disk is full", is the disk or the permissions, not the file).
DAMAGE_WORDS = ("malformed", "not a database", "corrupt")


def is_damage(e: BaseException) -> bool:
    return isinstance(e, sqlite3.DatabaseError) and any(w in str(e).lower() for w in DAMAGE_WORDS)


def integrity(store: Path) -> list[str]:
    """Problems SQLite's quick_check finds in the index ([] = none, or no index at all).
    Raises sqlite3.DatabaseError when the check itself cannot run (a full disk, no permission:
    `is_damage` says no), so a disk problem is never reported as a damaged index."""
    db = store / "index" / DBNAME
    if not db.is_file() or db.stat().st_size == 0:
        return []
    try:
        con = sqlite3.connect(_ro_uri(db), uri=True, timeout=10)
        try:
            rows = [r[0] for r in con.execute("PRAGMA quick_check").fetchall()]
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        if is_damage(e):
            return [str(e)]
        raise
    return [] if rows == ["ok"] else rows
