"""LASS / CSR against analytic boundaries and a slow per-member, per-probe reference."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from memcore.metrics.critical import SearchStopped, csr, data_units, lass
from memcore.spec import MetricsSpec


def _linear(w_KxDxC: torch.Tensor, b_KxC: torch.Tensor):
    """Forward of K linear classifiers; accepts shared P x D or per-member K x P x D."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return torch.einsum("pd,kdc->kpc", x, w_KxDxC) + b_KxC[:, None]
        return torch.einsum("kpd,kdc->kpc", x, w_KxDxC) + b_KxC[:, None]

    return forward


def _mlp(k: int, d: int, h: int, c: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(k, d, h, generator=g, dtype=torch.float64) * 1.5 / d**0.5
    b1 = torch.randn(k, h, generator=g, dtype=torch.float64) * 0.1
    w2 = torch.randn(k, h, c, generator=g, dtype=torch.float64) / h**0.5

    def forward(x):
        if x.dim() == 2:
            x = x.expand(k, *x.shape)
        hidden = (torch.einsum("kpd,kdh->kph", x, w1) + b1[:, None]).relu()
        return torch.einsum("kph,khc->kpc", hidden, w2)

    def member(j):
        return lambda x1: (x1 @ w1[j] + b1[j]).relu() @ w2[j]

    return forward, member


def test_lass_linear_finds_critical_exactly_within_boundary_distance():
    # Binary linear classifier: logit margin m = w.x + b, prediction flips iff the sign of m
    # flips; the L-inf distance to the boundary is |m| / ||w||_1.
    g = torch.Generator().manual_seed(0)
    k, d, p = 3, 6, 400
    w = torch.randn(k, d, generator=g, dtype=torch.float64)
    b = torch.randn(k, generator=g, dtype=torch.float64) * 0.1
    w_kdc = torch.stack([torch.zeros_like(w), w], dim=-1)
    b_kc = torch.stack([torch.zeros_like(b), b], dim=-1)
    x = torch.rand(p, d, generator=g, dtype=torch.float64)
    radius = 0.15
    res = lass(
        _linear(w_kdc, b_kc),
        x,
        radius=radius,
        alpha=radius / 8,
        beta=radius / 50,
        iters=40,
        min_new=0,
        generator=torch.Generator().manual_seed(1),
    )
    dist = (x @ w.T + b).abs().T / w.abs().sum(dim=1, keepdim=True)  # K x P
    assert res.critical.shape == (k, p)
    assert not res.critical[dist > radius].any(), "critical beyond the reachable box"
    assert res.critical[dist < 0.9 * radius].all(), "search missed a reachable boundary"
    assert 0.05 < res.critical.float().mean() < 0.95  # the test covers both sides
    # x_adv of critical probes is adversarial and inside the box (no clipping to [0, 1]).
    margin = torch.einsum("kpd,kd->kp", res.x_adv, w) + b[:, None]
    m0 = (x @ w.T + b).T
    assert (torch.sign(margin[res.critical]) != torch.sign(m0[res.critical])).all()
    assert (res.x_adv - x).abs().max() <= radius + 1e-12


def test_csr_zero_at_radius_zero_and_nondecreasing_with_radius():
    forward, _ = _mlp(2, 5, 16, 4)
    x = torch.rand(300, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    ratios = []
    for r in [0.0, 5.0, 10.0, 20.0, 40.0, 80.0]:  # 0-255 units
        m = MetricsSpec(csr_radius=r, csr_alpha=r / 8, csr_beta=0.0, csr_iters=30, csr_min_new=0)
        ratio, iters = csr(forward, x, m, generator=torch.Generator().manual_seed(0))
        assert ratio.shape == (2,) and iters == 30
        ratios.append(ratio)
    ratios = torch.stack(ratios)  # R x K
    assert (ratios[0] == 0).all()
    assert (ratios.diff(dim=0) >= 0).all(), ratios
    assert (ratios[-1] > 0.2).all()


def _lass_reference(members, x, y0, noise, radius, alpha, beta, iters, min_new):
    """Slow LASS: one member, one probe at a time, noise sliced from the batched draws; each
    member stops on its own when an iteration adds fewer than min_new critical samples."""
    k, p = len(members), x.shape[0]
    crit = torch.zeros(k, p, dtype=torch.bool)
    done = [0] * k
    for m in range(k):
        xt = [x[j].clone() for j in range(p)]
        for it in range(iters):
            for j in range(p):
                z = xt[j].clone().requires_grad_(True)
                loss = F.cross_entropy(members[m](z)[None], y0[m, j][None])
                (gz,) = torch.autograd.grad(loss, z)
                z = z.detach() + alpha * gz.sign() + beta * noise[it][m, j]
                xt[j] = x[j] + (z - x[j]).clamp(-radius, radius)
            done[m] = it + 1
            new = 0
            for j in range(p):
                if not crit[m, j] and members[m](xt[j]).argmax() != y0[m, j]:
                    crit[m, j] = True
                    new += 1
            if new < min_new:
                break
    return crit, done


def test_batched_lass_equals_per_member_reference_with_same_noise():
    k, d, p, iters = 3, 5, 12, 8
    forward, member = _mlp(k, d, 8, 3, seed=5)
    x = torch.rand(p, d, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    kw = dict(radius=0.3, alpha=0.04, beta=0.05, iters=iters)
    y0 = forward(x).argmax(-1)
    gen = torch.Generator().manual_seed(7)
    noise = [torch.randn(k, p, d, generator=gen, dtype=torch.float64) for _ in range(iters)]
    for min_new in (0, 3):
        res = lass(forward, x, **kw, min_new=min_new, generator=torch.Generator().manual_seed(7))
        members = [member(m) for m in range(k)]
        ref, ref_iters = _lass_reference(members, x, y0, noise, **kw, min_new=min_new)
        assert res.member_iters.tolist() == ref_iters and res.iters == max(ref_iters)
        assert torch.equal(res.critical, ref)
    assert 0 < res.critical.sum() < k * p


def test_per_member_x_and_module_eval_mode():
    # Per-member input K x P x D gives the same as the shared input broadcast; nn.Module forward
    # is searched in eval mode and restored.
    forward, _ = _mlp(2, 4, 8, 3, seed=2)
    x = torch.rand(10, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    kw = dict(radius=0.5, alpha=0.1, beta=0.0, iters=5, min_new=0)
    a = lass(forward, x, **kw)
    b = lass(forward, x.expand(2, *x.shape).clone(), **kw)
    assert torch.equal(a.critical, b.critical) and torch.allclose(a.x_adv, b.x_adv)

    class M(torch.nn.Module):
        def forward(self, z):
            assert not self.training
            return forward(z)

    m = M().train()
    lass(m, x, **kw)
    assert m.training


# the spec's default and preset values (0.3, 0.25, 0.2; offline radius 2) and other round ones
RADII_255 = (0.0, 0.2, 0.25, 0.3, 1.0, 2.0, 5.0, 8.0, 20.0, 80.0, 255.0)


def test_data_units_matches_the_old_conversions():
    # the three former copies: v / 255 (twice in the engine) and v * (range / 255) (csr)
    for v in RADII_255:
        assert data_units(v) == v / 255
        assert data_units(v, (0.0, 1.0)) == v * (1.0 / 255.0)
    assert data_units(255.0, (-1.0, 1.0)) == 2.0
    assert data_units(51.0, (0.0, 255.0)) == pytest.approx(51.0)


def test_csr_uses_the_value_range():
    forward, _ = _mlp(1, 5, 16, 4)
    x = torch.rand(100, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    m = MetricsSpec(csr_radius=40.0, csr_alpha=5.0, csr_beta=0.0, csr_iters=10, csr_min_new=0)
    wide = csr(forward, x, m, torch.Generator().manual_seed(0), value_range=(-1.0, 1.0))[0]
    kw = dict(radius=80 / 255, alpha=10 / 255, beta=0.0, iters=10, min_new=0)
    ref = lass(forward, x, **kw, generator=torch.Generator().manual_seed(0))
    assert torch.equal(wide, ref.ratio)


def test_r_over_255_is_the_same_share_of_the_range_on_every_dataset():
    from memcore.datasets import REGISTRY

    spans = {n: i.value_range[1] - i.value_range[0] for n, i in REGISTRY.items()}
    assert spans["mnist1d"] > 5 * spans["digits"]  # two datasets with different ranges
    for r in (0.3, 2.0, 8.0):
        shares = {n: data_units(r, i.value_range) / spans[n] for n, i in REGISTRY.items()}
        assert all(s == pytest.approx(r / 255) for s in shares.values()), shares


@pytest.mark.parametrize("name", ["digits", "mnist1d", "mnist", "fashion_mnist", "cifar10"])
def test_csr_is_zero_at_radius_zero_on_every_dataset(name):
    from memcore.datasets import REGISTRY

    lo, hi = REGISTRY[name].value_range
    forward, _ = _mlp(2, 5, 16, 4)
    g = torch.Generator().manual_seed(1)
    x = lo + (hi - lo) * torch.rand(200, 5, generator=g, dtype=torch.float64)
    m = MetricsSpec(csr_radius=0.0, csr_alpha=1.0, csr_beta=1.0, csr_iters=20, csr_min_new=0)
    ratio, _ = csr(forward, x, m, torch.Generator().manual_seed(0), value_range=(lo, hi))
    assert (ratio == 0).all()


def test_should_stop_ends_a_search_at_the_next_iteration():
    forward, _ = _mlp(2, 6, 8, 3)
    x = torch.rand(40, 6, dtype=torch.float64)
    calls = []

    def stop_after_five() -> bool:
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(SearchStopped, match="stopped after 5 of 10000 LASS iterations"):
        lass(forward, x, radius=0.5, alpha=0.01, beta=0.0, iters=10_000, min_new=0,
             should_stop=stop_after_five)  # fmt: skip
    full = lass(forward, x, radius=0.5, alpha=0.01, beta=0.0, iters=5, min_new=0,
                should_stop=lambda: False)  # fmt: skip
    assert full.iters == 5  # a stop check that never fires changes nothing


def test_the_engine_ends_its_stream_when_stopped_inside_a_csr_search(tiny_spec):
    from memcore.engine import trainer

    spec = tiny_spec.replace(
        **{"metrics.csr_every": 1, "metrics.csr_iters": 10_000, "metrics.csr_min_new": 0}
    )
    checks = 0

    def stop() -> bool:  # true from the 20th check on: inside the epoch-0 search
        nonlocal checks
        checks += 1
        return checks >= 20

    recs = list(trainer.train(spec, should_stop=stop))
    assert [r["type"] for r in recs if r["type"] in ("csr", "done")] == []
    assert checks == 20  # it stopped at the first check that said so, not 10,000 later
