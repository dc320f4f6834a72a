"""The dataset resident on the device, the tracked subset, and each member's data order.

The whole training and validation set live on the device as tensors (flattened to N x D for the
MLP, N x C x H x W for the CNN); a step gathers the next batch of every member at once
(x[idx_KxB]) from per-member permutations, with no DataLoader in the hot path.

Data order: member k's epoch-e order is a permutation from a generator seeded by
(seed + k, e), drawn once per epoch. The tracked subset (examples followed per example for
easiness, forgetting and data maps) comes from a generator seeded by (data.seed, 101), so it is
the same for every run on that data, and independent of which examples the noise corrupts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from memcore.engine.regularizers import mix_seed
from memcore.spec import RunSpec


@dataclass
class DeviceData:
    """Training inputs x and labels y (the possibly noisy ones), validation x_val/y_val, the
    noisy/clean masks (N, bool) on the device; tracked: sorted training indices (CPU, int64)."""

    x: Tensor
    y: Tensor
    x_val: Tensor
    y_val: Tensor
    noisy: Tensor
    clean: Tensor
    tracked: Tensor
    _buffers: dict[int, Tensor] = field(default_factory=dict, repr=False)

    @classmethod
    def put(cls, data: Any, spec: RunSpec, device: torch.device) -> DeviceData:
        """`data` (a memcore.data.loading.Dataset) on `device`, laid out for spec.model.arch;
        the tracked subset holds min(metrics.track_size, N) examples."""
        flat = spec.model.arch == "mlp"

        def put(x: Tensor) -> Tensor:
            x = x.to(device, torch.float32)
            return x.reshape(x.shape[0], math.prod(x.shape[1:])) if flat else x.contiguous()

        n = int(data.y_train.shape[0])
        noisy = data.noisy.to(device).bool()
        # not data.seed itself: noise.seed defaults to the same number, and the same
        # permutation would make the tracked subset the noisy examples first
        gen = torch.Generator().manual_seed(mix_seed(spec.data.seed, 101))
        t_n = min(spec.metrics.track_size, n)
        return cls(
            x=put(data.x_train),
            y=data.y_train.to(device),
            x_val=put(data.x_val),
            y_val=data.y_val.to(device),
            noisy=noisy,
            clean=~noisy,
            tracked=torch.randperm(n, generator=gen)[:t_n].sort().values,
        )

    @property
    def n(self) -> int:
        """Training examples."""
        return int(self.y.shape[0])

    def gather(self, idx_KxB: Tensor) -> tuple[Tensor, Tensor]:
        """Batch x (K x B x ...) and labels (K x B) for all members, into a reused buffer."""
        K, b = idx_KxB.shape
        flat_idx = idx_KxB.reshape(-1)
        buf = self._buffers.get(b)
        if buf is None:
            buf = self._buffers[b] = torch.empty((K * b, *self.x.shape[1:]), device=self.x.device)
        torch.index_select(self.x, 0, flat_idx, out=buf)
        return buf.view(K, b, *self.x.shape[1:]), self.y[flat_idx].view(K, b)


def permutations(n: int, members: int, seed: int, epoch: int, device: torch.device) -> Tensor:
    """K x N: member k's order in `epoch`, from a generator seeded by (seed + k, epoch)."""
    perms = [
        torch.randperm(n, generator=torch.Generator().manual_seed(mix_seed(seed + k, epoch)))
        for k in range(members)  # once per epoch, not per step
    ]
    return torch.stack(perms).to(device)
