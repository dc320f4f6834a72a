"""Tolerances from the measured spread (metrics.spread) against slow, obvious references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from memcore.metrics import spread


def test_standard_error_and_differences():
    assert spread.standard_error([1.0, 3.0]) == pytest.approx(1.0)
    assert math.isnan(spread.standard_error([1.0]))
    d, se = spread.difference([1, 3], [0, 0, 0])
    assert d == pytest.approx(2.0) and se == pytest.approx(1.0)
    d, se = spread.paired([3, 5, 7], [1, 2, 3])
    assert d == pytest.approx(3.0) and se == pytest.approx(1.0 / math.sqrt(3))


def test_slope_matches_the_textbook_formula():
    rng = np.random.default_rng(0)
    x = np.repeat(np.arange(5.0), 3)
    y = 2 * x + rng.normal(size=x.size)
    b, se = spread.slope(x, y)
    xc = x - x.mean()
    b_ref = (xc * (y - y.mean())).sum() / (xc**2).sum()
    resid = y - (y.mean() + b_ref * xc)
    assert b == pytest.approx(b_ref)
    assert se == pytest.approx(math.sqrt((resid**2).sum() / (len(x) - 2) / (xc**2).sum()))
    assert math.isnan(spread.slope([1, 1, 1], [1, 2, 3])[0])


def test_ordering_reads_an_interval():
    assert spread.ordering(1.0, 0.1) == "holds"
    assert spread.ordering(-1.0, 0.1) == "fails"
    assert spread.ordering(0.0, 0.0) == "fails"  # exactly no difference, measured without noise
    assert spread.ordering(0.1, 0.1) == "inconclusive"
    assert spread.ordering(0.1, float("nan")) == "inconclusive"
    assert spread.ordering(1.0, 0.1, z=spread.z_for(1)) == "inconclusive"  # t(1) = 12.7


def test_t_quantiles_never_too_lenient():
    assert spread.z_for(1) == pytest.approx(12.71)
    assert spread.z_for(3) == pytest.approx(3.18)
    assert spread.z_for(11) == pytest.approx(2.23)  # the next smaller table entry (10)
    assert spread.z_for(1000) == spread.Z
    assert spread.z_for(0) == math.inf


def test_jitter_of_a_noisy_line():
    rng = np.random.default_rng(1)
    curve = np.linspace(0, 1, 4000) + rng.normal(scale=0.05, size=4000)
    assert spread.jitter(curve) == pytest.approx(0.05, rel=0.05)
    assert math.isnan(spread.jitter([1.0, 2.0]))


def test_bootstrap_se_of_a_mean_matches_the_standard_error():
    rng = np.random.default_rng(2)
    v = rng.normal(size=400)
    se = spread.bootstrap_se(np.mean, v, n=1000)
    assert se == pytest.approx(spread.standard_error(v), rel=0.1)


def test_members_needed_gives_the_textbook_sample_sizes():
    # Two groups, 80% power, 5% two-sided (Cohen 1988, Table 2.4.1): d = 0.5 -> 64, d = 0.8 -> 26,
    # d = 1 -> 17 per group; one sample / paired, d = 0.5 -> 34, d = 1 -> 10 (G*Power).
    assert spread.members_needed(0.5, 1.0) == 64
    assert spread.members_needed(0.8, 1.0) == 26
    assert spread.members_needed(2.0, 2.0) == 17  # only the ratio matters
    assert spread.members_needed(-0.5, 1.0, groups=1) == 34  # the sign does not matter
    assert spread.members_needed(1.0, 1.0, groups=1) == 10
    with pytest.raises(ValueError, match="sd > 0"):
        spread.members_needed(0.5, 0.0)


def test_to_decide_reads_the_spread_back_from_a_measured_standard_error():
    # 4 members per group measured difference 0.5 with s.e. sqrt(2 / 4) (sd 1): 64 per group.
    assert spread.to_decide(0.5, (2 / 4) ** 0.5, 4) == 64
    assert spread.to_decide(0.036, 0.012, 4, groups=1) == 6  # the unique-label Gini gap
    assert spread.to_decide(0.5, float("nan"), 4) is None and spread.to_decide(0.5, 0.1, 1) is None
