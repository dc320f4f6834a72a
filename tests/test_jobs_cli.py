"""Job verbs through memcore.cli.main on a tmp store (fake runner, worker in a thread)."""

from __future__ import annotations

import json
import threading

import pandas as pd
import pytest

from memcore.cli import main
from memcore.jobs import api
from memcore.jobs.worker import Worker
from memcore.store import CorruptArtifact, Store
from tests import fake_runner as fake

TINY = ["--width", "16", "--epochs", "3"]


@pytest.fixture
def store(tmp_path) -> str:
    return str(tmp_path / "store")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(
    "flags, field",
    [
        (["--width", "0"], "model.width"),
        (["--noise", "randZ"], "noise.kind"),
        (["--level", "0.5"], "noise.level"),
        (["--lr", "abc"], "train.lr"),
    ],
)
def test_invalid_spec_is_rejected_naming_the_field_and_nothing_queued(capsys, store, flags, field):
    rc, out, err = cli(capsys, "submit", *TINY, *flags, "--store", store)
    assert rc == 2 and field in err and "Traceback" not in err and out == ""
    assert api.list_runs(store) == [] and Store(store).index.queue() == []


def test_submit_status_runs_cancel_retry_export_delete(capsys, store, tmp_path):
    rc, out, _ = cli(capsys, "submit", *TINY, "--store", store)
    key = out.split()[-1]
    assert rc == 0 and out.split()[0] == "queued" and len(key) == 64
    assert cli(capsys, "submit", *TINY, "--store", store)[1].split()[-1] == key
    rc, out, _ = cli(capsys, "status", key[:8], "--store", store, "--json")
    assert json.loads(out)["status"] == "queued" and json.loads(out)["queue_position"] == 0
    assert cli(capsys, "cancel", key, "--store", store)[1].split() == ["cancelled", key]
    assert cli(capsys, "retry", key, "--store", store)[1].split() == ["queued", key]

    w = Worker(store, runner=fake.run)
    t = threading.Thread(target=w.serve, kwargs={"idle_exit": 2.0, "poll": 0.05})
    t.start()
    rc, out, err = cli(capsys, "submit", *TINY, "--seed", "7", "--store", store, "--wait")
    t.join()
    capsys.readouterr()  # the worker thread's log lines
    assert rc == 0 and out.splitlines()[-1].split()[0] == "done"
    assert api.status(key, store).status == "done"

    rc, out, _ = cli(capsys, "runs", "--store", store)
    assert rc == 0 and key[:12] in out and len(out.strip().splitlines()) == 3
    rows = json.loads(cli(capsys, "runs", "--store", store, "--json", "--status", "done")[1])
    assert {r["key"] for r in rows} == {key, api.list_runs(store, status="done")[0]["key"]}
    rc, out, _ = cli(capsys, "status", key, "--store", store)
    assert "status    done" in out and "final_train_acc" in out

    csv, pq, js = (tmp_path / f"x.{e}" for e in ("csv", "parquet", "json"))
    for fmt, f in (("csv", csv), ("parquet", pq), ("json", js)):
        assert (
            cli(capsys, "export", key, "--format", fmt, "--out", str(f), "--store", store)[0] == 0
        )
    recs = api.records(key, 0, store)
    n_epoch = sum(r["type"] == "epoch" for r in recs)
    df = pd.read_csv(csv)
    assert len(df) == n_epoch and set(df["type"]) == {"epoch"} and (df["key"] == key).all()
    assert pd.read_parquet(pq).shape == df.shape
    assert json.loads(js.read_text())["records"] == json.loads(json.dumps(recs))

    assert cli(capsys, "delete", key, "--store", store)[1].split() == ["deleted", key]
    rc, _, err = cli(capsys, "status", key, "--store", store)
    assert rc == 1 and "matches no run" in err


def test_worker_threads_leave_a_core_for_the_app_and_share_the_rest(monkeypatch):
    from memcore.commands import jobs as jobs_cmd

    monkeypatch.delenv("MEMCORE_THREADS", raising=False)
    monkeypatch.setattr(jobs_cmd.os, "cpu_count", lambda: 2)
    monkeypatch.setenv("MEMCORE_WORKERS", "1")
    assert jobs_cmd.default_threads() == 1
    monkeypatch.setattr(jobs_cmd.os, "cpu_count", lambda: 16)
    monkeypatch.setenv("MEMCORE_WORKERS", "3")
    assert jobs_cmd.default_threads() == 5
    monkeypatch.setenv("MEMCORE_THREADS", "4")
    assert jobs_cmd.default_threads() == 4


def test_recompute_requeues_a_run_whose_artifact_is_corrupt(capsys, store):
    key = cli(capsys, "submit", *TINY, "--store", store)[1].split()[-1]
    Worker(store, runner=fake.run).serve(max_jobs=1, idle_exit=0)
    capsys.readouterr()
    victim = sorted((Store(store).path / "artifacts" / key).glob("*.npz"))[0]
    victim.write_bytes(b"garbage")
    with pytest.raises(CorruptArtifact, match=f"memcore recompute {key[:12]}"):
        api.arrays(key, store)
    assert api.status(key, store).status == "done"  # the read changed nothing
    assert cli(capsys, "recompute", key[:8], "--store", store)[1].split() == ["queued", key]
    assert api.status(key, store).status == "queued" and api.records(key, 0, store) == []
