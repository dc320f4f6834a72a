"""Critical samples and the critical sample ratio (PAPER.md item 6; ICML Figs 7-9, poster Fig 4).

A probe x is *critical* for a model f at radius r if some x^ with ||x^ - x||_inf <= r has
argmax f(x^) != argmax f(x). CSR = fraction of probes that are critical. Critical points are found
with LASS (Langevin adversarial sample search), following the authors' code:

    y0 = argmax f(x);  x~ = x
    repeat up to `iters` times:
        x~ <- x~ + alpha * sign(grad_x~ CE(f(x~), y0)) + beta * eta,   eta ~ N(0, I) per element
        x~ <- x + clamp(x~ - x, -r, r)                                 (L-inf box; no pixel clip)
        critical |= argmax f(x~) != y0                                 (at ANY iteration)
        stop early if this iteration added fewer than `min_new` new critical samples
        (per member: each member of an ensemble stops on its own, so member k of a batched search
        equals a search of model k alone, and K = 1 is exactly the authors' rule)

Everything is batched: all P probes and all K ensemble members move in one tensor K x P x ...
per iteration (one forward + backward), so a search costs `iters` batched passes.

Cancellation: `should_stop` (a no-argument callable) is checked before every iteration; when it
returns True the search raises SearchStopped, so a worker asked to stop (SIGTERM, cancel) does
not finish thousands of iterations first.

Units: `lass` takes radius/alpha/beta in DATA units. `csr` takes a MetricsSpec whose values are
in 0-255 pixel units (the paper's r = 0.3, alpha = 0.25, beta = 0.2) and converts them with
`data_units` (value / 255 times the data's span: 1 for [0, 1] data; pass `value_range` for
anything else). `data_units` is the one home of that conversion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from memcore.metrics import draws

Forward = Callable[[torch.Tensor], torch.Tensor]


class SearchStopped(Exception):
    """`should_stop()` turned true during a search: its result is incomplete and discarded."""


@dataclass(frozen=True)
class LassResult:
    """critical bool[K, P]; x_adv K x P x *input_shape (first adversarial point found, else the
    final iterate); member_iters int[K] = LASS iterations each member ran (<= the maximum);
    iters = the most any member ran."""

    critical: torch.Tensor
    x_adv: torch.Tensor
    iters: int
    member_iters: torch.Tensor

    @property
    def ratio(self) -> torch.Tensor:
        """Critical sample ratio per member, float[K]."""
        return self.critical.float().mean(dim=1)


def data_units(value_255: float, value_range: tuple[float, float] = (0.0, 1.0)) -> float:
    """A length in 0-255 pixel units (the spec's csr_radius/alpha/beta) in the data's units:
    value_255 / 255 of the span of `value_range`, the data's (min, max); (0, 1) = images scaled
    to [0, 1], where 0.3 -> 0.3 / 255."""
    lo, hi = value_range
    return value_255 / 255.0 * (hi - lo)


def _per_member(x: torch.Tensor, logits: torch.Tensor, shared: bool | None) -> torch.Tensor:
    """x as K x P x *input_shape. `x` is shared (P x ...) or per member (K x P x ...)."""
    k, p = logits.shape[:2]
    if shared is None:
        shared = not (x.dim() >= 3 and tuple(x.shape[:2]) == (k, p))
    if shared:
        if x.shape[0] != p:
            raise ValueError(f"forward returned {p} probes for x of shape {tuple(x.shape)}")
        return x.unsqueeze(0).expand(k, *x.shape)
    return x


def lass(
    forward: Forward,
    x: torch.Tensor,
    *,
    radius: float,
    alpha: float,
    beta: float,
    iters: int = 100,
    min_new: int = 20,
    generator: draws.Source = None,
    shared: bool | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> LassResult:
    """Langevin adversarial sample search (author semantics; module docstring).

    forward: called once with `x` as given (shared P x ... or per member K x P x ..., as an
    Ensemble accepts) and then with K x P x *input_shape; returns logits K x P x C. An nn.Module
    is put in eval mode for the search and restored afterwards. `shared` forces how x is read
    (default: per member iff x.shape[:2] == (K, P)). radius, alpha, beta in data units.
    The Gaussian noise is drawn from `generator` (on x's device; a torch.Generator or per member
    group, metrics.draws) as one K x P x ... tensor per iteration, so the result is reproducible
    for a given generator state. Raises SearchStopped as soon as `should_stop()` is true
    (checked before every iteration).
    """
    if iters < 1:
        raise ValueError(f"iters={iters} must be >= 1")
    if radius < 0 or alpha < 0 or beta < 0:
        raise ValueError("radius, alpha and beta must be >= 0")
    module = forward if isinstance(forward, torch.nn.Module) else None
    was_training = module.training if module is not None else False
    if module is not None:
        module.eval()
    try:
        with torch.no_grad():
            logits0 = forward(x)
        x0 = _per_member(x.detach(), logits0, shared)
        y0 = logits0.argmax(dim=-1)  # K x P: the originally predicted label
        n_classes = logits0.shape[-1]
        critical = torch.zeros_like(y0, dtype=torch.bool)
        active = torch.ones(y0.shape[0], dtype=torch.bool, device=y0.device)  # K members
        member_iters = torch.zeros(y0.shape[0], dtype=torch.long, device=y0.device)
        x_adv = x0.clone()
        xt = x0.clone()
        done = 0
        while True:
            if should_stop is not None and should_stop():
                raise SearchStopped(f"stopped after {done} of {iters} LASS iterations")
            step = done < iters
            with torch.set_grad_enabled(step):
                xt.requires_grad_(step)
                logits = forward(xt)
            if done > 0:  # check the iterate produced by the previous step
                # Stopped members keep moving in the batch (cheaper than slicing) but are ignored.
                new = (logits.detach().argmax(dim=-1) != y0) & ~critical & active[:, None]
                x_adv[new] = xt.detach()[new]
                critical |= new
                member_iters += active.long()
                active &= new.sum(dim=1) >= min_new
                if not step or not bool(active.any()):
                    break
            # Sum (not mean) so the gradient per element does not depend on K or P; only its
            # sign is used anyway.
            loss = F.cross_entropy(logits.reshape(-1, n_classes), y0.reshape(-1), reduction="sum")
            (grad,) = torch.autograd.grad(loss, xt)
            with torch.no_grad():
                noise = draws.randn(xt.shape, generator, device=xt.device, dtype=xt.dtype)
                xt = xt.detach() + alpha * grad.sign() + beta * noise
                xt = x0 + (xt - x0).clamp(-radius, radius)
            done += 1
        # Probes never found critical report the final iterate.
        x_adv[~critical] = xt.detach()[~critical]
        return LassResult(
            critical=critical, x_adv=x_adv, iters=int(member_iters.max()), member_iters=member_iters
        )
    finally:
        if module is not None:
            module.train(was_training)


def search(
    forward: Forward,
    x: torch.Tensor,
    metrics: Any,
    generator: draws.Source = None,
    *,
    value_range: tuple[float, float] = (0.0, 1.0),
    should_stop: Callable[[], bool] | None = None,
) -> LassResult:
    """The LASS search CSR runs: `metrics` is a spec.MetricsSpec whose csr_radius, csr_alpha and
    csr_beta are in 1/255 of the data's value range, converted with `data_units` (value_range =
    the data's (min, max), (0, 1) for images); csr_iters and csr_min_new as they are. Raises
    SearchStopped when `should_stop()` turns true during the search."""
    return lass(
        forward,
        x,
        radius=data_units(metrics.csr_radius, value_range),
        alpha=data_units(metrics.csr_alpha, value_range),
        beta=data_units(metrics.csr_beta, value_range),
        iters=metrics.csr_iters,
        min_new=metrics.csr_min_new,
        generator=generator,
        should_stop=should_stop,
    )


def csr(
    forward: Forward,
    x: torch.Tensor,
    metrics: Any,
    generator: draws.Source = None,
    *,
    value_range: tuple[float, float] = (0.0, 1.0),
    should_stop: Callable[[], bool] | None = None,
) -> tuple[torch.Tensor, int]:
    """Critical sample ratio per member, float[K], and the LASS iterations run (`search`)."""
    res = search(forward, x, metrics, generator, value_range=value_range, should_stop=should_stop)
    return res.ratio, res.iters
