"""Random draws for tensors with a leading member axis (K x ...): from one generator, or from one
generator per group of members.

A batched run of several specs (memcore.engine.batching) gives each spec's members exactly the
numbers that spec's own run draws: member group g (K_g members) takes its K_g x ... block from its
own generator, seeded as that spec's run seeds it. `MemberGenerators` holds those generators;
`rand` / `randn` take it, a torch.Generator or None, so code that draws K x ... noise (LASS,
regularizer masks, power iteration) has no branch for batched runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor


class MemberGenerators:
    """One generator per member group: groups[g] = (seed, K_g), in member order.

    Groups with the same (seed, K_g) draw identical blocks, so they share one generator and
    one draw (a noise sweep's specs usually share their train seed and member count)."""

    def __init__(self, groups: Sequence[tuple[int, int]], device: torch.device | str = "cpu"):
        if not groups:
            raise ValueError("MemberGenerators needs at least one member group")
        self.plan = [(int(seed), int(k)) for seed, k in groups]
        self.members = sum(k for _, k in self.plan)
        unique = dict.fromkeys(self.plan)
        self.gens = {key: torch.Generator(device=device).manual_seed(key[0]) for key in unique}

    def draw(self, fn: Callable[..., Tensor], shape, device, dtype) -> Tensor:
        shape = tuple(shape)
        if not shape or shape[0] != self.members:
            raise ValueError(f"a draw of shape {shape} needs a leading axis of {self.members}")
        blocks = {
            key: fn((key[1], *shape[1:]), generator=g, device=device, dtype=dtype)
            for key, g in self.gens.items()
        }
        parts = [blocks[key] for key in self.plan]
        return parts[0] if len(parts) == 1 else torch.cat(parts)


Source = torch.Generator | MemberGenerators | None


def rand(shape, generator: Source, *, device=None, dtype=None) -> Tensor:
    """Uniform [0, 1) draws of `shape` (K x ...) from `generator` (module docstring)."""
    if isinstance(generator, MemberGenerators):
        return generator.draw(torch.rand, shape, device, dtype)
    return torch.rand(shape, generator=generator, device=device, dtype=dtype)


def randn(shape, generator: Source, *, device=None, dtype=None) -> Tensor:
    """Standard normal draws of `shape` (K x ...) from `generator` (module docstring)."""
    if isinstance(generator, MemberGenerators):
        return generator.draw(torch.randn, shape, device, dtype)
    return torch.randn(shape, generator=generator, device=device, dtype=dtype)
