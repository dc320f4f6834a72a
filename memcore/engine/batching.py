"""One engine run of several specs of the same shape: a batched sweep.

The specs of a figure's sweep often differ only in their noise (kind, level, seed, how inputs or
labels are drawn) and seeds: one batched run trains them all as one ensemble. Spec s's members
are the rows `slices[s]` of the ensemble; each member is initialised, ordered, masked and
measured with its own spec's seeds and data (its own labels, and inputs for randX), so spec s's
records from the batched run equal those of its own run (up to float rounding, and the wall
times). `split` turns the batched run's records back into each spec's records.

`shape_key(spec)` says which specs can share a run: everything but the noise (except
noise.labels, which sets the class count), train.seed, train.members and the regularizer's
strengths must be equal. Not batched: the sensitivity task, and adversarial training (its LASS
runs until every member of the batch stops, which changes the adversarial inputs of the others).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from memcore.metrics.draws import MemberGenerators
from memcore.spec import RunSpec

# Fields that may differ between the specs of one batched run.
FREE_FIELDS = {
    "noise": ("kind", "level", "seed", "x_stats", "y_mode"),
    "train": ("seed", "members", "strength", "member_strengths"),
}
MAX_MEMBERS = 128  # members of one batched run at most (memory grows with the members)


def shape_key(spec: RunSpec) -> str:
    """Specs with equal keys can be trained as one batched run (module docstring)."""
    if spec.task != "train" or spec.train.regularizer == "adversarial":
        return "alone:" + spec.key
    d = spec.to_dict()
    for section, names in FREE_FIELDS.items():
        for name in names:
            d[section].pop(name)
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


def groups(specs: Iterable[RunSpec], max_members: int = MAX_MEMBERS) -> list[list[RunSpec]]:
    """`specs` (duplicates dropped) in batches of one shape and at most `max_members` members
    (a spec with more members is a batch of its own); the order of first appearance is kept."""
    by_key: dict[str, list[list[RunSpec]]] = {}
    seen: set[str] = set()
    for s in specs:
        if s.key in seen:
            continue
        seen.add(s.key)
        bins = by_key.setdefault(shape_key(s), [])
        if bins and sum(x.train.members for x in bins[-1]) + s.train.members <= max_members:
            bins[-1].append(s)
        else:
            bins.append([s])
    return [b for bins in by_key.values() for b in bins]


@dataclass(frozen=True)
class Batch:
    """Specs of one shape trained as one run; spec s owns the members `slices[s]`."""

    specs: tuple[RunSpec, ...]

    def __post_init__(self) -> None:
        if not self.specs:
            raise ValueError("a batch needs at least one spec")
        keys = {shape_key(s) for s in self.specs}
        if len(self.specs) > 1 and len(keys) > 1:
            raise ValueError("a batch's specs must have the same shape (batching.shape_key)")
        if len({s.key for s in self.specs}) != len(self.specs):
            raise ValueError("a batch holds each spec once")

    @classmethod
    def of(cls, spec_or_batch: RunSpec | Batch | Sequence[RunSpec]) -> Batch:
        if isinstance(spec_or_batch, Batch):
            return spec_or_batch
        if isinstance(spec_or_batch, RunSpec):
            return cls((spec_or_batch,))
        return cls(tuple(spec_or_batch))

    @property
    def base(self) -> RunSpec:
        """The first spec: its shape fields are the batch's."""
        return self.specs[0]

    @property
    def members(self) -> int:
        return sum(s.train.members for s in self.specs)

    @property
    def slices(self) -> list[slice]:
        out, a = [], 0
        for s in self.specs:
            out.append(slice(a, a + s.train.members))
            a += s.train.members
        return out

    @property
    def member_spec(self) -> list[int]:
        """The spec index of each member (K)."""
        return [i for i, s in enumerate(self.specs) for _ in range(s.train.members)]

    @property
    def member_seeds(self) -> list[int]:
        """Member k's seed: its spec's train.seed + its index within that spec."""
        return [s.train.seed + k for s in self.specs for k in range(s.train.members)]

    @property
    def strengths(self) -> tuple[float, ...]:
        """Regularizer strength of each member."""
        return tuple(x for s in self.specs for x in s.train.strengths)

    def generator(
        self, seed_of: Callable[[int], int], device: torch.device
    ) -> torch.Generator | MemberGenerators:
        """Each spec's members draw from a generator seeded seed_of(spec.train.seed): a plain
        generator for one spec, else one per spec (metrics.draws)."""
        if len(self.specs) == 1:
            return torch.Generator(device=device).manual_seed(seed_of(self.base.train.seed))
        plan = [(seed_of(s.train.seed), s.train.members) for s in self.specs]
        return MemberGenerators(plan, device)

    # -- records back per spec ---------------------------------------------------------------
    def split(self, record: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
        """The batched run's record as (spec index, that spec's record) pairs: a per-member
        record goes to its spec with the member renumbered; arrays and checkpoints are sliced
        (an arrays record's "spec_arrays", one dict per spec such as its critical pairs, join
        that spec's arrays)."""
        kind = record["type"]
        if "member" in record:
            s = self.member_spec[record["member"]]
            k = record["member"] - self.slices[s].start
            return [(s, {**record, "member": k})]
        if kind == "arrays":  # per-member arrays sliced; "spec_arrays" (per spec) joined
            own = record.get("spec_arrays") or [{} for _ in self.specs]
            rest = {k: v for k, v in record.items() if k != "spec_arrays"}
            return [
                (i, {**rest, "arrays": {n: a[sl] for n, a in record["arrays"].items()} | own[i]})
                for i, sl in enumerate(self.slices)
            ]
        if kind == "checkpoint":
            return [
                (i, {**record, "state": self.state_of(record["state"], i)})
                for i in range(len(self.specs))
            ]
        raise ValueError(f"batching.split: a {kind!r} record is made per spec, not split")

    def state_of(self, state: dict[str, Any], i: int) -> dict[str, Any]:
        """Spec i's share of a batched run's resume state (every tensor member-major)."""
        sl, K = self.slices[i], self.members
        return {
            **state,
            "model": {n: _rows(t, sl, K) for n, t in state["model"].items()},
            "momentum": [_rows(t, sl, K) for t in state["momentum"]],
            "best_val": list(state["best_val"][sl]),
            "key": self.specs[i].key,
        }


def _rows(t: torch.Tensor | np.ndarray, sl: slice, K: int):
    """Members `sl` of a member-major tensor whose first axis holds K blocks (K x ... params,
    K*C BatchNorm statistics)."""
    per = t.shape[0] // K
    return t[sl.start * per : sl.stop * per].clone()
