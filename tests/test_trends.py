"""Curve and sweep statistics the checks state their claims with, against loops."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from memcore.metrics import trends


def test_spearman_handles_ties_and_constants():
    assert trends.spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert trends.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert trends.spearman([1, 2, 3, 4], [1, 1, 2, 2]) == pytest.approx(0.8944, abs=1e-4)
    assert math.isnan(trends.spearman([1, 2, 3], [5, 5, 5]))
    assert math.isnan(trends.spearman([1], [2]))


def test_near_best_is_the_smallest_index_within_tol_of_the_maximum():
    curve = pd.Series({256: 0.95, 8: 0.7, 64: 0.945, 16: 0.9})
    assert trends.near_best(curve, 0.01) == 64
    assert trends.near_best(curve, 0.1) == 16
    assert trends.near_best(curve, 0.0) == 256


def test_curve_changes_match_loops():
    rng = np.random.default_rng(0)
    for n in (2, 3, 7, 10):
        a = pd.Series(rng.random(n), index=np.arange(1, n + 1) * 3.0)
        b = pd.Series(rng.random(n), index=a.index)
        assert trends.fraction_above(a, b) == sum(x > y for x, y in zip(a, b, strict=True)) / n
        third = max(1, n // 3)
        early, late = trends.early_late_change(a)
        assert early == a.iloc[third] - a.iloc[0] and late == a.iloc[-1] - a.iloc[n - 1 - third]


def test_peaks_then_falls():
    v = pd.Series([0.9, 0.5, 0.7, 0.6], index=[0, 1, 2, 3])  # epoch 0 is ignored
    assert trends.peaks_then_falls(v, 0.05)
    assert not trends.peaks_then_falls(v, 0.2)  # fell by only 0.1
    assert not trends.peaks_then_falls(pd.Series([0.1, 0.5, 0.7], index=[0, 1, 2]), 0.0)
    assert not trends.peaks_then_falls(pd.Series([0.9], index=[0]), 0.0)


def test_rise_epoch_is_when_most_of_the_change_from_the_first_point_is_covered():
    fast = pd.Series([0.16, 0.22, 0.23, 0.23, 0.23], index=[0, 1, 2, 20, 200])
    slow = pd.Series([0.16, 0.17, 0.2, 0.3, 0.44], index=[0, 1, 2, 20, 200])
    assert trends.rise_epoch(fast, 0.8) == 1
    assert trends.rise_epoch(slow, 0.8) == 200
    assert trends.rise_epoch(pd.Series([0.16, 0.05, 0.03], index=[0, 2, 200]), 0.8) == 2  # a fall
    assert np.isnan(trends.rise_epoch(pd.Series([0.2, 0.2], index=[0, 5])))
