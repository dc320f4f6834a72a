"""The paper's regularizers (PAPER.md item 7; ICML Figs 10-11), one strength per member.

Every member k carries its own strength s_k (TrainSpec.strengths), so a sweep over strengths is
one batched run. Placement (the same for the MLP and the CNN):

- dropout (rate s_k): on every hidden activation after its ReLU (after pooling in the CNN's conv
  blocks); kept units are scaled by 1/(1 - s_k) (inverted dropout), so evaluation uses no mask.
- input_dropout (rate s_k): the same on the input.
- input_noise (std s_k, data units): x + s_k * N(0, 1) per input element.
- hidden_noise (std s_k): h + s_k * N(0, 1) on every hidden activation after its ReLU.
- weight_decay (L2 coefficient s_k): gradient += s_k * parameter for every parameter, like
  torch.optim.SGD(weight_decay=s_k), i.e. the loss gains (s_k / 2) * ||theta||^2.
- adversarial (dropout rate s_k): dropout as above plus adversarial training: the loss is
  (1 - w) CE(x, y) + w CE(x^, y) with x^ = LASS(x) found on each minibatch (metrics.critical;
  w = TrainSpec.adv_weight; radius/alpha/beta/iters from MetricsSpec.csr_*).

Masks and noise for all members are drawn at once from a generator seeded by (seed, epoch, step)
(`step_generator`; in a batched run of several specs, one per spec: metrics.draws), so training is
reproducible and resumable without saved RNG state. Nothing is applied during evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from memcore.metrics import critical, draws

HIDDEN_KINDS = ("dropout", "hidden_noise", "adversarial")
INPUT_KINDS = ("input_dropout", "input_noise")


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from several integers (numpy SeedSequence: distinct tuples, distinct seeds)."""
    state = np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


def step_seed(seed: int, epoch: int, step: int) -> int:
    """The seed of one SGD step's masks and noise, from (seed, epoch, step)."""
    return mix_seed(seed, epoch, step, 7)


def step_generator(seed: int, epoch: int, step: int, device: torch.device) -> torch.Generator:
    """The generator of one SGD step's masks and noise: seeded by `step_seed`."""
    return torch.Generator(device=device).manual_seed(step_seed(seed, epoch, step))


def _per_member(s_K: Tensor, like: Tensor) -> Tensor:
    """s_K viewed to broadcast over a K x ... tensor."""
    return s_K.view(-1, *([1] * (like.dim() - 1)))


def _keep_mask(a: Tensor, rate_K: Tensor, gen: draws.Source) -> Tensor:
    """Inverted-dropout factor (0 or 1/(1-rate)) per element of a K x ... tensor."""
    rate = _per_member(rate_K, a)
    u = draws.rand(a.shape, gen, device=a.device, dtype=a.dtype)
    return (u >= rate).to(a.dtype).div_(1.0 - rate)


class Regularizer:
    """The run's regularizer: kind and per-member strengths s_K (float tensor on the device)."""

    def __init__(self, kind: str, strengths: tuple[float, ...], device: torch.device):
        self.kind = kind
        self.s_K = torch.tensor(strengths, dtype=torch.float32, device=device)
        # All-zero strength is exactly no regularization; skip the work (and the masks).
        self.active = kind != "none" and bool((self.s_K != 0).any())
        self.adversarial = kind == "adversarial"

    @property
    def decay_K(self) -> Tensor | None:
        """Per-member L2 coefficient, or None."""
        return self.s_K if self.kind == "weight_decay" and self.active else None

    def input(self, x: Tensor, gen: draws.Source) -> Tensor:
        """x (K x B x ...) with input dropout / input noise applied (a new tensor), else x."""
        if not self.active or self.kind not in INPUT_KINDS:
            return x
        if self.kind == "input_dropout":
            return x * _keep_mask(x, self.s_K, gen)
        noise = draws.randn(x.shape, gen, device=x.device, dtype=x.dtype)
        return x + noise.mul_(_per_member(self.s_K, x))

    def hidden(self, gen: draws.Source) -> Callable[[Tensor], Tensor] | None:
        """h -> regularized h on hidden activations (K x B x ...), for autograd forwards."""
        fn = self.hidden_manual(gen)
        if fn is None:
            return None

        def apply(h: Tensor) -> Tensor:
            out, mult = fn(h)
            return out

        return apply

    def hidden_manual(
        self, gen: draws.Source
    ) -> Callable[[Tensor], tuple[Tensor, Tensor | None]] | None:
        """h -> (regularized h, gradient factor or None), for the MLP's hand-written backward:
        dropout multiplies the gradient by its mask; additive noise leaves it unchanged."""
        if not self.active or self.kind not in HIDDEN_KINDS:
            return None
        if self.kind == "hidden_noise":

            def noise(h: Tensor) -> tuple[Tensor, Tensor | None]:
                eps = draws.randn(h.shape, gen, device=h.device, dtype=h.dtype)
                return h + eps.mul_(_per_member(self.s_K, h)), None

            return noise

        def dropout(h: Tensor) -> tuple[Tensor, Tensor | None]:
            mask = _keep_mask(h, self.s_K, gen)
            return h * mask, mask

        return dropout


def adversarial_batch(
    model: Callable[[Tensor], Tensor],
    xb: Tensor,
    yb: Tensor,
    metrics: Any,
    weight: float,
    gen: draws.Source,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> tuple[Tensor, Tensor, Tensor]:
    """Adversarial training's batch (PAPER.md item 7): [x; x^] with labels [y; y] and per-example
    loss weights (1 - w)/B, w/B, where x^ = LASS(x) of each member on its own batch (xb: K x B x
    ...), with metrics.csr_* (1/255 of `value_range`, the data's (min, max)) and noise from
    `gen`."""
    m, b = metrics, xb.shape[1]
    res = critical.lass(
        model,
        xb,
        radius=critical.data_units(m.csr_radius, value_range),
        alpha=critical.data_units(m.csr_alpha, value_range),
        beta=critical.data_units(m.csr_beta, value_range),
        iters=m.csr_iters,
        min_new=m.csr_min_new,
        generator=gen,
        shared=False,
    )
    weights = torch.cat([torch.full((b,), (1 - weight) / b), torch.full((b,), weight / b)])
    x_adv = torch.cat([xb, res.x_adv.detach()], 1)
    return x_adv, torch.cat([yb, yb], 1), weights.to(xb.device)
