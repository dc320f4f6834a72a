"""Check a store folder and repair it: `python -m memcore doctor [--repair]`.

`check(path)` only reads. It compares the index's ground truth (every run's status entry) with the
lists built from it (`runs`, `queue`, `running`), checks that every run has its spec and job and
that the files its records and checkpoint point at exist, and lists orphans: artifact folders and
checkpoint files of no run, and temporary files of interrupted writes. A damaged or empty
cache.db is reported with SQLite's own words.

`repair(path)` fixes what `check` found, deleting only what cannot be used:
- a damaged or empty cache.db: the index folder is moved aside (index.damaged-<time>, never
  deleted) and every entry still readable is copied into a fresh index;
- the `runs`, `queue` and `running` lists are rebuilt from the status entries;
- runs without a spec or a job record are removed from the index;
- orphan files and temporary files are deleted.
Stop the app and the workers first: a process that had the old index open keeps using it.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import diskcache

from memcore.store import Store
from memcore.store.cachefile import DBNAME, empty_index, integrity, open_cache
from memcore.store.index import RunIndex


@dataclass
class Report:
    """What `check` found (problems, orphans) or `repair` did (fixed)."""

    path: Path
    runs: int = 0  # runs with a status entry
    problems: list[str] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems and not self.orphans

    def lines(self) -> list[str]:
        out = [f"store {self.path}: {self.runs} run(s)"]
        out += [f"problem: {p}" for p in self.problems]
        out += [f"orphan: {o.relative_to(self.path)}" for o in self.orphans]
        out += [f"fixed: {f}" for f in self.fixed]
        return out


def _index_damage(path: Path) -> str | None:
    db = path / "index" / DBNAME
    if empty_index(path) or (db.is_file() and db.stat().st_size == 0):
        return f"{db} is empty (0 bytes): every run's records and status are gone from it"
    found = integrity(path)
    return f"{db} is damaged: {'; '.join(found[:5])}" if found else None


def _orphans(path: Path, keys: set[str]) -> list[Path]:
    out = []
    for d in sorted((path / "artifacts").glob("*")):
        if d.name not in keys:
            out.append(d)
        else:
            out += sorted(d.glob("*.tmp*"))
    for f in sorted((path / "checkpoints").glob("*")):
        if f.name.split(".")[0] not in keys or ".tmp" in f.name:
            out.append(f)
    return out


def _check_runs(store: Store, report: Report) -> None:
    ix = store.index
    keys = set(ix.status_keys())
    report.runs = len(keys)
    listed = set(ix.runs())
    if not ix.has_runs_list() and keys:
        report.problems.append(f"the list of runs is missing ({len(keys)} run(s) exist)")
    elif keys - listed:
        report.problems.append(f"{len(keys - listed)} run(s) are missing from the list of runs")
    if listed - keys:
        report.problems.append(f"the list of runs names {len(listed - keys)} unknown run(s)")
    queue, running = ix.queue(), ix.running()
    for key in sorted(keys):
        st, job, spec = ix.status(key), ix.job(key), ix.spec_json(key)
        if job is None or spec is None:
            report.problems.append(f"run {key[:12]} has no {'job' if job is None else 'spec'}")
            continue
        if (st == "queued") != (key in queue):
            report.problems.append(f"run {key[:12]} is {st} but {'not ' * (st == 'queued')}queued")
        if st == "running" and key not in running:
            report.problems.append(f"run {key[:12]} is running but not in the running list")
        ck = job.get("checkpoint")
        if ck and not (store.path / ck["file"]).is_file():
            report.problems.append(f"run {key[:12]}: checkpoint {ck['file']} is missing")
        for i in range(len(job["chunks"])):
            for rec in ix.chunk(key, i):
                if rec.get("file") and not (store.path / rec["file"]).is_file():
                    report.problems.append(f"run {key[:12]}: artifact {rec['file']} is missing")
    if stale := [k for k in queue if k not in keys or ix.status(k) != "queued"]:
        report.problems.append(f"the queue holds {len(stale)} key(s) that are not queued runs")
    if stale := [k for k in running if ix.status(k) != "running"]:
        report.problems.append(f"the running list holds {len(stale)} run(s) not running")
    report.orphans = _orphans(store.path, keys)


def check(path: str | Path) -> Report:
    """Read-only: what is wrong with the store at `path` (nothing is changed)."""
    path = Path(path).resolve()
    report = Report(path)
    if not (path / "index" / DBNAME).is_file():
        report.problems.append(f"no index at {path / 'index' / DBNAME}: not a store")
        return report
    if (damage := _index_damage(path)) is not None:
        report.problems.append(damage)
        report.orphans = _orphans(path, set())
        return report
    store = Store(path, readonly=True)
    try:
        _check_runs(store, report)
    finally:
        store.close()
    return report


def _salvage(path: Path, report: Report) -> None:
    """Move the index folder aside and copy every readable entry into a fresh one."""
    old = path / "index"
    aside = path / f"index.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
    old.rename(aside)
    fresh = open_cache(old)
    disk = diskcache.Disk(str(aside))
    copied = lost = 0
    try:
        con = sqlite3.connect(f"file:{aside / DBNAME}?mode=ro", uri=True)
        (top,) = con.execute("SELECT MAX(rowid) FROM Cache").fetchone()
    except sqlite3.DatabaseError:
        con, top = None, None
    with fresh.transact():
        for rowid in range(1, (top or 0) + 1):
            try:
                row = con.execute(
                    "SELECT key, raw, mode, filename, value FROM Cache WHERE rowid = ?", (rowid,)
                ).fetchone()
                if row is None:
                    continue
                key = disk.get(row[0], bool(row[1]))
                fresh.set(key, disk.fetch(row[2], row[3], row[4], False))
                copied += 1
            except Exception:  # an unreadable page or value file: that entry is lost
                lost += 1
    if con is not None:
        con.close()
    fresh.close()
    report.fixed.append(
        f"index moved aside to {aside.name}; {copied} entries copied into a fresh index"
        + (f", {lost} unreadable" if lost else "")
    )


def _rebuild_lists(ix: RunIndex, report: Report) -> None:
    keys = set(ix.status_keys())
    for key in sorted(keys):
        if ix.job(key) is None or ix.spec_json(key) is None:
            ix.delete_run(key)
            keys.discard(key)
            report.fixed.append(f"removed run {key[:12]} (no job or spec: unusable)")
    jobs = {k: ix.job(k) for k in keys}
    ix.set_runs({k: jobs[k]["submitted"] for k in keys})
    by_time = sorted(keys, key=lambda k: jobs[k]["submitted"])
    queue = [k for k in ix.queue() if k in keys and ix.status(k) == "queued"]
    queue += [k for k in by_time if ix.status(k) == "queued" and k not in queue]
    ix.set_queue(list(dict.fromkeys(queue)))
    ix.set_running({k: jobs[k]["worker"] or "" for k in keys if ix.status(k) == "running"})
    report.fixed.append(f"lists of runs, queue and running rebuilt from {len(keys)} run(s)")


def repair(path: str | Path) -> Report:
    """Fix what `check` finds (module docstring); returns the report of the store after it."""
    path = Path(path).resolve()
    before = check(path)
    fixed: list[str] = []
    if not (path / "index" / DBNAME).is_file():
        return before
    if _index_damage(path) is not None:
        _salvage(path, before)
        fixed += before.fixed
    store = Store(path)
    try:
        with store.transact() as ix:
            probe = Report(path)
            _rebuild_lists(ix, probe)
            fixed += probe.fixed
        orphans = _orphans(path, set(store.index.status_keys()))
    finally:
        store.close()
    for p in orphans:
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    if orphans:
        fixed.append(f"deleted {len(orphans)} orphan file(s) or folder(s)")
    after = check(path)
    after.fixed = fixed
    return after
