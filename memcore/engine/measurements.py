"""What the engine measures during training besides loss and accuracy, with the metric
definitions of memcore.metrics: the critical sample ratio ("csr" records), sharpness
("sharpness" records) and the first-layer filters (an "arrays" entry).

- CSR: every member on one fixed probe set of up to metrics.csr_probes examples (validation data
  when metrics.csr_set is "val" and there is any, else training data), drawn once with a
  generator seeded by (data.seed, 255); the LASS noise of epoch e comes from a generator seeded
  by (train.seed, e, 3) (per spec in a batched run: engine.batching).
- Sharpness: the top Hessian eigenvalue of each member's mean cross-entropy on up to
  SHARPNESS_EXAMPLES training examples (the tracked ones first), in eval mode (BatchNorm with
  running statistics: a fixed function of the weights); start vector seeded by (train.seed, 11).
- First-layer filters (ICML Fig 2): stored when they hold at most FILTER_ELEMENTS numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from memcore import records
from memcore.engine import device as devices
from memcore.engine import models
from memcore.engine.batching import Batch
from memcore.engine.device_data import DeviceData
from memcore.engine.regularizers import mix_seed
from memcore.metrics import critical, sharpness
from memcore.spec import RunSpec

SHARPNESS_EXAMPLES = 2048  # training examples in the loss whose Hessian sharpness measures
# First-layer filters are stored at epoch 0 and after the last epoch (ICML Fig 2) when they
# hold at most this many numbers (16 MB); a 100 x 784 x 4096 ensemble's would be 1.3 GB.
FILTER_ELEMENTS = 2**22


def probe_set(data: DeviceData, spec: RunSpec) -> tuple[Tensor, str]:
    """The CSR probes on the device and the split they come from, "val" or "train": P x ...,
    or K x P x ... when the members have their own training inputs (randX in a batched run)."""
    m = spec.metrics
    used = "val" if m.csr_set == "val" and data.x_val.shape[0] > 0 else "train"
    n = data.x_val.shape[0] if used == "val" else data.n
    g = torch.Generator().manual_seed(mix_seed(spec.data.seed, 255))
    pick = torch.randperm(n, generator=g)[: m.csr_probes].sort().values.to(data.x.device)
    return (data.x_val[pick] if used == "val" else data.member_inputs(pick)), used


def csr_records(
    model: models.Ensemble,
    probes: Tensor,
    used: str,
    batch: Batch,
    *,
    epoch: int,
    step: int,
    wall_fn: Callable[[], float],
) -> list[dict[str, Any]]:
    """One "csr" record per member: its critical sample ratio on `probes` (metrics.critical);
    iters: the LASS iterations its spec's members ran."""
    m, device = batch.base.metrics, probes.device
    gen = batch.generator(lambda seed: mix_seed(seed, epoch, 3), device)
    with devices.autocast(device, batch.base.train.precision):
        res = critical.csr_search(model, probes, m, generator=gen)
    ratio = res.ratio.tolist()
    spec_iters = [int(res.member_iters[sl].max()) for sl in batch.slices]
    member_spec = batch.member_spec
    wall = wall_fn()
    return [
        records.Csr(
            epoch=epoch,
            step=step,
            member=k,
            csr=ratio[k],
            iters=spec_iters[member_spec[k]],
            radius=critical.data_units(m.csr_radius),
            set=used,
            wall=wall,
        ).to_dict()
        for k in range(len(ratio))
    ]


def sharpness_records(
    model: models.Ensemble,
    data: DeviceData,
    batch: Batch,
    *,
    epoch: int,
    wall_fn: Callable[[], float],
) -> list[dict[str, Any]]:
    """One "sharpness" record per member: the top Hessian eigenvalue of its training loss."""
    K, device = int(model.members), data.x.device
    idx = data.tracked if data.tracked.numel() else torch.arange(data.n)
    idx = idx[:SHARPNESS_EXAMPLES].to(device)
    xs, ys = data.member_inputs(idx), data.member_labels(idx)  # ys: K x n
    params = list(model.parameters())
    model.eval()

    def loss_fn() -> Tensor:
        logits = model(xs)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ys.reshape(-1), reduction="none")
        return ce.view(K, -1).mean(1).sum()

    gen = batch.generator(lambda seed: mix_seed(seed, 11), device)
    values = sharpness.top_eigenvalue(loss_fn, params, generator=gen).tolist()
    model.train()
    wall = wall_fn()
    return [
        records.Sharpness(epoch=epoch, member=k, sharpness=values[k], wall=wall).to_dict()
        for k in range(K)
    ]


def first_layer_arrays(
    model: models.Ensemble, input_shape: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """{"first_layer": float32[K, F, H, W]} (engine.models.first_layer_filters), or {} when the
    filters hold more than FILTER_ELEMENTS numbers."""
    filters = models.first_layer_filters(model, input_shape)
    if filters.numel() > FILTER_ELEMENTS:
        return {}
    # a copy: on CPU .numpy() would share memory with the weights SGD updates in place
    return {"first_layer": filters.float().cpu().numpy().copy()}
