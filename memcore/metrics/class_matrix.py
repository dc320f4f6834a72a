"""Diagonal dominance of the class-by-class loss-sensitivity matrix (PAPER.md item 5; ICML Fig 4,
poster Fig 3.3). The matrix itself is computed by metrics.sensitivity; this module summarises it.

Cell (i, j) = how much the loss of class-i examples depends on the inputs of class-j examples.
- diag_mean / offdiag_mean: mean of the diagonal / off-diagonal cells; their ratio > 1 means each
  class's loss depends mostly on its own examples (diagonal dominance).
- offdiag_share: off-diagonal sum / total sum, the part of the sensitivity shared across
  classes (higher on real data, where patterns are shared).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def diagonal_summary(cells: pd.DataFrame) -> dict[str, float]:
    """Summary of one matrix given as tidy cells (columns loss_class, input_class, value):
    diag_mean, offdiag_mean, diag_over_offdiag, offdiag_share, total and offdiag_cells (count).
    offdiag_share is nan when the total is not positive."""
    on = cells["loss_class"] == cells["input_class"]
    diag, off = cells.loc[on, "value"], cells.loc[~on, "value"]
    total = float(cells["value"].sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = float(np.float64(diag.mean()) / np.float64(off.mean()))
    return {
        "diag_mean": float(diag.mean()),
        "offdiag_mean": float(off.mean()),
        "diag_over_offdiag": ratio,
        "offdiag_share": float(off.sum()) / total if total > 0 else float("nan"),
        "total": total,
        "offdiag_cells": int(len(off)),
    }
