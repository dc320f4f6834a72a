"""Time to convergence (PAPER.md item 2; ICML Fig 6, poster Fig 2).

Per member: the first evaluated epoch at which training accuracy (all training examples, against
their possibly noisy labels) reaches 100%. A member that never gets there is *censored*: its value
is the last evaluated epoch, a lower bound, flagged censored=True. Evaluations happen every
metrics.eval_every epochs, so the value is exact only to that granularity.

Normalised (the paper's default): divide by the real-data value (noise kind "none" or level 0) at
the same dataset size (and any other matching keys, e.g. width), where the real value is the mean
over its uncensored members. A censored run stays censored after normalisation (a lower bound);
if every real member is censored, or there is no real run with those keys, the ratio is NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

TOLERANCE = 1e-9  # accuracy counted as 100% within float rounding


def time_to_convergence(
    epochs: pd.DataFrame | Iterable[dict[str, Any]], threshold: float = 1.0
) -> pd.DataFrame:
    """One row per member: member, epochs (first epoch with train_acc >= threshold, else the last
    evaluated epoch), step (SGD steps then), censored, last_epoch.

    `epochs`: "epoch" records (dicts with type "epoch", or records.frame(..., "epoch"))."""
    df = (
        epochs
        if isinstance(epochs, pd.DataFrame)
        else pd.DataFrame([r for r in epochs if r.get("type", "epoch") == "epoch"])
    )
    cols = ["member", "epochs", "step", "censored", "last_epoch"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df.sort_values(["member", "epoch"], kind="stable")
    reached = df["train_acc"] >= threshold - TOLERANCE
    rows = []
    for member, g in df.groupby("member", sort=True):
        hit = g[reached.loc[g.index]]
        last = g.iloc[-1]
        first = hit.iloc[0] if len(hit) else last
        rows.append(
            {
                "member": int(member),
                "epochs": float(first["epoch"]),
                "step": int(first["step"]) if "step" in g else None,
                "censored": not len(hit),
                "last_epoch": float(last["epoch"]),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def is_real(noise: Any, level: Any) -> bool:
    """Real data: no noise kind, or a noise level of 0."""
    return noise in (None, "none") or float(level or 0) == 0


def normalise(runs: pd.DataFrame, by: Sequence[str] = ("train_size",)) -> pd.DataFrame:
    """Add real_epochs, real_censored and normalised columns.

    `runs`: one row per (run, member) or per run, with columns noise, level, epochs, censored
    and the matching keys `by`. real_epochs = mean epochs of the uncensored real-data rows with
    the same keys; normalised = epochs / real_epochs (NaN where no uncensored real row)."""
    out = runs.copy()
    real_mask = np.array([is_real(n, lv) for n, lv in zip(out["noise"], out["level"], strict=True)])
    real = out[real_mask]
    keys = list(by)
    ok = real[~real["censored"].astype(bool)]
    means = ok.groupby(keys)["epochs"].mean() if keys else None
    seen = real.groupby(keys).size() if keys else None

    def lookup(row: pd.Series) -> tuple[float, bool]:
        if not keys:
            return (float(ok["epochs"].mean()) if len(ok) else np.nan, len(ok) == 0)
        key = tuple(row[k] for k in keys)
        key = key[0] if len(key) == 1 else key
        value = means.get(key, np.nan)
        return float(value), bool(key in seen.index and np.isnan(value))

    pairs = [lookup(r) for _, r in out.iterrows()]
    out["real_epochs"] = [p[0] for p in pairs]
    out["real_censored"] = [p[1] for p in pairs]
    out["normalised"] = out["epochs"] / out["real_epochs"]
    return out
