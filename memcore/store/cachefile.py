"""Opening the store's index file (<store>/index/cache.db): writable, read-only, or not at all.

- `open_cache`: the diskcache.Cache, retrying "database is locked" from concurrent first opens
  (python-diskcache#85, #266).
- `ReadOnlyCache`: the same file opened with SQLite's `mode=ro` (plus `immutable=1` when the
  folder cannot hold SQLite's -shm file), for stores on a read-only mount or without write
  permission: every read works, every write fails (the Store refuses writes first, saying so).
- `empty_index`: a zero-length cache.db next to stored files is damage, not a fresh store.
- `integrity`: SQLite's `PRAGMA quick_check` on a read-only connection (doctor, error paths).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import diskcache

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
    immutable = not os.access(db.parent, os.W_OK) and not db.with_name(DBNAME + "-shm").exists()
    return f"file:{db}?mode=ro" + ("&immutable=1" if immutable else "")


class ReadOnlyCache(diskcache.Cache):
    """A diskcache.Cache on an existing index, opened read-only: its __init__ writes nothing
    (diskcache's own would store its settings and create tables)."""

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


def empty_index(store: Path, grace_s: float = 10.0) -> bool:
    """Whether <store>/index/cache.db is zero bytes although the store holds data (artifact or
    checkpoint files) or the file is older than `grace_s` (a first open writes it at once)."""
    db = store / "index" / DBNAME
    try:
        st = db.stat()
    except FileNotFoundError:
        return False
    if st.st_size:
        return False
    files = any((store / "artifacts").glob("*/*")) or any((store / "checkpoints").glob("*"))
    return files or time.time() - st.st_mtime > grace_s


def integrity(store: Path) -> list[str]:
    """Problems SQLite's quick_check finds in the index ([] = none, or no index at all)."""
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
        return [str(e)]
    return [] if rows == ["ok"] else rows
