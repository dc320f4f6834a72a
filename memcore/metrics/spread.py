"""Tolerances from the measured spread: how sure a difference or a trend is, given the spread
across members (seeds) or examples. The figures' checks decide with these, never with fixed
constants.

- standard error of a mean: sample std (ddof 1) / sqrt(n); nan with fewer than 2 values.
- difference of means (unpaired): mean(a) - mean(b) with the Welch standard error
  sqrt(se(a)^2 + se(b)^2).
- paired difference: the mean and standard error of a - b, pair by pair (same seed, same probe).
- slope: least-squares slope of y on x with its standard error (residual spread; every member's
  value is one point, so the spread across members enters).
- jitter: the point-to-point noise of a curve over epochs, std of its first differences / sqrt(2)
  (for a smooth curve plus independent noise of std s, the differences have std s*sqrt(2)).
- ordering: a three-way reading of "the difference is positive": "holds" when diff - z*se > 0,
  "fails" when diff + z*se <= 0 (the claimed ordering is confidently absent: the interval sits at
  or below 0), "inconclusive" when the interval straddles 0. z = Student's t 97.5% quantile for
  the se's degrees of freedom (`z_for`; 12.7 for 1, 4.3 for 2, 2.0 from about 60; Z = 2 when the
  se does not come from a few values, e.g. a binomial or a bootstrap).
- bootstrap standard error: the std of a statistic over resamples (with replacement) of the
  examples, for statistics of many examples with no closed-form error (e.g. a dispersion index).
- power (members to decide): the smallest n per group such that a two-sided t test at level
  ALPHA detects a true difference `effect` with probability POWER, given the spread `sd` of
  one member's value (two groups: Welch-like with equal n and sd, dof 2(n - 1); paired or one
  sample: dof n - 1), from the noncentral t distribution (scipy.stats.nct). The textbook case:
  effect = sd / 2, two groups, 80% power, 5% level -> 64 per group (Cohen 1988, Table 2.4.1).
  The figures choose their member/seed counts with it from measured spreads, before looking at
  a verdict, and an inconclusive verdict says how many members would decide it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

Z = 2.0
ALPHA = 0.05  # two-sided level of the power calculation
POWER = 0.8  # probability of deciding a true effect of the measured size
MAX_MEMBERS = 10_000  # members_needed gives up beyond this (the effect is negligible)
# Student's t, 97.5% quantile, by degrees of freedom (two-sided 95%).
_T975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26,
         10: 2.23, 12: 2.18, 15: 2.13, 20: 2.09, 30: 2.04, 60: 2.0}  # fmt: skip


def z_for(dof: int) -> float:
    """The t 97.5% quantile for `dof` degrees of freedom (the table's next smaller entry, so
    never too lenient); Z beyond 60; inf below 1 (no spread can be measured)."""
    if dof < 1:
        return float("inf")
    return _T975[max(k for k in _T975 if k <= dof)] if dof <= 60 else Z


def standard_error(values: Iterable[float]) -> float:
    """std (ddof 1) / sqrt(n) of the finite values; nan with fewer than 2."""
    v = np.asarray(list(values), dtype=float)
    v = v[np.isfinite(v)]
    return float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) >= 2 else float("nan")


def difference(a: Iterable[float], b: Iterable[float]) -> tuple[float, float]:
    """(mean(a) - mean(b), Welch standard error); se nan when either side has < 2 values."""
    a, b = np.asarray(list(a), dtype=float), np.asarray(list(b), dtype=float)
    se = math.hypot(standard_error(a), standard_error(b))
    return float(a.mean() - b.mean()), se


def paired(a: Iterable[float], b: Iterable[float]) -> tuple[float, float]:
    """(mean of a - b, its standard error), pair by pair."""
    d = np.asarray(list(a), dtype=float) - np.asarray(list(b), dtype=float)
    return float(d.mean()), standard_error(d)


def slope(x: Iterable[float], y: Iterable[float]) -> tuple[float, float]:
    """(least-squares slope of y on x, its standard error); se nan with < 3 points or constant x."""
    x, y = np.asarray(list(x), dtype=float), np.asarray(list(y), dtype=float)
    sxx = float(((x - x.mean()) ** 2).sum())
    if len(x) < 2 or sxx == 0:
        return float("nan"), float("nan")
    b = float(((x - x.mean()) * (y - y.mean())).sum() / sxx)
    if len(x) < 3:
        return b, float("nan")
    resid = y - y.mean() - b * (x - x.mean())
    return b, float(np.sqrt((resid**2).sum() / (len(x) - 2) / sxx))


def jitter(curve: Iterable[float]) -> float:
    """Point-to-point noise of a curve: std (ddof 1) of its first differences / sqrt(2); nan with
    fewer than 3 points."""
    d = np.diff(np.asarray(list(curve), dtype=float))
    return float(d.std(ddof=1) / np.sqrt(2)) if len(d) >= 2 else float("nan")


def ordering(diff: float, se: float, z: float = Z) -> str:
    """ "holds" / "fails" / "inconclusive" for the claim diff > 0 (module docstring); a nan diff
    or se is inconclusive."""
    if not (np.isfinite(diff) and np.isfinite(se)):
        return "inconclusive"
    if diff - z * se > 0:
        return "holds"
    if diff + z * se <= 0:
        return "fails"
    return "inconclusive"


def bootstrap_se(
    stat: Callable[..., float], *columns: np.ndarray, n: int = 200, seed: int = 0
) -> float:
    """Std (ddof 1) of stat(*columns) over n resamples of the rows (the same rows in every
    column), non-finite resamples dropped; nan with fewer than 2 finite ones."""
    cols = [np.asarray(c) for c in columns]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(cols[0]), size=(n, len(cols[0])))
    vals = np.array([stat(*(c[i] for c in cols)) for i in idx], dtype=float)
    vals = vals[np.isfinite(vals)]
    return float(vals.std(ddof=1)) if len(vals) >= 2 else float("nan")


def members_needed(
    effect: float, sd: float, *, groups: int = 2, alpha: float = ALPHA, power: float = POWER
) -> int:
    """Smallest n per group so a two-sided t test at `alpha` detects `effect` with probability
    `power` when one member's value has std `sd` (module docstring). `groups` 2: two
    independent groups of n (the standard error of the difference is sd sqrt(2 / n), dof
    2(n - 1)); 1: one sample or paired differences (sd / sqrt(n), dof n - 1). ValueError for a
    non-positive sd or a zero effect; MAX_MEMBERS + 1 when even that many would not do."""
    from scipy import stats  # scikit-learn's dependency; imported here, only the planner needs it

    if not (np.isfinite(effect) and np.isfinite(sd)) or sd <= 0 or effect == 0:
        raise ValueError(f"effect={effect!r}, sd={sd!r} are invalid: need effect != 0, sd > 0")
    if groups not in (1, 2):
        raise ValueError(f"groups={groups!r} is invalid: must be 1 (paired) or 2")
    for n in range(2, MAX_MEMBERS + 1):
        dof = groups * (n - 1)
        ncp = abs(effect) / (sd * math.sqrt(groups / n))
        crit = stats.t.ppf(1 - alpha / 2, dof)
        if stats.nct.sf(crit, dof, ncp) + stats.nct.cdf(-crit, dof, ncp) >= power:
            return n
    return MAX_MEMBERS + 1


def to_decide(diff: float, se: float, n: int, *, groups: int = 2) -> int | None:
    """Members (per group) that would decide a difference `diff` measured with standard error
    `se` from `n` members per group (sd = se * sqrt(n / groups)); None when nothing can be
    said (nan, a zero spread, or fewer than 2 members)."""
    if n < 2 or not (np.isfinite(diff) and np.isfinite(se)) or se <= 0 or diff == 0:
        return None
    return members_needed(diff, se * math.sqrt(n / groups), groups=groups)
