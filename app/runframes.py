"""A run's stored records and arrays -> the tidy frames app/charts.py draws. No Streamlit.

Arrays are `memcore.jobs.api.arrays(key)`: each name stacked over the run's "arrays" records
(leading row axis R), with "epoch" (float[R]) and "step" alongside. Train runs store, for the T
tracked training examples and K members, "correct" bool[R, K, T] and "prob" float[R, K, T]
(softmax probability of the training label); the "meta" record says which tracked examples are
noisy ("tracked_noisy"). The definitions (easiness, binomial reference, forgetting, data map)
live in memcore.easiness; this module only picks rows and shapes frames.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from memcore.records import frame

try:  # the definitions live in memcore.easiness; the fallbacks below keep the app usable
    from memcore import easiness
except ImportError:  # pragma: no cover - only while memcore.easiness is missing
    easiness = None


def meta(records: list[dict[str, Any]]) -> dict[str, Any]:
    return next((r for r in records if r.get("type") == "meta"), {})


def scalar(records: list[dict[str, Any]], type_: str) -> pd.DataFrame:
    """records.frame for one record type ('epoch', 'csr', 'sens', ...)."""
    return frame(records, type_)


def last_epoch(epochs: pd.DataFrame) -> float | None:
    """Largest evaluated epoch, None before the first evaluation."""
    return float(epochs["epoch"].max()) if len(epochs) else None


def _groups(m: dict[str, Any], t: int) -> np.ndarray:
    noisy = np.asarray(m.get("tracked_noisy") or [False] * t, dtype=bool)[:t]
    if len(noisy) < t:
        noisy = np.concatenate([noisy, np.zeros(t - len(noisy), dtype=bool)])
    return np.where(noisy, "noisy", "clean")


def _tracked(m: dict[str, Any], t: int) -> np.ndarray:
    ids = m.get("tracked") or list(range(t))
    return np.asarray(ids[:t] if len(ids) >= t else range(t))


def epoch_row(arrays: dict[str, np.ndarray], epoch: float = 1.0) -> int | None:
    """Index of the row evaluated at `epoch` (else the first row after it), None if none."""
    epochs = np.asarray(arrays.get("epoch", ()), dtype=float)
    after = np.flatnonzero(epochs >= epoch - 1e-9)
    return int(after[np.argmin(epochs[after])]) if len(after) else None


def easiness_frames(
    arrays: dict[str, np.ndarray], m: dict[str, Any], epoch: float = 1.0
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Per-example P(correct) across members after `epoch` and the Binomial(K, mean p)/K
    reference; None when the run has no such row yet or fewer than 2 members."""
    if "correct" not in arrays:
        return None
    row = epoch_row(arrays, epoch)
    if row is None:
        return None
    correct = np.asarray(arrays["correct"][row])  # K x T
    k, t = correct.shape
    if k < 2:
        return None
    p = correct.mean(axis=0)
    easy = pd.DataFrame({"example": _tracked(m, t), "p_correct": p, "group": _groups(m, t)})
    return easy, pd.DataFrame({"p_correct": np.arange(k + 1) / k, "probability": _pmf(k, p)})


def _pmf(k: int, p: np.ndarray) -> np.ndarray:
    """Binomial(k, mean p) pmf over 0..k."""
    q = float(np.mean(p))
    i = np.arange(k + 1)
    logc = np.array([math.lgamma(k + 1) - math.lgamma(j + 1) - math.lgamma(k - j + 1) for j in i])
    with np.errstate(divide="ignore"):
        logp = logc + i * np.log(q) + (k - i) * np.log1p(-q)
    return np.exp(logp)


def data_map_frame(arrays: dict[str, np.ndarray], m: dict[str, Any]) -> pd.DataFrame | None:
    """Per example: confidence and variability of P(label) over whole epochs >= 1 (mean over
    members), forgetting events, group; None before two such epochs."""
    if "prob" not in arrays or "correct" not in arrays:
        return None
    epochs = np.asarray(arrays["epoch"], dtype=float)
    rows = np.flatnonzero((epochs >= 1) & (np.mod(epochs, 1) == 0))
    if len(rows) < 2:
        return None
    prob = np.asarray(arrays["prob"][rows], dtype=float)  # E x K x T
    correct = np.asarray(arrays["correct"][rows], dtype=bool)
    t = prob.shape[-1]
    mean_prob = prob.mean(axis=1)  # E x T: members averaged per epoch
    # forgetting event: correct at epoch e, wrong at e+1 (per member; mean over members)
    forget = (correct[:-1] & ~correct[1:]).sum(axis=0).mean(axis=0)
    return pd.DataFrame(
        {
            "example": _tracked(m, t),
            "confidence": mean_prob.mean(axis=0),
            "variability": mean_prob.std(axis=0),
            "forgetting": np.rint(forget).astype(int),
            "group": _groups(m, t),
        }
    )


def class_matrix(arrays: dict[str, np.ndarray]) -> np.ndarray | None:
    """The sensitivity task's latest per-class matrix C x C, None when absent."""
    if "class_matrix" not in arrays or not len(arrays["class_matrix"]):
        return None
    return np.asarray(arrays["class_matrix"][-1], dtype=float)


def overlay_frame(runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """{run label: epoch records} -> run, epoch, metric ('validation'|'train'), value (mean
    over members), for charts.overlay_chart."""
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
