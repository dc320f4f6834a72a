"""A run's stored records and arrays -> the tidy frames the charts package draws. No Streamlit.

Arrays are `memcore.jobs.api.arrays(key)`: each name stacked over the run's "arrays" records
(leading row axis R), with "epoch" (float[R]) and "step" alongside. Train runs store, for the T
tracked training examples and K members, "correct" bool[R, K, T] and "prob" float[R, K, T]
(softmax probability of the training label); the "meta" record says which tracked examples are
noisy ("tracked_noisy"). The definitions (easiness, binomial reference, forgetting, data map)
live in memcore.metrics.easiness; this module only picks rows and shapes frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from memcore.metrics import easiness
from memcore.records import frame


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


def overlay_frame(runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """{run label: epoch records} -> run, epoch, metric ('validation'|'train'), value (mean
    over members), for charts.training.overlay_chart."""
    parts = []
    for label, ep in runs.items():
        if ep.empty:
            continue
        for col, metric in (("val_acc", "validation"), ("train_acc", "train")):
            if col in ep.columns:
                g = ep.groupby("epoch")[col].mean().reset_index(name="value")
                parts.append(g.assign(run=label, metric=metric))
    if not parts:
        return pd.DataFrame(columns=["run", "epoch", "metric", "value"])
    return pd.concat(parts, ignore_index=True)
