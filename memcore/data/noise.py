"""Noise injection (PAPER.md "Data and noise"): randX, randY and unique labels.

`apply(ds, noise)` is a pure function of (dataset, NoiseSpec). With N training examples and level
p, exactly m = round(p * N) examples (Python's round: halves go to even) are chosen: the first m
of a permutation drawn from a torch.Generator seeded with noise.seed, so with the same seed a
higher level corrupts a superset of the examples.

- randX: the chosen inputs become i.i.d. Gaussian noise with the clean training set's mean and
  standard deviation (population std): one scalar pair (x_stats=global), one per channel
  (channel: dim 1 of N x C x ...), or one per input position (pixel). Labels are kept. The noise
  is not clipped to [0, 1].
- randY: the chosen labels are redrawn uniformly over all classes (y_mode=uniform; the draw may
  equal the true label and the example still counts as noisy, as in Zhang et al. 2017) or
  uniformly over the other classes (y_mode=other; never the true label).
- unique labels (noise.labels=unique): y_train = arange(N) and n_classes = N, before randX/randY
  (randY then draws among the N labels). y_clean keeps the original class labels.

The result's `noisy` marks the chosen examples and `y_clean` the labels before noise; validation
data are untouched. Nothing is modified in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from memcore.data.loading import Dataset, load
from memcore.spec import NoiseSpec, RunSpec


def n_noisy(level: float, n: int) -> int:
    """Number of corrupted examples: round(level * n)."""
    return round(level * n)


def _choose(n: int, noise: NoiseSpec) -> tuple[torch.Tensor, torch.Generator]:
    """The corrupted examples (permutation order) and the generator that drew them, which then
    draws the noise itself."""
    gen = torch.Generator().manual_seed(noise.seed)
    return torch.randperm(n, generator=gen)[: n_noisy(noise.level, n)], gen


def chosen(n: int, noise: NoiseSpec) -> torch.Tensor:
    """Indices (ascending) of the round(level * n) examples the noise corrupts."""
    return _choose(n, noise)[0].sort().values


def gaussian_like(x: torch.Tensor, m: int, x_stats: str, gen: torch.Generator) -> torch.Tensor:
    """m draws shaped like x's examples from N(mean, std) with x's statistics (see module doc)."""
    dims = {"global": tuple(range(x.dim())), "channel": (0, *range(2, x.dim())), "pixel": (0,)}
    reduce = dims[x_stats]
    mean = x.mean(dim=reduce, keepdim=True)
    std = x.std(dim=reduce, keepdim=True, correction=0)
    z = torch.randn((m, *x.shape[1:]), generator=gen, dtype=x.dtype)
    return mean + std * z


def apply(ds: Dataset, noise: NoiseSpec) -> Dataset:
    """The clean dataset `ds` (from `load`) with noise applied; `ds` itself is not changed."""
    if bool(ds.noisy.any()):
        raise ValueError("noise.apply needs a clean dataset (from loading.load); got a noisy one")
    n = ds.n_train
    y, n_classes = ds.y_clean, ds.n_classes
    if noise.labels == "unique":
        y, n_classes = torch.arange(n), n
    x = ds.x_train
    noisy = torch.zeros(n, dtype=torch.bool)
    if noise.kind != "none":
        idx, gen = _choose(n, noise)
        noisy[idx] = True
        if noise.kind == "randX":
            x = x.clone()
            x[idx] = gaussian_like(ds.x_train, len(idx), noise.x_stats, gen)
        elif noise.y_mode == "uniform":
            y = y.clone()
            y[idx] = torch.randint(0, n_classes, (len(idx),), generator=gen)
        else:  # a uniform shift in 1..C-1 lands uniformly on the other classes
            if n_classes < 2:
                raise ValueError("noise.y_mode='other' is invalid: needs at least 2 classes")
            y = y.clone()
            y[idx] = (y[idx] + torch.randint(1, n_classes, (len(idx),), generator=gen)) % n_classes
    return dataclasses.replace(ds, x_train=x, y_train=y, noisy=noisy, n_classes=n_classes)


def prepare(spec: RunSpec, root=None) -> Dataset:
    """The training data of a run: apply(load(spec.data, root), spec.noise)."""
    return apply(load(spec.data, root), spec.noise)


def prepare_batch(specs: Sequence[RunSpec], root=None) -> list[Dataset]:
    """The training data of each spec of a batched run (equal data sections): the data loaded
    once, each spec's noise applied to it; specs without randX share the clean inputs."""
    if len({s.data for s in specs}) != 1:
        raise ValueError("prepare_batch: the specs of a batched run must have equal data fields")
    clean = load(specs[0].data, root)
    return [apply(clean, s.noise) for s in specs]
