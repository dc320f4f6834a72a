"""doctor and doctor --repair as an operator meets them (issue 25 items 5, 6, 10, 11): a full disk
is never called damage and never acted on; repair never deletes a run's files it cannot prove
are orphans (it moves them aside); doctor verifies record chunk counts and artifact checksums and
advises `recompute KEY` for what only a recompute can fix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_jobs_doctor import damage_pages, memcore, seeded
from test_jobs_faults import needs_unshare

from memcore.jobs import api
from memcore.store import Store, doctor

ROOT = Path(__file__).resolve().parents[1]

FULL_DISK = """
    import json, os, subprocess, sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {tests!r})
    from test_jobs_doctor import seeded

    mnt = Path(sys.argv[1])
    store = mnt / "store"
    keys = seeded(store, done=3, queued=0)
    with open(mnt / "fill", "wb") as f:  # fill the disk to the last block
        try:
            while True:
                f.write(b"0" * (1 << 20))
                f.flush()
        except OSError:
            pass
    def memcore(*argv):
        p = subprocess.run([sys.executable, "-m", "memcore", *argv, "--store", str(store)],
                           capture_output=True, text=True, cwd={root!r})
        return [p.returncode, p.stdout + p.stderr]
    out = {{"check": memcore("doctor"), "repair": memcore("doctor", "--repair"),
           "again": memcore("doctor", "--repair"), "runs": memcore("runs"),
           "status": memcore("status", keys[0]), "files": len(os.listdir(store / "artifacts")),
           "index": sorted(os.listdir(store))}}
    os.unlink(mnt / "fill")  # space freed: the store is whole
    out["after"] = memcore("doctor")
    print(json.dumps(out))
"""


@needs_unshare
def test_a_full_disk_is_not_damage_and_repair_changes_nothing(tmp_path):
    """Issue 25 item 5: on a full disk doctor said "damaged", --repair crashed after moving the
    index aside and the next --repair deleted every run's files."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    (tmp_path / "full.py").write_text(
        textwrap.dedent(FULL_DISK.format(root=str(ROOT), tests=str(ROOT / "tests")))
    )
    script = f"mount -t tmpfs -o size=80m tmpfs {mnt} && {sys.executable} {tmp_path}/full.py {mnt}"
    env = dict(os.environ, PYTHONPATH=str(ROOT), MEMCORE_OFFLINE="1")
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout.strip().splitlines()[-1])
    code, out = res["check"]
    assert code == 1 and "is full" in out and "damaged" not in out and "--repair" not in out, out
    for step in ("repair", "again"):
        code, out = res[step]
        assert code == 1 and "nothing was changed" in out and "Traceback" not in out, out
    assert res["files"] == 3 and res["index"] == ["artifacts", "checkpoints", "index", "logs"]
    code, out = res["runs"]  # reads still work on a full disk
    assert code == 0 and out.count(" done ") == 3, out
    assert res["status"][0] == 0, res["status"]
    code, out = res["after"]
    assert code == 0 and out.rstrip().endswith("healthy") and "3 run(s)" in out, out


def _files(path: Path) -> set[str]:
    return {p.name for p in (path / "artifacts").iterdir()}


@pytest.mark.parametrize("how", ["zeroed", "zero-length"])
def test_repair_of_a_zeroed_index_moves_the_run_files_aside(tmp_path, capsys, how):
    path = tmp_path / "store"
    seeded(path, done=2, queued=0)
    before = _files(path)
    db = path / "index" / "cache.db"
    db.write_bytes(bytes(db.stat().st_size if how == "zeroed" else 0))
    for f in (path / "index").glob("cache.db-*"):
        f.unlink()
    code, out, _ = memcore(capsys, "doctor", "--store", str(path), "--repair")
    assert "moved 2 file(s) or folder(s) of no known run into aside-" in out, out
    [aside] = path.glob("aside-*")
    assert {p.name for p in (aside / "artifacts").iterdir()} == before  # kept, not deleted
    assert next(path.glob("index.damaged-*" if how == "zeroed" else "index.empty-*")).is_dir()


def test_after_salvaging_a_damaged_index_doctor_says_what_was_lost(tmp_path, capsys):
    """Issue 25 item 6: runs that lost entries in doctor's own salvage were called healthy.
    Now every run doctor does not list as lost reads back whole."""
    path = tmp_path / "store"
    seeded(path, done=20, queued=0)
    damage_pages(path / "index" / "cache.db")
    memcore(capsys, "doctor", "--store", str(path), "--repair")
    report = doctor.check(path)
    assert not report.blocked and not report.problems and not report.orphans, report.lines()
    s = Store(path)
    for key in s.index.status_keys():
        job = s.index.job(key)
        if key in report.recompute or not job["chunks"]:
            continue
        assert len(api.records(key, 0, s)) == job["chunks"][-1]
        assert api.arrays(key, s)  # checksums verified on read
    s.close()


def test_a_missing_index_folder_is_damage_not_an_empty_store(tmp_path, capsys):
    path = tmp_path / "store"
    seeded(path, done=2, queued=0)
    before = _files(path)
    shutil.rmtree(path / "index")
    code, out, err = memcore(capsys, "runs", "--store", str(path))
    assert code == 1 and "No runs" not in out and "is missing although" in err, (out, err)
    assert not (path / "index").exists()  # reading created no new empty index
    code, out, _ = memcore(capsys, "doctor", "--store", str(path))
    assert code == 1 and "is missing although the store holds run files" in out
    code, out, _ = memcore(capsys, "doctor", "--store", str(path), "--repair")
    assert code == 0 and "started a fresh index" in out, out
    [aside] = path.glob("aside-*")
    assert {p.name for p in (aside / "artifacts").iterdir()} == before


def test_a_run_that_lost_its_status_is_restored_not_deleted(tmp_path, capsys):
    path = tmp_path / "store"
    keys = seeded(path, done=2, queued=1)
    s = Store(path)
    s.cache.delete(f"status:{keys[0]}")  # its spec, job and records are intact
    s.cache.delete(f"status:{keys[2]}")  # a queued one
    code, out, _ = memcore(capsys, "doctor", "--store", str(path))
    assert code == 1 and f"run {keys[0][:12]} lost its status" in out
    assert f"orphan: artifacts/{keys[0]}" not in out  # its files belong to a known run
    code, out, _ = memcore(capsys, "doctor", "--store", str(path), "--repair")
    assert code == 0 and "lost status restored as done" in out, out
    assert api.status(keys[0], path).status == "done" and api.records(keys[0], 0, path)
    assert api.status(keys[2], path).status == "queued"
    assert keys[0] in _files(path)


def test_doctor_finds_a_lost_record_chunk_and_a_corrupt_artifact(tmp_path, capsys):
    """Issue 25 item 6: both said "healthy"; item 11: the advice is `recompute KEY`, which
    fixes them, not --repair, which cannot."""
    path = tmp_path / "store"
    keys = seeded(path, done=3, queued=0)
    s = Store(path)
    s.cache.delete(f"rec:{keys[0]}:0")  # a committed chunk gone
    art = next((path / "artifacts" / keys[1]).glob("*.npz"))
    art.write_bytes(art.read_bytes()[:-8] + b"garbage!")  # same size, other bytes
    (next((path / "artifacts" / keys[2]).glob("*.npz"))).unlink()
    code, out, _ = memcore(capsys, "doctor", "--store", str(path))
    assert code == 1 and "healthy" not in out
    assert f"lost: run {keys[0][:12]}: record chunk 0 holds 0 of" in out
    assert f"lost: run {keys[1][:12]}: artifact artifacts/{keys[1]}/" in out
    assert "failed its sha256 checksum" in out and "is missing" in out
    for key in keys:
        assert f"python -m memcore recompute {key}" in out
    assert "--repair" not in out  # nothing a repair could fix
    code, out, _ = memcore(capsys, "doctor", "--store", str(path), "--repair")
    assert code == 1 and f"lost: run {keys[0][:12]}" in out  # still said after a repair
    assert {keys[1], keys[2]} <= _files(path)  # their files were not touched
    for key in keys:
        assert memcore(capsys, "recompute", key, "--store", str(path))[0] == 0
    code, out, _ = memcore(capsys, "doctor", "--store", str(path))
    assert code == 0 and out.rstrip().endswith("healthy"), out


def test_repair_of_a_folder_that_is_no_store_creates_nothing(tmp_path, capsys):
    code, out, _ = memcore(capsys, "doctor", "--store", str(tmp_path / "nothing"), "--repair")
    assert code == 1 and "not a store" in out
    assert not (tmp_path / "nothing").exists()
