"""memcore.metrics.gini: the Gini coefficient's properties, an independent definition, and the
values of the former copy in metrics.sensitivity on fixed inputs."""

from __future__ import annotations

import numpy as np
import pytest

from memcore.metrics.gini import gini


def test_gini_properties():
    rng = np.random.default_rng(0)
    v = rng.exponential(size=50)
    assert gini(np.ones(7)) == pytest.approx(0.0, abs=1e-12)
    onehot = np.zeros(10)
    onehot[3] = 2.5
    assert gini(onehot) == pytest.approx(9 / 10)
    assert gini(rng.permutation(v)) == pytest.approx(gini(v))
    assert gini(7.3 * v) == pytest.approx(gini(v))
    # Independent definition: mean absolute difference / (2 * mean).
    ref = np.abs(v[:, None] - v[None, :]).sum() / (2 * len(v) ** 2 * v.mean())
    assert gini(v) == pytest.approx(ref)
    assert gini(np.zeros(4)) == 0.0 and gini([]) == 0.0


def test_gini_matches_the_former_sensitivity_copy_on_fixed_inputs():
    # values of metrics.sensitivity.gini before it moved here
    assert gini([1.0, 2.0, 3.0, 4.0]) == pytest.approx(0.25, abs=1e-15)
    assert gini(np.array([[3.0, -1.0], [0.0, 0.0]])) == pytest.approx(0.625, abs=1e-15)
    assert gini(np.arange(10.0)) == pytest.approx(11 / 30, abs=1e-15)
