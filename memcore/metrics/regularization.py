"""Regularization's effect on memorization (PAPER.md 7, ICML Fig. 10): how much of the random
labels a regularized net still fits, against how well it generalizes on real data."""

from __future__ import annotations

import pandas as pd


def tradeoff(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (regularizer, strength): final randY training accuracy and best real val."""
    last = df.sort_values("epoch").groupby(["regularizer", "strength", "data"]).last()
    noise = last.xs("randY", level="data")["train_acc"].rename("randY_train_acc")
    best = (
        df[df["data"] == "real"]
        .groupby(["regularizer", "strength"])["val_acc"]
        .max()
        .rename("real_best_val_acc")
    )
    return pd.concat([noise, best], axis=1).dropna().reset_index()
