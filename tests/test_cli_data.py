"""`python -m memcore datasets`: table and JSON of availability, shapes, sizes and folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from memcore.cli import main
from memcore.datasets import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def test_datasets_json_lists_every_dataset(tmp_path, capsys):
    assert main(["datasets", "--json", "--root", str(tmp_path)]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(REGISTRY)
    for name, info in REGISTRY.items():
        r = rows[name]
        assert tuple(r["input_shape"]) == info.input_shape
        assert (r["n_train"], r["n_val"], r["n_classes"]) == (
            info.n_train, info.n_val, len(info.classes),
        )  # fmt: skip
        assert r["status"] == ("offline" if info.offline else "missing")
        if not info.offline:
            assert r["folder"].startswith(str(tmp_path.resolve())) and r["files"]


def test_datasets_table_runs_as_a_module(tmp_path):
    env = {**os.environ, "MEMCORE_DATA": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "memcore", "datasets"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["dataset", "status", "shape"]
    table = {
        ln.split()[0]: ln.split() for ln in lines[1:] if ln.strip() and ln.split()[0] in REGISTRY
    }
    assert set(table) == set(REGISTRY)
    assert table["digits"][1:3] == ["offline", "1x8x8"]
    assert table["cifar10"][1:3] == ["missing", "3x32x32"]
    assert str(tmp_path.resolve()) in out.stdout  # where to put the missing files
    assert "train-images-idx3-ubyte.gz" in out.stdout
