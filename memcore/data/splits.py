"""Seeded index selection: stratified train/validation splits and class-balanced subsets.

All functions take int64 labels y (N) and a torch.Generator, return ascending int64 indices and
are vectorised over examples (loops run over classes only). Within each class, examples are
ranked by one random permutation, so with the same generator state larger requests extend
smaller ones (nested subsets).
"""

from __future__ import annotations

import torch


def _grouped(y: torch.Tensor, n_classes: int, gen: torch.Generator):
    """Indices in random order grouped by class, their labels, and each one's rank in its class."""
    perm = torch.randperm(len(y), generator=gen)
    order = torch.argsort(y[perm], stable=True)
    idx = perm[order]
    ys = y[idx]
    counts = torch.bincount(ys, minlength=n_classes)
    rank = torch.arange(len(y)) - (torch.cumsum(counts, 0) - counts)[ys]
    return idx, ys, rank, counts


def stratified_split(
    y: torch.Tensor, fraction: float, n_classes: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, val indices), ascending: round(fraction * count) of each class to val."""
    idx, ys, rank, counts = _grouped(y, n_classes, gen)
    is_val = rank < torch.round(counts * fraction).long()[ys]
    return idx[~is_val].sort().values, idx[is_val].sort().values


def balanced_counts(counts: list[int], n: int, gen: torch.Generator) -> list[int]:
    """Per-class sizes summing to n, as equal as the class counts allow (water filling); the
    classes that get one extra example are chosen by `gen`. Loops over classes, not examples."""
    k = [0] * len(counts)
    left = n
    open_ = [c for c in torch.randperm(len(counts), generator=gen).tolist() if counts[c] > 0]
    while left > 0 and open_:
        share = left // len(open_)
        if share == 0:
            for c in open_[:left]:
                k[c] += 1
            break
        for c in open_:
            take = min(share, counts[c] - k[c])
            k[c] += take
            left -= take
        open_ = [c for c in open_ if k[c] < counts[c]]
    return k


def subset(
    y: torch.Tensor, n: int, balanced: bool, n_classes: int, gen: torch.Generator
) -> torch.Tensor:
    """Ascending indices of an n-example subset (class-balanced or uniform at random)."""
    if not balanced:
        return torch.randperm(len(y), generator=gen)[:n].sort().values
    idx, ys, rank, counts = _grouped(y, n_classes, gen)
    k = torch.tensor(balanced_counts(counts.tolist(), n, gen))
    return idx[rank < k[ys]].sort().values
