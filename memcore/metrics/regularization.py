"""Regularization's effect on memorization (PAPER.md 7, ICML Fig. 10): how much of the random
labels a regularized net still fits, against how well it generalizes on real data.

- tradeoff: per (regularizer, strength), the final training accuracy on 100% random labels
  (randY_train_acc, memorization of noise) and the best validation accuracy of the same setting
  on real data (real_best_val_acc, generalization).
- memorization cap: halfway between the unregularized net's randY training accuracy and chance;
  a strength "caps memorization" when its randY training accuracy is at most the cap.
- val at cap: per regularizer, the best real validation accuracy among its capping strengths
  (None when no strength caps).
"""

from __future__ import annotations

import pandas as pd


def tradeoff(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (regularizer, strength): final randY training accuracy and best real val.

    `df`: training curves with columns regularizer, strength, data ("real" / "randY"), epoch,
    train_acc, val_acc."""
    last = df.sort_values("epoch").groupby(["regularizer", "strength", "data"]).last()
    noise = last.xs("randY", level="data")["train_acc"].rename("randY_train_acc")
    best = (
        df[df["data"] == "real"]
        .groupby(["regularizer", "strength"])["val_acc"]
        .max()
        .rename("real_best_val_acc")
    )
    return pd.concat([noise, best], axis=1).dropna().reset_index()


def memorization_cap(unregularized_fit: float, n_classes: int) -> float:
    """Halfway between the unregularized randY training accuracy and chance (1 / n_classes)."""
    return (unregularized_fit + 1.0 / n_classes) / 2


def val_at_cap(tradeoff_df: pd.DataFrame, cap: float) -> dict[str, float | None]:
    """regularizer -> best real_best_val_acc among its strengths with randY_train_acc <= cap,
    None when none of them caps."""
    out: dict[str, float | None] = {}
    for reg, g in tradeoff_df.groupby("regularizer"):
        capped = g[g["randY_train_acc"] <= cap]
        out[reg] = float(capped["real_best_val_acc"].max()) if len(capped) else None
    return out
