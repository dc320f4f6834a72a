"""How a measured quantity moves: over training (a curve indexed by epoch) and across a sweep
(a value per noise level or width). The figures' checks state their claims with these.

- rank correlation: Spearman's rho (average ranks for ties), nan when either side is constant.
- near best: the smallest x whose value is within tol of the curve's maximum (capacity: the width
  at which a noise level gets near its best validation accuracy).
- fraction above: the fraction of common x where curve a exceeds curve b (CSR: noisy above real).
- early / late change: the change over the first and the last third of the points (a plateau
  is a late change small next to the early one).
- rise epoch: the first epoch at which a curve has covered `share` (e.g. 80%) of its change from
  its first point (initialization) to its last (CSR: randX rises early, randY late).
- peaks then falls: after epoch 0, the maximum comes before the last point and the last point is
  at least `drop` below it ("patterns first, then memorization" on validation accuracy).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def spearman(x: Iterable[float], y: Iterable[float]) -> float:
    """Spearman rank correlation (average ranks for ties); nan when either side is constant."""
    a = pd.Series(list(x), dtype=float).rank()
    b = pd.Series(list(y), dtype=float).rank()
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def near_best(curve: pd.Series, tol: float) -> int:
    """Smallest index (e.g. width) whose value is within tol of the curve's maximum."""
    curve = curve.sort_index()
    return int(curve[curve >= curve.max() - tol].index[0])


def fraction_above(a: pd.Series, b: pd.Series) -> float:
    """Fraction of the (aligned) points where a > b."""
    return float((a > b).mean())


def early_late_change(curve: pd.Series) -> tuple[float, float]:
    """(change over the first third of the points, change over the last third); a third is at
    least one step."""
    third = max(1, len(curve) // 3)
    early = float(curve.iloc[third] - curve.iloc[0])
    late = float(curve.iloc[-1] - curve.iloc[-1 - third])
    return early, late


def peaks_then_falls(curve: pd.Series, drop: float) -> bool:
    """After epoch 0 (the index), the maximum comes before the last point and the last point is
    at least `drop` below it."""
    v = curve[curve.index > 0]
    return bool(len(v) and v.idxmax() < v.index.max() and v.iloc[-1] <= v.max() - drop)


def rise_epoch(curve: pd.Series, share: float = 0.8) -> float:
    """First index (epoch) where the curve has covered `share` of its change from its first to
    its last point (a fall counts as a change too); nan for a flat curve."""
    curve = curve.sort_index()
    total = float(curve.iloc[-1] - curve.iloc[0])
    if len(curve) < 2 or total == 0:
        return float("nan")
    covered = (curve - curve.iloc[0]) / total
    return float(covered[covered >= share].index[0])
