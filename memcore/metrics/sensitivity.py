"""Unrolled loss-sensitivity, its Gini coefficient and the per-class matrix (PAPER.md items 4-5;
ICML Figs 3-4, poster Figs 3.2-3.3).

Setting: N training inputs X (a differentiable leaf, float64), an MLP with parameters theta_0
(PyTorch's default init, seeded by train.seed; independent of X), plain SGD
    theta_{s+1} = theta_s - lr * grad_theta CE(X_{B_s}, y_{B_s}; theta_s),
so theta_t depends on X through every update whose minibatch B_s held an example.
Every k = metrics.sens_every updates (t = k, 2k, ...):
    L_t   = mean CE over all N examples at theta_t (training labels),
    g^t_x = || dL_t / dx ||_1 per example (total derivative; "indirect": X held fixed inside L_t,
            so only the path through theta_t counts),
    loss-sensitivity = running mean of g^t over the evaluations so far ("sensitivity"), and the
    equal-weight-per-time variant: running mean of g^t / mean_x(g^t) ("sensitivity_time"), so a
    late, exploding g^t does not swamp the earlier ones (PAPER.md calibration notes).
Per-class matrix (Fig 4): cell (i, j) = running mean over t of mean over x of class j of
|| dL^(i)_t / dx ||_1, with L^(i)_t = (1/N) sum over class-i examples of their CE, so that
sum_i L^(i)_t = L_t. Classes are the ORIGINAL classes y_clean, also with unique labels.
The task that trains and records them is engine.sensitivity_task.

Exact computation (no finite differences, no truncation). At each evaluation a reverse sweep
carries the adjoints a_s = dL^(i)_t / dtheta_s for all C classes at once (one batched
Hessian-vector product per step, written out by hand in `step_hvp`):
    dL/dX_{B_s} += -lr (d g_s / d X_{B_s})^T a_{s+1},   a_s = a_{s+1} - lr H_s a_{s+1},
where g_s is the step's parameter gradient and H_s its Hessian; each step's gradient is recomputed
from the stored theta_s, so memory is O(T * |theta|) (no retained graph), and an evaluation at step
t costs t recomputed steps: O(T^2 / k) in total (T = all updates). Everything is float64; a
non-finite or astronomically large gradient raises ValueError instead of producing NaN charts.

`direct_sensitivity` is the cheap alternative for big models: the input-gradient norm of each
example's own loss at the current parameters. It is NOT the paper's definition (no unrolling).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

DTYPE = torch.float64
OVERFLOW = 1e150  # beyond this the next few products overflow float64 anyway
MAX_ELEMENTS = 2**27  # per-class input gradients C x N x D held in float64 (1 GiB)


# -- a plain float64 MLP as explicit tensors ------------------------------------------------------
def init_mlp(
    d_in: int, width: int, depth: int, n_out: int, seed: int, dtype: torch.dtype = DTYPE
) -> list[torch.Tensor]:
    """[W_1, b_1, ..., W_out, b_out], W: in x out, PyTorch's nn.Linear default init
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases, from a generator seeded `seed`."""
    g = torch.Generator().manual_seed(seed)
    dims = [d_in, *[width] * depth, n_out]
    params = []
    for a, b in zip(dims[:-1], dims[1:], strict=True):
        bound = 1 / math.sqrt(a)
        params.append((torch.rand(a, b, generator=g, dtype=dtype) * 2 - 1) * bound)
        params.append((torch.rand(b, generator=g, dtype=dtype) * 2 - 1) * bound)
    return params


def mlp(params: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits B x n_out of the ReLU MLP `params` (init_mlp layout) on x: B x D."""
    h = x
    for i in range(0, len(params), 2):
        h = torch.addmm(params[i + 1], h, params[i])
        if i + 2 < len(params):
            h = h.relu()
    return h


def step_hvp(
    params: Sequence[torch.Tensor], x: torch.Tensor, y: torch.Tensor, adj: Sequence[torch.Tensor]
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """For the batch loss L = mean CE(mlp(params, x), y) and C adjoints a (each parameter with a
    leading C axis): (H a per parameter, (d grad_theta L / dx)^T a: C x B x D).

    Forward-over-reverse by hand: the tangent of the backward pass along a. Its x part is the
    mixed second derivative, d(grad_theta L . a)/dx = d(grad_x L)/dtheta . a (symmetry), so one
    pass gives both. ReLU's second derivative is 0 (as in autograd). No graph and no vmap over
    C: measured 1.3-1.7x faster than autograd's double backward for the 2x16 net (README)."""
    ws, bs = params[0::2], params[1::2]
    dws, dbs = adj[0::2], adj[1::2]
    hs, masks = [x], []
    dh = torch.zeros(1, *x.shape, dtype=x.dtype)  # tangent of the input: x is held fixed
    dhs = [dh]
    for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
        z = torch.addmm(b, hs[-1], w)
        dz = dh @ w + hs[-1] @ dws[i] + dbs[i][:, None, :]  # C x B x out
        if i == len(ws) - 1:
            break
        m = (z > 0).to(x.dtype)
        masks.append(m)
        hs.append(z * m)
        dh = dz * m
        dhs.append(dh)
    p = torch.softmax(z, 1)
    n = x.shape[0]
    gz = (p - F.one_hot(y, p.shape[1]).to(x.dtype)) / n  # dL/dlogits
    dgz = (p * dz - p * (p * dz).sum(2, keepdim=True)) / n  # its tangent: softmax Jacobian
    h_w, h_b = [], []
    for i in range(len(ws) - 1, -1, -1):
        h_w.append(dhs[i].transpose(1, 2) @ gz + hs[i].T @ dgz)  # tangent of h_i^T gz
        h_b.append(dgz.sum(1))
        dgh = dgz @ ws[i].T + gz @ dws[i].transpose(1, 2)  # tangent of gz W_i^T
        if i == 0:
            return [t for pair in zip(h_w[::-1], h_b[::-1], strict=True) for t in pair], dgh
        gz = (gz @ ws[i].T) * masks[i - 1]
        dgz = dgh * masks[i - 1]
    raise ValueError("an MLP needs at least one layer")


# -- the unrolled run -----------------------------------------------------------------------------
@dataclass
class Unroll:
    """SGD on (x, y) with history, and exact unrolled input gradients. x: N x D float64."""

    x: torch.Tensor
    y: torch.Tensor
    classes: torch.Tensor  # N, original class per example (rows/columns of the class matrix)
    params: list[torch.Tensor]
    lr: float

    def __post_init__(self) -> None:
        self.history: list[tuple[list[torch.Tensor], torch.Tensor]] = []  # (theta_s, B_s)
        self.n_classes = int(self.classes.max()) + 1

    @property
    def step(self) -> int:
        return len(self.history)

    def sgd_step(self, batch: torch.Tensor) -> None:
        theta = [p.detach().requires_grad_(True) for p in self.params]
        loss = F.cross_entropy(mlp(theta, self.x[batch]), self.y[batch])
        grads = torch.autograd.grad(loss, theta)
        self.history.append(([p.detach() for p in self.params], batch))
        self.params = [p.detach() - self.lr * g for p, g in zip(self.params, grads, strict=True)]
        if not all(torch.isfinite(p).all() for p in self.params):
            raise ValueError(
                f"SGD diverged at step {self.step} (non-finite parameters); lower train.lr"
            )

    def loss_acc(self) -> tuple[float, float]:
        with torch.no_grad():
            logits = mlp(self.params, self.x)
            loss = F.cross_entropy(logits, self.y).item()
            return loss, (logits.argmax(1) == self.y).double().mean().item()

    def class_gradients(self, mode: str = "total", per_class: bool = True) -> torch.Tensor:
        """dL^(i)_t / dX at the current step t for every original class i: C x N x D.
        Summing over i gives dL_t / dX. mode: total | indirect (see module docstring).
        per_class=False gives only the sum, 1 x N x D, for a C-th of the cost (one adjoint)."""
        if mode not in ("total", "indirect"):
            raise ValueError(f"mode={mode!r} must be total or indirect")
        n = self.x.shape[0]
        c = self.n_classes if per_class else 1
        onehot = (
            F.one_hot(self.classes, c).to(self.x.dtype)  # N x C
            if per_class
            else torch.ones(n, 1, dtype=self.x.dtype)
        )
        theta = [p.detach().requires_grad_(True) for p in self.params]
        x = self.x.detach().requires_grad_(mode == "total")
        ce = F.cross_entropy(mlp(theta, x), self.y, reduction="none")  # N
        losses = (onehot * ce[:, None]).sum(0) / n  # C: L^(i)
        eye = torch.eye(c, dtype=self.x.dtype)
        inputs = [*theta, x] if mode == "total" else theta
        out = torch.autograd.grad(losses, inputs, grad_outputs=eye, is_grads_batched=True)
        adj = list(out[: len(theta)])  # C x param shape: dL^(i)/dtheta_t
        dx = torch.zeros(c, *self.x.shape, dtype=self.x.dtype)
        if mode == "total":
            dx += out[-1]
        for theta_s, batch in reversed(self.history):
            h_a, dx_b = step_hvp(theta_s, self.x[batch], self.y[batch], adj)
            dx.index_add_(1, batch, -self.lr * dx_b)
            adj = [a - self.lr * h for a, h in zip(adj, h_a, strict=True)]
            big = torch.stack([a.abs().max() for a in adj]).max().item()
            if not math.isfinite(big) or big > OVERFLOW:
                raise ValueError(
                    f"unrolled loss-sensitivity overflows float64 (|dL/dtheta| = {big:.3g} "
                    f"going back from step {self.step} to {len(self.history)}); lower train.lr "
                    f"or the number of steps"
                )
        if not torch.isfinite(dx).all():
            raise ValueError(f"unrolled loss-sensitivity is not finite at step {self.step}")
        return dx


@dataclass
class Accumulator:
    """Running means over evaluations: plain, equal-weight-per-time, and the class matrix (the
    mean over the evaluations that computed it)."""

    classes: torch.Tensor
    n_classes: int
    evals: int = 0
    class_evals: int = 0
    sens: torch.Tensor | None = None
    sens_time: torch.Tensor | None = None
    matrix: torch.Tensor | None = None

    def add(self, dx_CxNxD: torch.Tensor) -> None:
        """One evaluation: per-class gradients C x N x D update all three means; their sum
        alone (1 x N x D, Unroll.class_gradients(per_class=False)) updates the two Gini ones."""
        g = dx_CxNxD.sum(0).abs().flatten(1).sum(1)  # N: |dL/dx|_1
        mean_g = g.mean()
        g_time = g / mean_g if mean_g > 0 else g
        self.evals += 1
        w = 1.0 / self.evals
        if self.sens is None:
            self.sens, self.sens_time = g, g_time
        else:
            self.sens = self.sens + w * (g - self.sens)
            self.sens_time = self.sens_time + w * (g_time - self.sens_time)
        if dx_CxNxD.shape[0] == self.n_classes:  # per-class gradients (or one class only)
            per_class = dx_CxNxD.abs().flatten(2).sum(2)  # C x N: |dL^(i)/dx|_1
            onehot = F.one_hot(self.classes, self.n_classes).to(g.dtype)  # N x C
            m = per_class @ onehot / onehot.sum(0).clamp_min(1)  # (i, j): mean over class j
            self.class_evals += 1
            wc = 1.0 / self.class_evals
            self.matrix = m if self.matrix is None else self.matrix + wc * (m - self.matrix)


# -- the cheap, non-paper variant ---------------------------------------------------------------
def direct_sensitivity(
    forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """NOT the paper's loss-sensitivity: || d CE(f(x_n), y_n) / d x_n ||_1 at the current
    parameters, per member and example, float[K, N]. forward: N x ... -> K x N x C logits
    (examples must not interact, e.g. no batch norm in training mode). y: N or K x N labels."""
    xg = x.detach().requires_grad_(True)
    logits = forward(xg)
    k, _, c = logits.shape
    yy = y.expand(k, -1) if y.dim() == 1 else y
    per_member = []
    for m in range(k):  # K is small here; one grad per member keeps the per-member split exact
        ce = F.cross_entropy(logits[m], yy[m], reduction="sum")
        (gx,) = torch.autograd.grad(ce, xg, retain_graph=m + 1 < k)
        per_member.append(gx.abs().flatten(1).sum(1))
    return torch.stack(per_member)
