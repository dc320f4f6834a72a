"""Sharpness: the largest Hessian eigenvalue of the training loss (PAPER.md 8, workshop poster).

Power iteration with Hessian-vector products (Pearlmutter): Hv = d/dtheta <grad L(theta), v>,
two calls of torch.autograd.grad, never the Hessian itself. Parameters carry a leading K axis
(one slice per ensemble member) and `loss_fn` returns the SUM of the members' losses, so the
Hessian is block-diagonal with one block per member. The iteration runs on all blocks at once and
normalises v block by block (over all parameters' slices of member k), so each member converges to
its own top eigenvalue; the estimate is the Rayleigh quotient <v_k, (Hv)_k> with ||v_k|| = 1.

Power iteration finds the eigenvalue of largest magnitude; near a minimum the Hessian is (nearly)
positive semi-definite, so that is the top eigenvalue. Convergence is geometric in
|lambda_2 / lambda_1| per member; 20 iterations is the default, raise `iters` for tight values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from memcore.metrics import draws


def _block_dot(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> torch.Tensor:
    """sum over parameters and non-member axes of a * b, per member: float[K]."""
    return sum((x * y).flatten(1).sum(dim=1) for x, y in zip(a, b, strict=True))


def top_eigenvalue(
    loss_fn: Callable[[], torch.Tensor],
    params: Sequence[torch.Tensor],
    iters: int = 20,
    generator: draws.Source = None,
) -> torch.Tensor:
    """Top Hessian eigenvalue per member, float[K] (detached).

    loss_fn(): scalar loss at the current `params` (sum over members of each member's loss).
    params: tensors with requires_grad and a leading K axis (all the same K).
    generator: for the random start vector (on the params' device).
    """
    params = list(params)
    if not params:
        raise ValueError("top_eigenvalue needs at least one parameter")
    if iters < 1:
        raise ValueError(f"iters={iters} must be >= 1")
    loss = loss_fn()
    grads = torch.autograd.grad(loss, params, create_graph=True)
    v = [draws.randn(p.shape, generator, device=p.device, dtype=p.dtype) for p in params]
    eig = torch.zeros(params[0].shape[0], device=params[0].device, dtype=params[0].dtype)
    for _ in range(iters):
        norm = _block_dot(v, v).sqrt().clamp_min(torch.finfo(eig.dtype).tiny)
        v = [x / norm.view(-1, *[1] * (x.dim() - 1)) for x in v]
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        eig = _block_dot(v, hv).detach()
        v = [h.detach() for h in hv]
    return eig
