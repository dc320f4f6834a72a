"""What the chart tests share (test_charts, test_runframes): a train run's epoch records
(`_epoch_records`: K members, train/clean/noisy/val accuracy rising per epoch), a chart's
Vega-Lite spec as a dict (`_spec`) and every encoding block in it (`_encodings`)."""

from __future__ import annotations

import json


def _epoch_records(epochs=3, members=2, noisy=True):
    recs = [{"type": "meta", "members": members}]
    for e in range(epochs + 1):
        for k in range(members):
            recs.append(
                {
                    "type": "epoch",
                    "epoch": float(e),
                    "step": 10 * e,
                    "member": k,
                    "lr": 0.1,
                    "train_loss": 1.0 / (e + 1),
                    "train_acc": 0.2 * e + 0.01 * k,
                    "clean_loss": 1.0,
                    "clean_acc": 0.25 * e / epochs + 0.05 * k,
                    "noisy_loss": 2.0 if noisy else None,
                    "noisy_acc": 0.1 * e / epochs if noisy else None,
                    "val_loss": 1.0,
                    "val_acc": 0.2 + 0.02 * k,
                    "wall": 0.5 * e,
                }
            )
    return recs


def _spec(chart) -> dict:
    return json.loads(chart.to_json())


def _encodings(spec: dict) -> list[dict]:
    """All encoding blocks of a (possibly layered/concatenated) spec."""
    out = []
    stack = [spec]
    while stack:
        s = stack.pop()
        if "encoding" in s:
            out.append(s["encoding"])
        for k in ("layer", "hconcat", "vconcat", "concat"):
            stack.extend(s.get(k, []))
    return out
