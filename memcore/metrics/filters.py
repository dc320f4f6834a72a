"""Structure of first-layer filters (PAPER.md 8; ICML Fig 2): real-data filters look smooth,
random-label filters look like noise.

structure = mean correlation between neighbouring weights of a filter (horizontal and vertical
neighbours for 2D filters, adjacent entries for 1D ones stored as 1 x W), after removing each
filter's mean: sum over neighbour pairs of f_a f_b / n_pairs, over sum f^2 / n. About
-1/(n-1) (near 0) for i.i.d. noise and at initialisation, large for smooth, structured filters;
nan for a constant filter.
"""

from __future__ import annotations

import numpy as np


def structure(f: np.ndarray) -> np.ndarray:
    """Neighbour correlation of each filter (... x H x W -> ...), mean removed per filter."""
    f = f - f.mean(axis=(-2, -1), keepdims=True)
    den = (f**2).sum(axis=(-2, -1))
    num = (f[..., :, 1:] * f[..., :, :-1]).sum(axis=(-2, -1))
    n_pairs = f.shape[-2] * (f.shape[-1] - 1)
    if f.shape[-2] > 1:
        num = num + (f[..., 1:, :] * f[..., :-1, :]).sum(axis=(-2, -1))
        n_pairs += (f.shape[-2] - 1) * f.shape[-1]
    n = f.shape[-2] * f.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (num / n_pairs) / (den / n)
