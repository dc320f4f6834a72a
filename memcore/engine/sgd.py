"""The optimiser: one SGD step of every member at once, with the run's regularizer.

SGD with momentum (buffer v = m v + g, like torch.optim.SGD); each member's loss is its mean
cross-entropy over its batch. MLPs use the models' hand-written step that fuses the weight
gradient and the update; the CNN (and bf16 autocast) uses autograd. Regularizer masks and noise
come from one generator per spec seeded by (seed, epoch, step) (engine.regularizers), so nothing
depends on hidden RNG state.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from memcore.datasets import REGISTRY
from memcore.engine import device as devices
from memcore.engine import models
from memcore.engine.batching import Batch
from memcore.engine.regularizers import Regularizer, adversarial_batch, step_seed
from memcore.spec import RunSpec


def lr_at(spec: RunSpec, epoch: int) -> float:
    """Learning rate during epoch `epoch` (1-based; epoch 0 reports the initial rate)."""
    t = spec.train
    if t.schedule == "step" and epoch > 0:
        return t.lr * t.gamma ** ((epoch - 1) // t.step_epochs)
    return t.lr


class SGD:
    """Momentum buffers and the regularizer of a run's K members (a Batch of specs)."""

    def __init__(self, model: models.Ensemble, batch: Batch, device: torch.device):
        spec, t = batch.base, batch.base.train
        self.model, self.batch, self.device, self.spec = model, batch, device, spec
        self.reg = Regularizer(t.regularizer, batch.strengths, device)
        bf16 = device.type == "cuda" and t.precision == "bf16"  # autocast needs autograd
        self.fast = isinstance(model, models.MLPEnsemble) and not bf16
        self.bufs = [torch.zeros_like(p) for p in model.parameters()] if t.momentum > 0 else None
        self.value_range = REGISTRY[spec.data.dataset].value_range  # for adversarial radii

    def step(self, xb: Tensor, yb: Tensor, lr: float, epoch: int, step: int) -> None:
        """One step of all members on their batches xb (K x B x ...), yb (K x B); `step` is
        the number of steps taken before this one (it seeds the regularizer's draws)."""
        t, reg = self.spec.train, self.reg
        gen = (
            self.batch.generator(lambda seed: step_seed(seed, epoch, step), self.device)
            if reg.active or reg.adversarial
            else None
        )
        weights = None
        if reg.adversarial:
            xb, yb, weights = adversarial_batch(
                self.model,
                xb,
                yb,
                self.spec.metrics,
                t.adv_weight,
                gen,
                value_range=self.value_range,
            )
        elif reg.active:
            xb = reg.input(xb, gen)
        if self.fast:
            self.model.sgd_step(
                xb,
                yb,
                lr=lr,
                momentum=t.momentum,
                bufs=self.bufs,
                decay_K=reg.decay_K,
                hidden=reg.hidden_manual(gen) if reg.active else None,
                example_w=weights,
            )
            return
        self._autograd_step(xb, yb, lr, weights, reg.hidden(gen) if reg.active else None)

    def _autograd_step(self, xb, yb, lr, weights, hidden) -> None:
        t, model = self.spec.train, self.model
        model.train()
        params = list(model.parameters())
        with devices.autocast(self.device, t.precision):
            logits = model(xb, hidden=hidden)
        ce = F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]), yb.reshape(-1), reduction="none"
        ).view(yb.shape)
        # sum over members of each member's mean: member k's gradient is its own mean gradient
        loss = ce.mean(1).sum() if weights is None else (ce * weights).sum()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            decay = self.reg.decay_K
            if decay is not None:
                for g, p in zip(grads, params, strict=True):
                    g.add_(p * decay.view(-1, *([1] * (p.dim() - 1))))
            if self.bufs:
                torch._foreach_mul_(self.bufs, t.momentum)
                torch._foreach_add_(self.bufs, grads)
                grads = self.bufs
            torch._foreach_add_(params, grads, alpha=-lr)
