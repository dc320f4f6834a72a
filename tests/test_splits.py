"""data.splits: stratified splits and balanced subsets, checked against counting references."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.data.splits import balanced_counts, stratified_split, subset

labels = st.lists(st.integers(0, 4), min_size=1, max_size=200).map(
    lambda v: torch.tensor(v, dtype=torch.int64)
)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@settings(max_examples=100, deadline=None)
@given(labels, st.floats(0.0, 0.9), st.integers(0, 2**31 - 1))
def test_stratified_split_is_a_partition_with_per_class_fractions(y, frac, seed):
    tr, va = stratified_split(y, frac, 5, gen(seed))
    assert torch.equal(torch.cat([tr, va]).sort().values, torch.arange(len(y)))
    assert torch.equal(tr, tr.sort().values) and torch.equal(va, va.sort().values)
    for c in range(5):  # reference: a loop over classes
        n_c = int((y == c).sum())
        assert int((y[va] == c).sum()) == int(torch.round(torch.tensor(n_c * frac)))
    tr2, va2 = stratified_split(y, frac, 5, gen(seed))
    assert torch.equal(tr, tr2) and torch.equal(va, va2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=8), st.data())
def test_balanced_counts_water_fill(counts, data):
    n = data.draw(st.integers(0, sum(counts)))
    k = balanced_counts(counts, n, gen(data.draw(st.integers(0, 100))))
    assert sum(k) == n and all(0 <= a <= b for a, b in zip(k, counts, strict=True))
    # Classes not exhausted are within one of each other and at least as full as any other.
    open_ = [a for a, b in zip(k, counts, strict=True) if a < b]
    if open_:
        assert max(open_) - min(open_) <= 1 and max(k) <= min(open_) + 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=8), st.integers(0, 100))
def test_balanced_counts_grow_monotonically(counts, seed):
    prev = [0] * len(counts)
    for n in range(sum(counts) + 1):
        k = balanced_counts(counts, n, gen(seed))
        assert all(a >= b for a, b in zip(k, prev, strict=True)), (n, k, prev)
        prev = k


@settings(max_examples=100, deadline=None)
@given(labels, st.booleans(), st.integers(0, 1000), st.data())
def test_subsets_have_the_size_and_are_nested(y, balanced, seed, data):
    small = data.draw(st.integers(0, len(y)))
    big = data.draw(st.integers(small, len(y)))
    a = subset(y, small, balanced, 5, gen(seed))
    b = subset(y, big, balanced, 5, gen(seed))
    assert len(a) == small and len(b) == big and len(set(b.tolist())) == big
    assert set(a.tolist()) <= set(b.tolist())
    if balanced:
        counts = torch.bincount(y[b], minlength=5).tolist()
        avail = torch.bincount(y, minlength=5).tolist()
        assert counts == balanced_counts(avail, big, _after_perm(len(y), seed))


def _after_perm(n: int, seed: int) -> torch.Generator:
    """The generator state `subset` uses for its class counts (after its example permutation)."""
    g = gen(seed)
    torch.randperm(n, generator=g)
    return g
