"""Filter structure (neighbour correlation) on noise, smooth blobs and 1D strips."""

from __future__ import annotations

import numpy as np

from memcore.metrics.filters import structure


def test_structure_is_high_for_blobs_and_near_zero_for_noise():
    rng = np.random.default_rng(0)
    s = structure(rng.normal(size=(2000, 5, 5)))
    assert abs(s.mean() + 1 / 24) < 0.02  # removing the mean leaves -1/(n-1) for i.i.d. noise
    yy, xx = np.mgrid[0:5, 0:5]
    assert structure(np.exp(-((yy - 2) ** 2 + (xx - 2) ** 2) / 3)) > 0.3


def test_structure_matches_a_loop_over_neighbour_pairs():
    rng = np.random.default_rng(1)
    for shape in ((4, 6), (1, 40)):
        f = rng.normal(size=shape)
        g = f - f.mean()
        h, w = shape
        pairs = [g[i, j] * g[i, j + 1] for i in range(h) for j in range(w - 1)]
        pairs += [g[i, j] * g[i + 1, j] for i in range(h - 1) for j in range(w)]
        ref = (sum(pairs) / len(pairs)) / ((g**2).sum() / g.size)
        assert np.isclose(structure(f), ref)
