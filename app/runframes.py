"""A run's stored records and arrays -> the tidy frames the charts package draws. No Streamlit.

Arrays are `memcore.jobs.api.arrays(key)`: each name stacked over the run's "arrays" records
(leading row axis R), with "epoch" (float[R]) and "step" alongside. Train runs store, for the T
tracked training examples and K members, "correct" bool[R, K, T] and "prob" float[R, K, T]
(softmax probability of the training label); the "meta" record says which tracked examples are
noisy ("tracked_noisy"). The definitions (easiness, binomial reference, forgetting, data map)
live in memcore.metrics.easiness; this module only picks rows and shapes frames.

Comparing runs (the Runs page): METRICS names what can be overlaid and where it is recorded,
FIELDS what runs can be coloured or faceted by; `compare_frame` gives one band row per
(run, epoch) with every field alongside, for charts.compare.overlay_chart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from charts.training import member_band
from memcore.metrics import easiness
from memcore.records import frame
from memcore.spec import RunSpec
from memcore.spec.words import setting


def meta(records: list[dict[str, Any]]) -> dict[str, Any]:
    return next((r for r in records if r.get("type") == "meta"), {})


def scalar(records: list[dict[str, Any]], type_: str) -> pd.DataFrame:
    """records.frame for one record type ('epoch', 'csr', 'sens', ...)."""
    return frame(records, type_)


def last_epoch(epochs: pd.DataFrame) -> float | None:
    """Largest evaluated epoch, None before the first evaluation."""
    return float(epochs["epoch"].max()) if len(epochs) else None


def _noisy(m: dict[str, Any], t: int) -> np.ndarray:
    """The meta record's tracked_noisy as bool[T] (all clean when missing)."""
    noisy = np.asarray(m.get("tracked_noisy") or [], dtype=bool)[:t]
    return np.concatenate([noisy, np.zeros(t - len(noisy), dtype=bool)])


def _tracked(m: dict[str, Any], t: int) -> np.ndarray:
    ids = m.get("tracked") or list(range(t))
    return np.asarray(ids[:t] if len(ids) >= t else range(t))


def easiness_frames(
    arrays: dict[str, np.ndarray], m: dict[str, Any], epoch: float = 1.0
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Per-example P(correct) across members at `epoch` and its null references: the global
    Binomial(K, mean p)/K and, when labels are known, the within-class mixture (one binomial
    per class, the fair null for randX). None without that row or with fewer than 2 members."""
    if "correct" not in arrays:
        return None
    try:
        row = easiness.row_at(arrays["epoch"], epoch)
    except ValueError:
        return None
    correct = np.asarray(arrays["correct"][row])  # K x T
    k, t = correct.shape
    if k < 2:
        return None
    noisy = _noisy(m, t)
    df = easiness.easiness(correct, noisy)
    df["example"] = _tracked(m, t)[df["example"].to_numpy()]
    refs = [easiness.binomial_reference(k, float(df["p_correct"].mean()))]
    labels = m.get("tracked_labels")
    if labels is not None and len(labels) >= t:
        refs.append(easiness.mixture(easiness.class_binomial_reference(correct, labels[:t])))
    ref = pd.concat(refs, ignore_index=True).rename(
        columns={"p": "p_correct", "pmf": "probability"}
    )
    return df[["example", "p_correct", "group"]], ref[["p_correct", "probability", "reference"]]


def data_map_frame(arrays: dict[str, np.ndarray], m: dict[str, Any]) -> pd.DataFrame | None:
    """Per example: confidence and variability of P(label) over whole epochs >= 1 (averaged
    over members), forgetting events (mean over members, rounded), group; None before two
    such epochs."""
    if "prob" not in arrays or "correct" not in arrays:
        return None
    rows = easiness.epoch_rows(arrays["epoch"])
    if rows.sum() < 2:
        return None
    prob, correct = np.asarray(arrays["prob"])[rows], np.asarray(arrays["correct"])[rows]
    t = prob.shape[-1]
    df = easiness.data_map(prob, correct, _noisy(m, t))
    df["example"] = _tracked(m, t)
    events = easiness.forgetting_events(correct)  # K x T
    df["forgetting"] = np.rint(events.mean(axis=0)).astype(int)
    return df[["example", "confidence", "variability", "forgetting", "group"]]


def class_matrix(arrays: dict[str, np.ndarray]) -> np.ndarray | None:
    """The sensitivity task's latest per-class matrix C x C, None when absent."""
    if "class_matrix" not in arrays or not len(arrays["class_matrix"]):
        return None
    return np.asarray(arrays["class_matrix"][-1], dtype=float)


# -- comparing runs ----------------------------------------------------------------------------
# metric shown -> (record type, column). Sensitivity-task runs record only "sens" (Gini over SGD
# steps, put on the epoch axis with the meta record's steps_per_epoch); training runs the rest.
METRICS: dict[str, tuple[str, str]] = {
    "validation accuracy": ("epoch", "val_acc"),
    "train accuracy (clean examples)": ("epoch", "clean_acc"),
    "train accuracy (noisy examples)": ("epoch", "noisy_acc"),
    "train accuracy (all)": ("epoch", "train_acc"),
    "validation loss": ("epoch", "val_loss"),
    "train loss (clean examples)": ("epoch", "clean_loss"),
    "train loss (noisy examples)": ("epoch", "noisy_loss"),
    "train loss (all)": ("epoch", "train_loss"),
    "critical sample ratio": ("csr", "csr"),
    "loss-sensitivity Gini": ("sens", "gini"),
    "loss-sensitivity Gini (equal weight per time)": ("sens", "gini_time"),
}
SMOOTHING = ("none", "EMA", "rolling mean")


def _regularizer(s: RunSpec) -> str:
    t = s.train
    return "none" if t.regularizer == "none" else f"{t.regularizer} {t.strength:g}"


# field shown -> its value for a spec (what a run can be coloured or faceted by)
FIELDS = {
    "noise level": lambda s: s.noise.level,
    "noise kind": setting,
    "labels": lambda s: s.noise.labels,
    "dataset": lambda s: s.data.dataset,
    "training examples": lambda s: s.data.train_size,
    "architecture": lambda s: s.model.arch,
    "width": lambda s: s.model.width if s.model.arch == "mlp" else s.model.width_mult,
    "depth": lambda s: s.model.depth,
    "regularizer": _regularizer,
    "strength": lambda s: s.train.strength,
    "members (K)": lambda s: s.train.members,
    "learning rate": lambda s: s.train.lr,
    "batch size": lambda s: s.train.batch_size,
    "epochs": lambda s: s.train.epochs,
    "seed": lambda s: s.train.seed,
    "task": lambda s: s.task,
}


def fields_of(spec: RunSpec) -> dict[str, object]:
    """{field: value} of a run (FIELDS)."""
    return {name: get(spec) for name, get in FIELDS.items()}


X_AXES = {"epoch": "epoch", "step": "SGD step", "wall": "wall time (s)"}  # column: axis title


def metric_frame(records: list[dict[str, Any]], metric: str) -> pd.DataFrame:
    """A run's values of `metric` (METRICS): epoch, step, wall, member, value; empty when it has
    none. "sens" records (one per evaluation step, no members) go on the epoch axis as
    step / steps_per_epoch, member 0. step and wall are NaN where a record lacks them."""
    type_, col = METRICS[metric]
    df = frame(records, type_)
    cols = ["epoch", "step", "wall", "member", "value"]
    if df.empty or col not in df.columns:
        return pd.DataFrame(columns=cols)
    if type_ == "sens":
        per_epoch = meta(records).get("steps_per_epoch") or 1
        df = df.assign(epoch=df["step"] / per_epoch, member=0)
    df = df.assign(**{c: df.get(c, np.nan) for c in ("step", "wall")})
    out = df[cols[:-1]].assign(value=pd.to_numeric(df[col], errors="coerce"))
    return out.dropna(subset=["value"]).sort_values(["member", "epoch"]).reset_index(drop=True)


def available(records: list[dict[str, Any]]) -> list[str]:
    """The METRICS a run has at least one value of, in METRICS order."""
    frames = {t: frame(records, t) for t in {t for t, _ in METRICS.values()}}  # one per type

    def has(type_: str, col: str) -> bool:
        df = frames[type_]
        return col in df.columns and bool(pd.to_numeric(df[col], errors="coerce").notna().any())

    return [m for m, (t, col) in METRICS.items() if has(t, col)]


def smooth(values: pd.Series, method: str, amount: float) -> pd.Series:
    """A curve smoothed for display (points in order). EMA: TensorBoard's debiased exponential
    moving average with weight `amount` in [0, 1) on the past (0 = raw); rolling mean: the mean
    of the last `amount` points (fewer at the start)."""
    if method == "EMA" and amount > 0:
        return values.ewm(alpha=1.0 - min(amount, 0.999), adjust=True).mean()
    if method == "rolling mean" and amount > 1:
        return values.rolling(int(amount), min_periods=1).mean()
    if method not in SMOOTHING:
        raise ValueError(f"smoothing {method!r} is unknown; expected one of {SMOOTHING}")
    return values


def compare_frame(
    runs: dict[str, tuple[RunSpec, list[dict[str, Any]]]],
    metric: str,
    smoothing: str = "none",
    amount: float = 0.0,
    x: str = "epoch",
) -> tuple[pd.DataFrame, list[str]]:
    """{run label: (spec, records)} -> (frame, labels of runs without `metric`).

    frame: one row per (run, x value): run, key, `x` (X_AXES: epoch, step or wall), mean, lo,
    hi (min and max over members), std, members, and a column per FIELDS entry. Each member's
    curve is smoothed first (`smooth`), then averaged over members.
    """
    if x not in X_AXES:
        raise ValueError(f"x={x!r} is invalid: must be one of {', '.join(X_AXES)}")
    parts, missing = [], []
    for label, (spec, recs) in runs.items():
        df = metric_frame(recs, metric).dropna(subset=[x])
        if df.empty:
            missing.append(label)
            continue
        df["value"] = df.groupby("member", group_keys=False)["value"].apply(
            lambda v: smooth(v, smoothing, amount)
        )
        band = member_band(df, x, "value", [])
        parts.append(band.assign(run=label, key=spec.key, **fields_of(spec)))
    cols = ["run", "key", x, "mean", "lo", "hi", "std", "members", *FIELDS]
    if not parts:
        return pd.DataFrame(columns=cols), missing
    return pd.concat(parts, ignore_index=True)[cols], missing


# -- the examples themselves ------------------------------------------------------------------
def example_table(
    arrays: dict[str, np.ndarray], m: dict[str, Any], epoch: float | None = None
) -> pd.DataFrame | None:
    """One row per tracked training example: position (in the tracked list), example (its
    training index), label (its training label, -1 if unknown), noisy, p_correct (share of
    members classifying it correctly), confidence (mean over members of P(label)), forgetting
    (forgetting events between whole epochs, mean over members). p_correct and confidence are
    read at `epoch`, or with None averaged over every whole epoch >= 1 as well (the data map's
    confidence). None without per-example arrays or without a row at `epoch`."""
    if "correct" not in arrays or "prob" not in arrays:
        return None
    correct = np.asarray(arrays["correct"])
    prob = np.asarray(arrays["prob"], dtype=float)
    whole = easiness.epoch_rows(arrays["epoch"])
    if epoch is None:
        rows = whole
    else:
        try:
            rows = [easiness.row_at(arrays["epoch"], epoch)]
        except ValueError:
            return None
    if not np.any(rows):
        return None
    t = correct.shape[-1]
    events = (
        easiness.forgetting_events(correct[whole]).mean(axis=0) if whole.sum() >= 2 else np.zeros(t)
    )
    labels = list(m.get("tracked_labels") or [])[:t]
    return pd.DataFrame(
        {
            "position": np.arange(t),
            "example": _tracked(m, t),
            "label": labels + [-1] * (t - len(labels)),
            "noisy": _noisy(m, t),
            "p_correct": correct[rows].mean(axis=(0, 1)),
            "confidence": prob[rows].mean(axis=(0, 1)),
            "forgetting": events,
        }
    )


def pick_examples(table: pd.DataFrame, n: int) -> dict[str, pd.DataFrame]:
    """The n easiest (highest P(correct), then confidence), n hardest (lowest) and n most
    forgotten (most forgetting events, at least one; then the least confident) rows."""
    by = ["p_correct", "confidence"]
    forgotten = table[table["forgetting"] > 0].sort_values(
        ["forgetting", "confidence"], ascending=[False, True], kind="stable"
    )
    return {
        "easiest": table.sort_values(by, ascending=False, kind="stable").head(n),
        "hardest": table.sort_values(by, ascending=True, kind="stable").head(n),
        "most forgotten": forgotten.head(n),
    }
