"""What the AppTest modules share: a store the app opens without starting a worker
(MEMCORE_WORKERS=0), finished runs written into it by the jobs module's own Worker in-process on
hand-made record streams (the record contract of memcore/records.py: no training, no
subprocess), the app opened on a link, and readers of the charts and widgets it shows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from memcore.jobs import api, lease
from memcore.jobs.worker import Worker
from memcore.spec import RunSpec
from memcore.store import open_store

ROOT = Path(__file__).resolve().parents[1]
MAIN = str(ROOT / "app" / "main.py")
TIMEOUT = 120


def app_store(tmp_path, monkeypatch):
    """A fresh store folder; the app starts no worker."""
    path = tmp_path / "store"
    monkeypatch.setenv("MEMCORE_STORE", str(path))
    monkeypatch.setenv("MEMCORE_WORKERS", "0")
    monkeypatch.setenv("MEMCORE_OFFLINE", "1")
    return open_store(path)


def fake_records(spec: RunSpec, fail_at: int | None = None):
    """A train run's records: meta, per epoch K epoch records, K csr records, one arrays
    record (correct/prob/loss for T tracked examples), a checkpoint; then done."""
    k, e_max, t = spec.train.members, spec.train.epochs, 30
    noisy = [i % 3 == 0 for i in range(t)] if spec.noise.level > 0 else [False] * t
    yield {
        "type": "meta", "n_train": 100, "n_val": 50, "n_noisy": sum(noisy), "n_classes": 10,
        "classes": [str(c) for c in range(10)], "input_shape": [1, 8, 8], "device": "cpu",
        "members": k, "steps_per_epoch": 2, "tracked": list(range(t)), "tracked_noisy": noisy,
        "tracked_labels": [i % 10 for i in range(t)],
    }  # fmt: skip
    rng = np.random.default_rng(0)
    for e in range(e_max + 1):
        if e == fail_at:
            raise RuntimeError("boom: a deliberate test failure")
        for m in range(k):
            acc = min(1.0, 0.1 + 0.25 * e + 0.01 * m)
            yield {
                "type": "epoch", "epoch": float(e), "step": 2 * e, "member": m, "lr": 0.1,
                "train_loss": 2.0 - 0.3 * e, "train_acc": acc, "clean_loss": 1.0,
                "clean_acc": acc, "noisy_loss": 2.0 if any(noisy) else None,
                "noisy_acc": acc / 3 if any(noisy) else None, "val_loss": 1.5,
                "val_acc": acc * 0.9, "wall": 0.1 * e,
            }  # fmt: skip
            yield {
                "type": "csr", "epoch": float(e), "step": 2 * e, "member": m,
                "csr": 0.01 * (e + 1), "iters": 3, "radius": 8 / 255, "set": "val",
                "wall": 0.1 * e,
            }  # fmt: skip
        p = rng.random((k, t)).astype(np.float32) * min(1.0, 0.3 + 0.3 * e)
        yield {
            "type": "arrays", "epoch": float(e), "step": 2 * e,
            "arrays": {"correct": p > 0.3, "prob": p, "loss": -np.log(p + 1e-3)},
        }  # fmt: skip
        yield {"type": "checkpoint", "epoch": e, "state": {"epoch": e}}
    yield {"type": "done", "wall": 1.0, "epochs_run": e_max, "summary": {}}


def sens_records(spec: RunSpec):
    yield {"type": "meta", "members": 1, "steps_per_epoch": 10, "n_classes": 3,
           "classes": ["a", "b", "c"]}  # fmt: skip
    for s in range(1, 4):
        yield {"type": "sens", "step": 10 * s, "gini": 0.2 * s, "gini_time": 0.15 * s,
               "mean": 1.0, "wall": 0.1 * s}  # fmt: skip
    yield {
        "type": "arrays", "epoch": 1.0, "step": 30,
        "arrays": {"class_matrix": np.array([[5.0, 0.1, 0.0], [0.2, 4.0, 0.1], [0.01, 0.3, 3.0]]),
                   "sensitivity": np.arange(12.0), "labels": np.arange(12) % 3,
                   "noisy": np.zeros(12, dtype=bool)},
    }  # fmt: skip
    yield {"type": "done", "wall": 0.3, "epochs_run": 1, "summary": {}}


def seed(store, spec: RunSpec, runner=None, **kw) -> str:
    """Compute `spec` in this process with the jobs Worker on a hand-made record stream."""
    key = api.submit(spec, store)
    runner = runner or (lambda s, resume=None, should_stop=None: fake_records(s, **kw))
    w = Worker(store, runner=runner)
    claim = lease.claim(store, w.id)
    assert claim is not None and claim.key == key
    w.run_job(claim)
    return key


def app(params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    return at.run()


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def fields(spec: dict) -> set[str]:
    """Every encoded field name anywhere in a (layered/concatenated) Vega-Lite spec."""
    out, stack = set(), [spec]
    while stack:
        s = stack.pop()
        for enc in s.get("encoding", {}).values():
            if isinstance(enc, dict) and "field" in enc:
                out.add(enc["field"])
        for k in ("layer", "hconcat", "vconcat", "concat"):
            stack.extend(s.get(k, []))
    return out


def widget(at: AppTest, name: str):
    return (
        at.sidebar.get_by_key(f"explore:{name}")
        if hasattr(at.sidebar, "get_by_key")
        else (at.get_by_key(f"explore:{name}"))
    )


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
