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
- Critical pairs: at the last CSR measurement, up to CRITICAL_PAIRS probes that LASS found
  critical for member 0, each with the adversarial point it found (an "arrays" entry), so the
  app can show what a critical sample looks like without computing anything. In a batched run
  (engine.batching), each spec gets the pairs of its own first member.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from memcore import records
from memcore.datasets import REGISTRY
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
CRITICAL_PAIRS = 16  # (original, adversarial) pairs stored after the last CSR search


@dataclass(frozen=True)
class Probes:
    """The CSR probe set: inputs x (P x ..., on the device, laid out for the model; K x P x ...
    when the members have their own training inputs: randX in a batched run, `per_member`),
    their labels y (S x P: each spec's own labels, one row per spec of the run), their indices
    in the split they come from, and that split ("val"|"train")."""

    x: Tensor
    y: Tensor
    index: Tensor
    split: str
    per_member: bool = False

    def member_x(self, k: int) -> Tensor:
        """Member k's probes, P x ..."""
        return self.x[k] if self.per_member else self.x


def probe_set(data: DeviceData, spec: RunSpec) -> Probes:
    """The CSR probes and the split they come from (module docstring)."""
    m = spec.metrics
    used = "val" if m.csr_set == "val" and data.x_val.shape[0] > 0 else "train"
    n = data.x_val.shape[0] if used == "val" else data.n
    g = torch.Generator().manual_seed(mix_seed(spec.data.seed, 255))
    pick = torch.randperm(n, generator=g)[: m.csr_probes].sort().values
    on = pick.to(data.x.device)
    if used == "val":
        y = data.y_val[on].unsqueeze(0).expand(data.y.shape[0], -1)
        return Probes(x=data.x_val[on], y=y, index=pick, split=used)
    per_member = data.x_member is not None
    return Probes(data.member_inputs(on), data.y[:, on], pick, used, per_member)


def csr_records(
    model: models.Ensemble,
    probes: Probes,
    batch: Batch,
    *,
    epoch: int,
    step: int,
    wall_fn: Callable[[], float],
    input_shape: tuple[int, ...] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, np.ndarray]]]:
    """One "csr" record per member: its critical sample ratio on the probes (metrics.critical);
    iters: the LASS iterations its spec's members ran. With `input_shape` also, per spec of the
    batch, the critical pairs of its first member (`critical_pairs`; what member 0 of the
    spec's own run gives), else []. Raises critical.SearchStopped when `should_stop()` turns
    true during the search. The specs of a batch share the dataset, so one value range."""
    base = batch.base
    m, device = base.metrics, probes.x.device
    value_range = REGISTRY[base.data.dataset].value_range
    gen = batch.generator(lambda seed: mix_seed(seed, epoch, 3), device)
    with devices.autocast(device, base.train.precision):
        res = critical.search(
            model, probes.x, m, generator=gen, value_range=value_range, should_stop=should_stop
        )
    ratio = res.ratio.tolist()
    spec_iters = [int(res.member_iters[sl].max()) for sl in batch.slices]
    member_spec = batch.member_spec
    pairs = (
        [
            critical_pairs(model, probes, res, input_shape, member=sl.start, spec=i)
            for i, sl in enumerate(batch.slices)
        ]
        if input_shape
        else []
    )
    wall = wall_fn()
    recs = [
        records.Csr(
            epoch=epoch,
            step=step,
            member=k,
            csr=ratio[k],
            iters=spec_iters[member_spec[k]],
            radius=critical.data_units(m.csr_radius, value_range),
            set=probes.split,
            wall=wall,
        ).to_dict()
        for k in range(len(ratio))
    ]
    return recs, pairs


def critical_pairs(
    model: models.Ensemble,
    probes: Probes,
    res: critical.LassResult,
    input_shape: tuple[int, ...],
    *,
    member: int = 0,
    spec: int = 0,
) -> dict[str, np.ndarray]:
    """Up to CRITICAL_PAIRS probes critical for `member` (of the batch's spec `spec`; 0 in a
    run of one spec), in probe order (S of them, maybe 0): "critical_x" / "critical_adv"
    float32[S, *input_shape] (the probe and the adversarial point LASS found within the
    radius), "critical_pred" / "critical_adv_pred" int64[S] (the member's predictions on them,
    in eval mode), "critical_label" int64[S] (the probe's label in that spec) and
    "critical_index" int64[S] (its index in the probes' split)."""
    pick = res.critical[member].nonzero().flatten()[:CRITICAL_PAIRS]
    x, adv = probes.member_x(member)[pick], res.x_adv[member, pick]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        pred = model(x)[member].argmax(-1) if len(pick) else pick
        adv_pred = model(adv)[member].argmax(-1) if len(pick) else pick
    model.train(was_training)

    def host(t: Tensor, dtype) -> np.ndarray:
        return t.detach().cpu().numpy().astype(dtype)

    shape = (len(pick), *input_shape)
    return {
        "critical_x": host(x.float().reshape(shape), np.float32),
        "critical_adv": host(adv.float().reshape(shape), np.float32),
        "critical_pred": host(pred, np.int64),
        "critical_adv_pred": host(adv_pred, np.int64),
        "critical_label": host(probes.y[spec, pick.to(probes.y.device)], np.int64),
        "critical_index": host(probes.index[pick.cpu()], np.int64),
    }


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
    """{"first_layer": float32[K, F, H, W]} (first_layer_filters), or {} when the
    filters hold more than FILTER_ELEMENTS numbers."""
    filters = first_layer_filters(model, input_shape)
    if filters.numel() > FILTER_ELEMENTS:
        return {}
    # a copy: on CPU .numpy() would share memory with the weights SGD updates in place
    return {"first_layer": filters.float().cpu().numpy().copy()}


def first_layer_filters(model: models.Ensemble, input_shape: tuple[int, ...]) -> torch.Tensor:
    """First-layer filters, K x F x H x W (ICML Fig 2): the CNN's 5x5 kernels per output channel
    (input channels averaged); the MLP's weight vector of each hidden unit, reshaped to the
    input's H x W (1 x L for 1-D data)."""
    if hasattr(model, "conv_w"):
        return model.conv_w[0].detach().mean(dim=2)  # K x out x in x 5 x 5 -> K x out x 5 x 5
    w = model.weights[0].detach().transpose(1, 2)  # K x in x out -> K x out x in
    shape = input_shape[-2:] if len(input_shape) == 3 else (1, input_shape[-1])
    return w.reshape(w.shape[0], w.shape[1], *shape)
