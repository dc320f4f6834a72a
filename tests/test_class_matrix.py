"""Diagonal dominance of a class-by-class matrix, on hand-made matrices."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from memcore.metrics.class_matrix import diagonal_summary


def _cells(m: np.ndarray) -> pd.DataFrame:
    i, j = np.meshgrid(np.arange(m.shape[0]), np.arange(m.shape[1]), indexing="ij")
    return pd.DataFrame({"loss_class": i.ravel(), "input_class": j.ravel(), "value": m.ravel()})


def test_summary_of_a_hand_made_matrix():
    m = np.full((3, 3), 1.0) + np.diag([5.0, 5.0, 5.0])  # diagonal 6, off-diagonal 1
    s = diagonal_summary(_cells(m))
    assert s["diag_mean"] == 6.0 and s["offdiag_mean"] == 1.0 and s["diag_over_offdiag"] == 6.0
    assert s["offdiag_share"] == pytest.approx(6 / 24) and s["total"] == 24.0
    assert s["offdiag_cells"] == 6


def test_empty_or_zero_matrices_give_nan_not_errors():
    s = diagonal_summary(_cells(np.zeros((2, 2))))
    assert math.isnan(s["offdiag_share"]) and math.isnan(s["diag_over_offdiag"])
    s = diagonal_summary(_cells(np.ones((1, 1))))
    assert s["offdiag_cells"] == 0 and math.isnan(s["offdiag_mean"])
