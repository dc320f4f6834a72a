"""What a run produces: the record stream shared by the engine, the store, the app and figures.

A run (engine.trainer.train, engine.sensitivity_task.run, tests/fake_runner.py) yields plain dicts,
in order: "meta" first; then, as they are measured, "epoch", "csr", "sharpness", "sens" and "arrays"
records; a "checkpoint" after every epoch but the last; "done" last. Each dict is built by the
constructor of its type below (`Epoch(...).to_dict()`): a "type" key and the constructor's fields,
in that order. The classes are the schema; `check(record)` verifies a dict against it.

Every value outside "arrays" and "checkpoint" is JSON-serialisable (float/int/str/bool/None and
lists of them), so records go straight into JSON, CSV and Arrow. Constructors convert nothing:
the producer passes plain Python values (an epoch of 0 stays the int 0).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
import pandas as pd

SCALAR_TYPES = ("meta", "epoch", "csr", "sharpness", "sens", "done")


class Record:
    """A record type: TYPE is its "type" value; to_dict() is what the stream carries."""

    TYPE: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        """{"type": TYPE, field: value, ...} in field order (values not copied)."""
        return {"type": self.TYPE, **{f.name: getattr(self, f.name) for f in fields(self)}}


@dataclass(frozen=True)
class Meta(Record):
    """First record: the data and the run's layout. input_shape: [C, H, W] or [L]; tracked:
    indices of the training examples followed per example, with their noisy flag and label."""

    TYPE: ClassVar[str] = "meta"
    n_train: int
    n_val: int
    n_noisy: int
    n_classes: int
    classes: list[str]
    input_shape: list[int]
    device: str
    members: int
    steps_per_epoch: int
    tracked: list[int]
    tracked_noisy: list[bool]
    tracked_labels: list[int]


@dataclass(frozen=True)
class Epoch(Record):
    """One per (evaluation point, member). epoch: 0 = before training, fractional for the early
    steps of epoch 1; step: SGD steps so far; train_*: all training examples against their
    (possibly noisy) labels; clean_*/noisy_*: None when that group is empty; val_*: the clean
    validation data (None without one); wall: seconds since the run started."""

    TYPE: ClassVar[str] = "epoch"
    epoch: float
    step: int
    member: int
    lr: float
    train_loss: float
    train_acc: float
    clean_loss: float | None
    clean_acc: float | None
    noisy_loss: float | None
    noisy_acc: float | None
    val_loss: float | None
    val_acc: float | None
    wall: float


@dataclass(frozen=True)
class Csr(Record):
    """Critical sample ratio of one member (metrics.critical). iters: LASS iterations run;
    radius: r in data units; set: the probes' split, "val" or "train"."""

    TYPE: ClassVar[str] = "csr"
    epoch: int
    step: int
    member: int
    csr: float
    iters: int
    radius: float
    set: str
    wall: float


@dataclass(frozen=True)
class Sharpness(Record):
    """Top Hessian eigenvalue of one member's training loss (metrics.sharpness)."""

    TYPE: ClassVar[str] = "sharpness"
    epoch: int
    member: int
    sharpness: float
    wall: float


@dataclass(frozen=True)
class Sens(Record):
    """Sensitivity task, one per evaluation step: gini = Gini of the running-mean
    loss-sensitivity, gini_time = of its equal-weight-per-time variant, mean = its mean."""

    TYPE: ClassVar[str] = "sens"
    step: int
    gini: float
    gini_time: float
    mean: float
    wall: float


@dataclass(frozen=True)
class Arrays(Record):
    """Per-example data, {name: numpy array}. The store stacks each name over the run's "arrays"
    records into one array with a leading row axis, the rows' epoch/step kept alongside.
    Engine names (K members x T tracked examples): "correct" bool[K, T], "prob" float32[K, T]
    (softmax prob of the training label), "loss" float32[K, T]; at epoch 0 and after the last
    epoch also "first_layer" float32[K, F, H, W] (first-layer filters, when small enough; so
    that name has 2 rows); after the last epoch, with CSR on, also the critical pairs of
    engine.measurements.critical_pairs ("critical_x", "critical_adv" float32[S, *input_shape],
    "critical_pred", "critical_adv_pred", "critical_label", "critical_index" int64[S], S <= 16;
    so those names have 1 row). Sensitivity names: "sensitivity" float64[N], "sensitivity_time"
    float64[N], "class_matrix" float64[C, C], "labels" int64[N], "noisy" bool[N]."""

    TYPE: ClassVar[str] = "arrays"
    epoch: float
    step: int
    arrays: dict[str, np.ndarray]


@dataclass(frozen=True)
class Checkpoint(Record):
    """Everything needed to resume after `epoch` (state: CPU tensors/arrays and scalars). Not
    stored as a record: the store writes the records since the previous checkpoint and this
    state in one transaction, so a crash loses at most the current epoch."""

    TYPE: ClassVar[str] = "checkpoint"
    epoch: int
    state: dict[str, Any]


@dataclass(frozen=True)
class Done(Record):
    """Last record: wall seconds, epochs run and the producer's summary of the run."""

    TYPE: ClassVar[str] = "done"
    wall: float
    epochs_run: int
    summary: dict[str, Any]


TYPES: dict[str, type[Record]] = {
    c.TYPE: c for c in (Meta, Epoch, Csr, Sharpness, Sens, Arrays, Checkpoint, Done)
}


def keys(type_: str) -> tuple[str, ...]:
    """The keys of a record of type `type_`, in order ("type" first)."""
    return ("type", *(f.name for f in fields(TYPES[type_])))


def check(record: dict[str, Any]) -> None:
    """ValueError unless `record` has a known type, exactly its keys, and (outside "arrays" and
    "checkpoint") JSON-serialisable values."""
    type_ = record.get("type")
    if type_ not in TYPES:
        raise ValueError(f"record type {type_!r} is unknown; expected one of {sorted(TYPES)}")
    want, got = set(keys(type_)), set(record)
    if want != got:
        raise ValueError(
            f"{type_!r} record: missing {sorted(want - got)}, unexpected {sorted(got - want)}"
        )
    if type_ in SCALAR_TYPES:
        try:
            json.dumps(record, allow_nan=True)
        except TypeError as e:
            raise ValueError(f"{type_!r} record is not JSON-serialisable: {e}") from None


def frame(records: Iterable[dict[str, Any]], type_: str) -> pd.DataFrame:
    """Tidy DataFrame of the records of one type (without the "type" column)."""
    rows = [{k: v for k, v in r.items() if k != "type"} for r in records if r["type"] == type_]
    return pd.DataFrame(rows)
