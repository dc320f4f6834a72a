"""Check a store folder: `python -m memcore doctor` (repairs: memcore/store/repair.py).

`check(path)` only reads. It checks, in order:
- the disk: on a full disk (or when the index cannot be read for an I/O reason: permissions, a
  disk error) it says so and stops (`Report.blocked`): a disk problem is never called damage;
- the index file: missing or empty although run files exist, or damaged (SQLite's quick_check);
- the index's lists (`runs`, `queue`, `running`) against every run's status entry, and runs that
  lost an entry (a status, a spec or a job);
- every run's records: each committed chunk holds as many records as its job says, every
  artifact file exists and matches its sha256, and so does the resume checkpoint;
- orphans: artifact folders and checkpoint files of no run the index knows, and temporary files
  of interrupted writes.
Problems come in two kinds: `problems` that `doctor --repair` fixes, and `recompute` (a run whose
records or files are lost or corrupt: only `python -m memcore recompute KEY` can fix it).
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from memcore.store import DamagedStore, Store, StoreError, sha256_file
from memcore.store.cachefile import DBNAME, integrity, lost_index, run_files
from memcore.store.faults import LOW_DISK, low_disk


@dataclass
class Report:
    """What `check` found, or what `repair` did (`fixed`) and found after."""

    path: Path
    runs: int = 0  # runs with a status entry
    problems: list[str] = field(default_factory=list)  # --repair fixes these
    recompute: dict[str, str] = field(default_factory=dict)  # run key -> what is lost
    orphans: list[Path] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    blocked: str | None = None  # why nothing could be checked (a full disk, an I/O error)

    @property
    def healthy(self) -> bool:
        return not (self.problems or self.recompute or self.orphans or self.blocked)

    def lines(self) -> list[str]:
        out = [f"store {self.path}: {self.runs} run(s)"]
        out += [f"cannot check: {self.blocked}"] if self.blocked else []
        out += [f"problem: {p}" for p in self.problems]
        out += [f"lost: run {k[:12]}: {why}" for k, why in self.recompute.items()]
        out += [f"orphan: {o.relative_to(self.path)}" for o in self.orphans]
        out += [f"fixed: {f}" for f in self.fixed]
        return out

    def advice(self) -> list[str]:
        """What to type next (nothing when healthy)."""
        if self.blocked:
            return ["free space on the disk (or fix the folder's permissions), then check again"]
        out = []
        if self.problems or self.orphans:
            out.append(f"to fix it: python -m memcore doctor --store {self.path} --repair")
        out += [
            f"to recompute run {k[:12]}: python -m memcore recompute {k} --store {self.path}"
            for k in self.recompute
        ]
        return out


def full_disk(path: Path) -> str | None:
    """Why the disk holding `path` is too full to trust or repair the store, or None."""
    if not low_disk(path):
        return None
    free = shutil.disk_usage(path).free
    return (
        f"the disk holding {path} is full ({free / 2**20:.1f} MiB free, under "
        f"{LOW_DISK / 2**20:.0f} MiB): free some space first; nothing was changed"
    )


def index_damage(path: Path) -> str | None:
    """The index file's damage (missing or empty next to run files, or SQLite's quick_check),
    or None. Raises StoreError when the file cannot even be checked (a disk problem)."""
    if (lost := lost_index(path)) is not None:
        return f"{path / 'index' / DBNAME} {lost}"
    try:
        found = integrity(path)
    except sqlite3.DatabaseError as e:  # not damage: the disk or the permissions
        raise StoreError(
            f"the index {path / 'index' / DBNAME} could not be read ({e}): check the disk and "
            "the folder's permissions"
        ) from e
    return f"{path / 'index' / DBNAME} is damaged: {'; '.join(found[:5])}" if found else None


def orphans(path: Path, known: set[str]) -> list[Path]:
    """Run files of no key in `known`, and temporary files of interrupted writes."""
    out = []
    for p in run_files(path):
        key = p.name.split(".")[0]
        if key not in known or ".tmp" in p.name:
            out.append(p)
        elif p.is_dir():
            out += sorted(p.glob("*.tmp*"))
    return out


def _check_records(store: Store, key: str, job: dict, report: Report) -> None:
    ix, ends, start = store.index, job["chunks"], 0
    for i, end in enumerate(ends):
        recs = ix.chunk(key, i)
        if not ix.has_chunk(key, i) or len(recs) != end - start:
            report.recompute[key] = f"record chunk {i} holds {len(recs)} of {end - start} records"
            return
        start = end
        for rec in recs:
            if rec.get("file") and (why := _bad_file(store, rec)) is not None:
                report.recompute[key] = f"artifact {rec['file']} {why}"
                return
    ck = job.get("checkpoint")
    if ck and (why := _bad_file(store, ck)) is not None:
        report.recompute[key] = f"checkpoint {ck['file']} {why}"


def _bad_file(store: Store, rec: dict) -> str | None:
    path = store.path / rec["file"]
    if not path.is_file():
        return "is missing"
    return None if sha256_file(path) == rec["sha256"] else "failed its sha256 checksum"


def _check_runs(store: Store, report: Report) -> None:
    ix = store.index
    have = ix.entry_keys()
    keys = have["status"]
    report.runs = len(keys)
    listed = set(ix.runs())
    if not ix.has_runs_list() and keys:
        report.problems.append(f"the list of runs is missing ({len(keys)} run(s) exist)")
    elif keys - listed:
        report.problems.append(f"{len(keys - listed)} run(s) are missing from the list of runs")
    if listed - keys:
        report.problems.append(f"the list of runs names {len(listed - keys)} unknown run(s)")
    for key in sorted((have["spec"] & have["job"]) - keys):
        report.problems.append(f"run {key[:12]} lost its status (its spec and job are intact)")
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
        _check_records(store, key, job, report)
    if stale := [k for k in queue if k not in keys or ix.status(k) != "queued"]:
        report.problems.append(f"the queue holds {len(stale)} key(s) that are not queued runs")
    if stale := [k for k in running if ix.status(k) != "running"]:
        report.problems.append(f"the running list holds {len(stale)} run(s) not running")
    report.orphans = orphans(store.path, keys | have["spec"] | have["job"] | have["rec"])


def check(path: str | Path) -> Report:
    """Read-only: what is wrong with the store at `path` (nothing is changed)."""
    path = Path(path).resolve()
    report = Report(path)
    if not (path / "index").is_dir() and not run_files(path):
        report.problems.append(f"no index at {path / 'index' / DBNAME}: not a store")
        return report
    report.blocked = full_disk(path)
    if report.blocked is not None:
        return report
    try:
        damage = index_damage(path)
        if damage is not None:
            report.problems.append(damage)
            report.orphans = orphans(path, set())  # the index cannot say whose they are
            return report
        store = Store(path, readonly=True)
        try:
            _check_runs(store, report)
        finally:
            store.close()
    except DamagedStore as e:  # a damaged page the quick check did not reach
        report.problems.append(str(e))
    except StoreError as e:
        report.blocked = str(e)
    return report
