"""Repair a store folder: `python -m memcore doctor --repair` (the checks: doctor.py).

What repair may do:
- a damaged index: build a fresh index beside it from every entry still readable, then move the
  old folder aside (index.damaged-<time>) and the fresh one into place; never deleted;
- a missing or empty index next to run files: start a fresh index (the run files moved aside);
- rebuild the `runs`, `queue` and `running` lists from the status entries; restore a lost
  status from the run's job record (done, failed, cancelled, or queued again to resume);
- drop from the index a run that has no spec or no job (it cannot be run or shown);
- delete temporary files of interrupted writes (partial copies, never referenced).
What it may not do:
- delete a run's files: files it cannot prove belong to a known run (orphans, files of a run it
  dropped or of an index it could not read) are MOVED into <store>/aside-<time>/, never deleted;
- act on an I/O error: on a full disk (or when the index cannot be read for a disk or permission
  reason) it changes nothing and says so (StoreError), and an I/O error midway stops it with
  the index as it was (a salvage swaps the fresh index in only once it is complete);
- recompute lost records or files: `python -m memcore recompute KEY` does (doctor says which).
Stop the app and the workers first: a process that had the old index open keeps using it.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import diskcache

from memcore.store import Store, StoreError
from memcore.store.cachefile import DBNAME, open_cache, run_files
from memcore.store.doctor import Report, check, full_disk, orphans
from memcore.store.faults import disk_errors
from memcore.store.index import RunIndex


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _salvage(path: Path, report: Report) -> None:
    """Copy every readable entry of the index into a fresh one built beside it, then swap."""
    old, tmp = path / "index", path / "index.salvage"
    shutil.rmtree(tmp, ignore_errors=True)
    copied = lost = 0
    try:
        fresh = open_cache(tmp)
        disk = diskcache.Disk(str(old))
        try:
            con = sqlite3.connect(f"file:{old / DBNAME}?mode=ro", uri=True)
            (top,) = con.execute("SELECT MAX(rowid) FROM Cache").fetchone()
        except sqlite3.DatabaseError:
            con, top = None, None
        with fresh.transact():
            for rowid in range(1, (top or 0) + 1):
                try:
                    row = con.execute(
                        "SELECT key, raw, mode, filename, value FROM Cache WHERE rowid = ?",
                        (rowid,),
                    ).fetchone()
                    if row is None:
                        continue
                    key = disk.get(row[0], bool(row[1]))
                    value = disk.fetch(row[2], row[3], row[4], False)
                except Exception:  # an unreadable page or value file: that entry is lost
                    lost += 1
                    continue
                fresh.set(key, value)  # a write error (a full disk) stops the salvage
                copied += 1
        if con is not None:
            con.close()
        fresh.close()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # the old index stays as it was
        raise
    aside = path / f"index.damaged-{_stamp()}"
    old.rename(aside)
    tmp.rename(old)
    report.fixed.append(
        f"index moved aside to {aside.name}; {copied} entries copied into a fresh index"
        + (f", {lost} unreadable" if lost else "")
    )


def _restored_status(job: dict) -> str:
    """A lost status, from the job record: how its last attempt ended, else queued again."""
    if job.get("finished"):
        return "failed" if job.get("error") else "done" if job.get("summary") else "cancelled"
    return "queued"  # queued or running when lost: it resumes from its checkpoint


def _rebuild_lists(ix: RunIndex, report: Report) -> set[str]:
    """Restore lost statuses, drop unusable runs, rebuild the lists; returns the dropped keys."""
    have = ix.entry_keys()
    for key in sorted((have["spec"] & have["job"]) - have["status"]):
        st = _restored_status(ix.job(key))
        ix.add_status(key, st)
        report.fixed.append(f"run {key[:12]}: lost status restored as {st} from its job")
    keys, dropped = set(ix.status_keys()), set()
    for key in sorted(keys):
        if ix.job(key) is None or ix.spec_json(key) is None:
            ix.delete_run(key)
            dropped.add(key)
            report.fixed.append(f"dropped run {key[:12]} from the index (no job or spec)")
    keys -= dropped
    jobs = {k: ix.job(k) for k in keys}
    ix.set_runs({k: jobs[k]["submitted"] for k in keys})
    by_time = sorted(keys, key=lambda k: jobs[k]["submitted"])
    queue = [k for k in ix.queue() if k in keys and ix.status(k) == "queued"]
    queue += [k for k in by_time if ix.status(k) == "queued" and k not in queue]
    ix.set_queue(list(dict.fromkeys(queue)))
    ix.set_running({k: jobs[k]["worker"] or "" for k in keys if ix.status(k) == "running"})
    report.fixed.append(f"lists of runs, queue and running rebuilt from {len(keys)} run(s)")
    return dropped


def _move_aside(path: Path, files: list[Path], report: Report) -> None:
    """Delete temporary files; move every other file or folder into aside-<time>/."""
    aside, moved = path / f"aside-{_stamp()}", 0
    for p in files:
        if ".tmp" in p.name:
            p.unlink(missing_ok=True) if p.is_file() else shutil.rmtree(p, ignore_errors=True)
            report.fixed.append(f"deleted the partial file {p.relative_to(path)}")
            continue
        dest = aside / p.relative_to(path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        p.rename(dest)
        moved += 1
    if moved:
        report.fixed.append(f"moved {moved} file(s) or folder(s) of no known run into {aside.name}")


def repair(path: str | Path) -> Report:
    """Fix what `check` finds that a repair may fix (module docstring); returns the report of
    the store after it, with what was done in `fixed`. Raises StoreError, having changed
    nothing, on a full disk or an index it cannot read for an I/O reason."""
    path = Path(path).resolve()
    if (why := full_disk(path)) is not None:
        raise StoreError(f"doctor --repair: {why}")
    before = check(path)
    if not (path / "index").is_dir() and not run_files(path):
        return before  # not a store: nothing to repair, and no store is created here
    if before.blocked:
        raise StoreError(f"doctor --repair changed nothing: {before.blocked}")
    done = Report(path)
    try:
        with disk_errors(path):
            _repair(path, before, done)
    except StoreError as e:
        said = "; ".join(done.fixed) or "nothing"
        raise StoreError(f"doctor --repair stopped: {e} (done before it stopped: {said})") from e
    after = check(path)
    after.fixed = done.fixed
    return after


def _repair(path: Path, before: Report, done: Report) -> None:
    index = path / "index" / DBNAME
    damaged = any(p.startswith(str(index)) for p in before.problems)
    if damaged and index.is_file() and index.stat().st_size:
        _salvage(path, done)
    elif damaged:  # missing or empty: nothing to salvage; its files cannot be matched
        _move_aside(path, orphans(path, set()), done)
        empty = path / "index"
        if empty.exists():
            empty.rename(path / f"index.empty-{_stamp()}")
        done.fixed.append("started a fresh index")
    store = Store(path)
    try:
        with store.transact() as ix:
            _rebuild_lists(ix, done)
        known = set(store.index.status_keys())  # after the rebuild: every usable run
        _move_aside(path, orphans(path, known), done)
    finally:
        store.close()
