"""Sharpness: power iteration with HVPs against known eigenvalues and a dense Hessian."""

from __future__ import annotations

import torch

from memcore.metrics.sharpness import top_eigenvalue


def test_quadratic_loss_top_eigenvalue_per_member():
    # L = sum_k 0.5 theta_k^T A_k theta_k with theta_k split over two parameter tensors, so the
    # Hessian is block-diagonal with blocks A_k; each member must get max eig(A_k).
    g = torch.Generator().manual_seed(0)
    k, n = 3, 5
    q, _ = torch.linalg.qr(torch.randn(k, n, n, generator=g, dtype=torch.float64))
    eigs = torch.tensor([[5.0, 2, 1, 0.5, 0.1], [0.3, 0.2, 0.1, 0.05, 0.0], [40, 10, 3, 2, 1]])
    a = q @ torch.diag_embed(eigs.double()) @ q.transpose(1, 2)
    p1 = torch.randn(k, 3, generator=g, dtype=torch.float64, requires_grad=True)
    p2 = torch.randn(k, 2, generator=g, dtype=torch.float64, requires_grad=True)

    def loss():
        theta = torch.cat([p1, p2], dim=1)
        return 0.5 * torch.einsum("ki,kij,kj->", theta, a, theta)

    top = top_eigenvalue(loss, [p1, p2], iters=200, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(top, eigs.max(dim=1).values.double(), rtol=1e-6)


def test_mlp_matches_dense_hessian_per_member():
    g = torch.Generator().manual_seed(2)
    k, n, d, h, c = 2, 16, 3, 4, 3
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, c, (k, n), generator=g)
    w1 = torch.randn(k, d, h, generator=g, dtype=torch.float64, requires_grad=True)
    w2 = torch.randn(k, h, c, generator=g, dtype=torch.float64, requires_grad=True)

    def member_loss(j, a, b):
        logits = torch.tanh(x @ a) @ b
        return torch.nn.functional.cross_entropy(logits, y[j])

    def loss():
        return sum(member_loss(j, w1[j], w2[j]) for j in range(k))

    top = top_eigenvalue(loss, [w1, w2], iters=300, generator=torch.Generator().manual_seed(0))
    for j in range(k):

        def flat_loss(v, j=j):
            return member_loss(j, v[: d * h].view(d, h), v[d * h :].view(h, c))

        v0 = torch.cat([w1[j].detach().flatten(), w2[j].detach().flatten()])
        hess = torch.autograd.functional.hessian(flat_loss, v0)
        ev = torch.linalg.eigvalsh(hess)
        expected = ev[ev.abs().argmax()]
        assert torch.allclose(top[j], expected, rtol=1e-4), (top[j], ev)
