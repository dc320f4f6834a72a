"""The dataset resident on the device, the tracked subset, and each member's data order.

The whole training and validation set live on the device as tensors (flattened to N x D for the
MLP, N x C x H x W for the CNN); a step gathers the next batch of every member at once
(x[idx_KxB]) from per-member permutations, with no DataLoader in the hot path.

A batched run of several specs (engine.batching) keeps each spec's training labels and noisy
mask (S x N; member k reads row `segment[k]`). Training inputs stay one shared N x ... tensor
unless a spec has randX: then they are U x N x ... (the clean inputs once, if any spec uses
them, and each randX spec's own), and member k reads row `x_member[k]`. Validation data are
shared.

Data order: member k's epoch-e order is a permutation from a generator seeded by
(seed_k, e), seed_k = its spec's train.seed + its index there, drawn once per epoch. The tracked
subset (examples followed per example for easiness, forgetting and data maps) comes from a
generator seeded by (data.seed, 101), so it is the same for every run on that data, and
independent of which examples the noise corrupts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from memcore.engine.regularizers import mix_seed
from memcore.spec import RunSpec


@dataclass
class DeviceData:
    """Training inputs x (N x ..., or U x N x ... with x_member), labels y and noisy/clean masks
    (S x N, one row per spec; member k's row: segment[k]), validation x_val/y_val on the device;
    tracked: sorted training indices (CPU, int64)."""

    x: Tensor
    y: Tensor
    x_val: Tensor
    y_val: Tensor
    noisy: Tensor
    clean: Tensor
    tracked: Tensor
    segment: Tensor  # K, long: the spec (row of y/noisy) of each member
    x_member: Tensor | None = None  # K, long: the row of x of each member; None: x shared
    _buffers: dict[int, Tensor] = field(default_factory=dict, repr=False)

    @classmethod
    def put(
        cls,
        data: Any | Sequence[Any],
        spec: RunSpec,
        device: torch.device,
        segment: Sequence[int] | None = None,
    ) -> DeviceData:
        """`data` (a memcore.data.loading.Dataset, or one per spec of a batched run, with
        segment[k] = member k's spec) on `device`, laid out for spec.model.arch; the tracked
        subset holds min(metrics.track_size, N) examples."""
        flat = spec.model.arch == "mlp"
        datasets = list(data) if isinstance(data, (list, tuple)) else [data]
        segment = list(segment) if segment is not None else [0] * spec.train.members

        def put(x: Tensor) -> Tensor:
            x = x.to(device, torch.float32)
            return x.reshape(x.shape[0], math.prod(x.shape[1:])) if flat else x.contiguous()

        # one input tensor per distinct input set: the clean one once, each randX one
        rows: dict[int, int] = {}
        inputs: list[Tensor] = []
        of_spec = []
        for ds in datasets:
            if id(ds.x_train) not in rows:
                rows[id(ds.x_train)] = len(inputs)
                inputs.append(ds.x_train)
            of_spec.append(rows[id(ds.x_train)])
        if len(inputs) == 1:
            x, x_member = put(inputs[0]), None
        else:
            x = torch.stack([put(t) for t in inputs])
            x_member = torch.tensor([of_spec[s] for s in segment], device=device)
        n = int(datasets[0].y_train.shape[0])
        noisy = torch.stack([ds.noisy for ds in datasets]).to(device).bool()
        # not data.seed itself: noise.seed defaults to the same number, and the same
        # permutation would make the tracked subset the noisy examples first
        gen = torch.Generator().manual_seed(mix_seed(spec.data.seed, 101))
        t_n = min(spec.metrics.track_size, n)
        return cls(
            x=x,
            y=torch.stack([ds.y_train for ds in datasets]).to(device),
            x_val=put(datasets[0].x_val),
            y_val=datasets[0].y_val.to(device),
            noisy=noisy,
            clean=~noisy,
            tracked=torch.randperm(n, generator=gen)[:t_n].sort().values,
            segment=torch.tensor(segment, device=device),
            x_member=x_member,
        )

    @property
    def n(self) -> int:
        """Training examples."""
        return int(self.y.shape[1])

    @property
    def example_shape(self) -> tuple[int, ...]:
        """The shape of one training input."""
        return tuple(self.x.shape[1:] if self.x_member is None else self.x.shape[2:])

    def member_inputs(self, idx: Tensor) -> Tensor:
        """Training inputs `idx` (a 1-D index): shared (n x ...) or per member (K x n x ...)."""
        if self.x_member is None:
            return self.x[idx]
        return self.x[:, idx].index_select(0, self.x_member)

    def member_labels(self, idx: Tensor | slice = slice(None)) -> Tensor:
        """Training labels of every member, K x n."""
        return self.y[:, idx].index_select(0, self.segment)

    def gather(self, idx_KxB: Tensor) -> tuple[Tensor, Tensor]:
        """Batch x (K x B x ...) and labels (K x B) for all members, into a reused buffer."""
        K, b = idx_KxB.shape
        shape = self.example_shape
        buf = self._buffers.get(b)
        if buf is None:
            buf = self._buffers[b] = torch.empty((K * b, *shape), device=self.x.device)
        if self.x_member is None:
            torch.index_select(self.x, 0, idx_KxB.reshape(-1), out=buf)
        else:  # member k reads row x_member[k] of the U x N x ... inputs
            rows = (idx_KxB + (self.x_member * self.n).unsqueeze(1)).reshape(-1)
            torch.index_select(self.x.view(-1, *shape), 0, rows, out=buf)
        labels = self.y.view(-1)[(idx_KxB + (self.segment * self.n).unsqueeze(1)).reshape(-1)]
        return buf.view(K, b, *shape), labels.view(K, b)


def permutations(
    n: int, members: int, seed: int | Sequence[int], epoch: int, device: torch.device
) -> Tensor:
    """K x N: member k's order in `epoch`, from a generator seeded by (seed + k, epoch), or by
    (seed[k], epoch) when one seed per member is given."""
    seeds = [seed + k for k in range(members)] if isinstance(seed, int) else list(seed)
    perms = [
        torch.randperm(n, generator=torch.Generator().manual_seed(mix_seed(sd, epoch)))
        for sd in seeds  # once per epoch, not per step
    ]
    return torch.stack(perms).to(device)


def check_fit(data: Any, spec: RunSpec) -> int:
    """The number of training examples of `data` (a Dataset); ValueError naming the field when
    `spec` cannot train on it (an empty set, a batch larger than the set, a CNN on non-images)."""
    n = int(data.y_train.shape[0])
    if n == 0:
        raise ValueError("data.train_size: the training set is empty")
    if spec.train.batch_size > n:
        raise ValueError(
            f"train.batch_size={spec.train.batch_size} is invalid: larger than the training set "
            f"({n} examples)"
        )
    if spec.model.arch == "cnn" and len(data.input_shape) != 3:
        raise ValueError(
            f"model.arch='cnn' needs image data; {data.name} has input shape "
            f"{tuple(data.input_shape)}"
        )
    return n
