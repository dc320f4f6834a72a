"""A damaged or read-only store, through the commands an operator types: `runs`, `status`,
`submit`, `export` and `doctor [--repair]` (memcore/store/doctor.py, memcore/store/cachefile.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_jobs_faults import needs_unshare

from memcore import cli
from memcore.jobs import api, lease
from memcore.jobs.worker import Worker
from memcore.spec.presets import preset
from memcore.store import ReadOnlyStore, Store
from tests import fake_runner as fake

ROOT = Path(__file__).resolve().parents[1]


def spec(seed: int):
    return preset("digits-mlp", **{"model.width": 16, "train.epochs": 3, "train.seed": seed})


def seeded(path: Path, done: int = 3, queued: int = 1) -> list[str]:
    """A store with `done` finished runs (fake runner) and `queued` queued ones; closed."""
    s = Store(path)
    keys = [api.submit(spec(i), s) for i in range(done)]
    w = Worker(s, runner=fake.run)
    for _ in keys:
        assert w.run_job(lease.claim(s, w.id)) == "done"
    keys += [api.submit(spec(100 + i), s) for i in range(queued)]
    s.close()
    return keys


def memcore(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_lost_run_list_is_reported_never_read_as_no_runs_and_doctor_rebuilds_it(tmp_path, capsys):
    path = tmp_path / "store"
    keys = seeded(path)
    s = Store(path)
    s.cache.delete("runs")  # the damage: the list of runs is gone, the runs are not
    code, out, err = memcore(capsys, "runs", "--store", str(path))
    assert code == 1 and "no runs" not in out
    assert "lists 0 run(s) but 4 more exist" in err and "python -m memcore doctor" in err
    code, out, err = memcore(capsys, "submit", "--store", str(path), "--train-seed", "7")
    assert code == 1 and "has lost its list of runs" in err  # would orphan the runs otherwise
    assert not s.index.has_run(spec(7).key)
    code, out, _ = memcore(capsys, "doctor", "--store", str(path))
    assert code == 1 and "problem: the list of runs is missing (4 run(s) exist)" in out
    assert not s.index.has_runs_list()  # checking changed nothing
    code, out, _ = memcore(capsys, "doctor", "--store", str(path), "--repair")
    assert code == 0 and out.rstrip().endswith("healthy"), out
    assert sorted(r["key"] for r in api.list_runs(path)) == sorted(keys)
    assert api.status(keys[-1], path).queue_position == 0  # the queue survived


def test_doctor_reports_orphans_and_moves_them_aside_only_with_repair(tmp_path, capsys):
    path = tmp_path / "store"
    seeded(path, done=1, queued=0)
    orphan = path / "artifacts" / ("f" * 64)
    orphan.mkdir()
    (orphan / "0.npz").write_bytes(b"x")
    partial = path / "checkpoints" / ("e" * 64 + ".3.tmp123")
    partial.write_bytes(b"partial")
    code, out, _ = memcore(capsys, "doctor", "--store", str(path))
    assert code == 1 and f"orphan: artifacts/{'f' * 64}" in out and partial.name in out
    assert orphan.exists() and partial.exists()
    code, out, _ = memcore(capsys, "doctor", "--store", str(path), "--repair")
    assert code == 0 and "moved 1 file(s) or folder(s) of no known run into aside-" in out
    assert "deleted the partial file" in out  # a temporary file of an interrupted write
    assert not orphan.exists() and not partial.exists()
    [aside] = path.glob("aside-*")
    assert (aside / "artifacts" / orphan.name / "0.npz").read_bytes() == b"x"  # kept, not deleted
    assert len(list((path / "artifacts").iterdir())) == 1  # the real run's files stay


def damage_pages(db: Path) -> None:
    """Overwrite part of every third page (after the first two) with garbage."""
    data = bytearray(db.read_bytes())
    for page in range(2, len(data) // 4096, 3):
        data[page * 4096 + 100 : page * 4096 + 600] = os.urandom(500)
    db.write_bytes(bytes(data))


def test_damaged_index_pages_are_a_clear_error_and_doctor_salvages_the_rest(tmp_path, capsys):
    path = tmp_path / "store"
    keys = seeded(path, done=20, queued=0)
    damage_pages(path / "index" / "cache.db")
    code, out, err = memcore(capsys, "runs", "--store", str(path))
    assert code == 1 and "index" in err and "is damaged" in err and "doctor" in err, err
    for key in keys:  # each either shows its status or says the index is damaged
        code, out, err = memcore(capsys, "status", key, "--store", str(path))
        assert code == 0 or ("is damaged" in err and "doctor" in err), err
        assert "no run with key" not in err and "matches no run" not in err
    code, out, _ = memcore(capsys, "doctor", "--store", str(path))
    assert code == 1 and "cache.db is damaged" in out
    code, out, _ = memcore(capsys, "doctor", "--store", str(path), "--repair")
    assert "index moved aside to index.damaged-" in out and "entries copied" in out
    aside = next(path.glob("index.damaged-*"))
    assert (aside / "cache.db").stat().st_size > 0  # kept, never deleted
    # a fresh process (this one still holds the old index open, as a running app would)
    runs = [sys.executable, "-m", "memcore", "runs", "--store", str(path)]
    done = subprocess.run(
        runs, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), text=True, capture_output=True
    )
    assert done.returncode == 0, done.stderr  # whatever was readable is a consistent store


def test_a_zero_length_index_is_reported_not_read_as_an_empty_store(tmp_path, capsys):
    path = tmp_path / "store"
    seeded(path, done=2, queued=0)
    (path / "index" / "cache.db").write_bytes(b"")
    for f in (path / "index").glob("cache.db-*"):
        f.unlink()
    code, out, err = memcore(capsys, "runs", "--store", str(path))
    assert code == 1 and "no runs" not in out
    assert "cache.db is empty (0 bytes) although the store holds runs" in err and "doctor" in err
    code, out, _ = memcore(capsys, "doctor", "--store", str(path))
    assert code == 1 and "is empty (0 bytes)" in out and out.count("orphan: artifacts/") == 2
    assert len(list((path / "artifacts").iterdir())) == 2  # nothing deleted


def test_a_store_opened_read_only_reads_and_refuses_writes_saying_why(tmp_path):
    path = tmp_path / "store"
    keys = seeded(path, done=1, queued=1)
    ro = Store(path, readonly=True)  # SQLite mode=ro: root ignores file permissions
    assert {r["key"] for r in api.list_runs(ro)} == set(keys)
    assert api.status(keys[0], ro).status == "done" and api.arrays(keys[0], ro)["loss"].size
    for write in (
        lambda: api.submit(spec(9), ro),
        lambda: api.cancel(keys[1], ro),
        lambda: api.delete(keys[0], ro),
        lambda: Worker(ro),
    ):
        with pytest.raises(ReadOnlyStore, match=r"is read-only: .*\(fix: .*MEMCORE_STORE"):
            write()
    assert api.status(keys[1], ro).status == "queued"


READ_ONLY = """
set -e
mount --bind {store} {store}
mount -o remount,bind,ro {store}
for cmd in "runs" "status {key}" "export {key} --format json"; do
    {py} -m memcore $cmd --store {store} > /dev/null
    echo "ok: $cmd"
done
{py} -m memcore submit --store {store} --train-seed 9 2>&1 || echo "submit exit $?"
{py} -m memcore worker --store {store} 2>&1 || echo "worker exit $?"
"""


@needs_unshare
def test_a_store_on_a_read_only_mount_is_served_and_writes_say_read_only(tmp_path):
    path = tmp_path / "store"
    keys = seeded(path, done=1, queued=0)
    script = READ_ONLY.format(store=path, key=keys[0][:12], py=sys.executable)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    for cmd in ("runs", f"status {keys[0][:12]}", f"export {keys[0][:12]} --format json"):
        assert f"ok: {cmd}" in out, out
    assert f"the store at {path} is read-only" in out and "submit exit 1" in out, out
    assert "(fix: make the folder writable" in out and "worker exit 1" in out, out
    assert "unreadable" not in out and "move it aside" not in out and "Traceback" not in out
