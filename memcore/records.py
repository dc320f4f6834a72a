"""What a run produces: the record stream shared by the engine, the store, the app and figures.

A run (engine.train or sensitivity.run) yields plain dicts, in order. Each has a "type":

- "meta" (first): {"n_train", "n_val", "n_noisy", "n_classes", "classes": [names],
  "input_shape": [C, H, W] or [L], "device", "members", "steps_per_epoch",
  "tracked": [train indices tracked per example], "tracked_noisy": [bool], "tracked_labels": [int]}
- "epoch": one per (evaluation point, member): {"epoch": float (0 = before training; fractional
  for the early steps of epoch 1), "step": SGD steps so far, "member": k, "lr",
  "train_loss", "train_acc" (all training examples, against their possibly noisy labels),
  "clean_loss", "clean_acc", "noisy_loss", "noisy_acc" (None when that group is empty),
  "val_loss", "val_acc" (clean validation data), "wall": seconds since the run started}
- "csr": {"epoch", "step", "member", "csr": critical sample ratio, "iters": LASS iterations run,
  "radius": r in data units, "set": "val" | "train", "wall"}
- "sharpness": {"epoch", "member", "sharpness": top Hessian eigenvalue, "wall"}
- "sens": sensitivity task, one per evaluation step: {"step", "gini": Gini of the running-mean
  loss-sensitivity, "gini_time": Gini of the equal-weight-per-time variant, "mean", "wall"}
- "arrays": {"epoch", "step", "arrays": {name: numpy array}}: per-example data. The store
  stacks each name over the run's "arrays" records into one array with a leading row axis, with
  the rows' "epoch"/"step" kept alongside. Engine names (K members x T tracked examples):
  "correct" bool[K, T], "prob" float32[K, T] (softmax prob of the training label), "loss"
  float32[K, T]; at epoch 0 and after the last epoch also "first_layer" float32[K, F, H, W]
  (first-layer filters, when small enough; so that name has 2 rows). Sensitivity names:
  "sensitivity" float64[N], "sensitivity_time" float64[N],
  "class_matrix" float64[C, C], "labels" int64[N], "noisy" bool[N].
- "checkpoint": {"epoch", "state": dict of CPU tensors/arrays}: everything needed to resume
  after that epoch. Not stored as a record: the store writes the records since the previous
  checkpoint and this state in one transaction, so a crash loses at most the current epoch.
- "done" (last): {"wall", "epochs_run", "summary": {...}}

Every value except inside "arrays" and "checkpoint" is JSON-serialisable (float/int/str/bool/None
and lists of them), so records go straight into JSON, CSV and Arrow.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

SCALAR_TYPES = ("meta", "epoch", "csr", "sharpness", "sens", "done")


def frame(records: Iterable[dict[str, Any]], type_: str) -> pd.DataFrame:
    """Tidy DataFrame of the records of one type (without the "type" column)."""
    rows = [{k: v for k, v in r.items() if k != "type"} for r in records if r["type"] == type_]
    return pd.DataFrame(rows)
