"""The Gini coefficient (PAPER.md item 4; ICML Fig 3): how unequally a non-negative quantity, the
loss-sensitivity of each training example, is spread over the examples.

    G = 2 sum_i i g_(i) / (n sum_i g_i) - (n + 1) / n,   g_(1) <= ... <= g_(n) sorted ascending,

equal to the mean absolute difference over all pairs divided by twice the mean. G = 0 when all
values are equal, (n - 1) / n when one value is non-zero; it ignores the values' scale and order.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def gini(values: Any) -> float:
    """Gini coefficient of the absolute values of `values` (any shape, flattened); 0 for empty or
    all-zero input."""
    g = np.sort(np.abs(np.asarray(values, dtype=np.float64).ravel()))
    n, total = g.size, g.sum()
    if n == 0 or total == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(2 * np.sum(i * g) / (n * total) - (n + 1) / n)
