"""memcore.engine.models: batched ensembles equal their members run alone; the fused SGD step equals
autograd + torch-style SGD; PyTorch's default init."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from memcore.engine.models import CNNEnsemble, MLPEnsemble, build
from memcore.spec import ModelSpec

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest


MLP = ModelSpec(arch="mlp", width=16, depth=2)
CNN = ModelSpec(arch="cnn", width_mult=0.03)


@pytest.mark.parametrize("spec", [MLP, CNN], ids=["mlp", "cnn"])
def test_member_k_equals_single_model_with_seed_plus_k(spec):
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    big = build(spec, (1, 8, 8), 10, members=4, seed=3).eval()
    for k in range(4):
        one = build(spec, (1, 8, 8), 10, members=1, seed=3 + k).eval()
        torch.testing.assert_close(big(x)[k], one(x)[0], atol=1e-5, rtol=1e-5)
        for a, b in zip(big.parameters(), one.parameters(), strict=True):
            assert torch.equal(a[k], b[0])


@pytest.mark.parametrize("spec", [MLP, CNN], ids=["mlp", "cnn"])
def test_shared_input_equals_per_member_copy(spec):
    net = build(spec, (1, 8, 8), 10, members=3, seed=0).eval()
    x = torch.rand(6, 1, 8, 8)
    per_member = x.expand(3, *x.shape)
    torch.testing.assert_close(net(x), net(per_member), atol=1e-6, rtol=1e-5)
    assert net(x).shape == (3, 6, 10)


def test_mlp_init_matches_torch_default_linear_layers():
    torch.manual_seed(7)  # nn.Linear draws weight, then bias, from the global generator
    ref = nn.Sequential(
        nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 10)
    )
    net = build(MLP, (64,), 10, members=2, seed=7)
    x = torch.rand(4, 64)
    torch.testing.assert_close(net(x)[0], ref(x))
    assert not torch.allclose(net(x)[1], ref(x))  # member 1 uses seed 8


def _autograd_sgd(net, xb, yb, lr, momentum, bufs, decay, masks):
    """Reference: autograd on the sum of members' mean CE + torch.optim.SGD's update rule."""
    it = iter(masks)
    logits = net(xb, hidden=lambda h: h * next(it))
    loss = sum(F.cross_entropy(logits[k], yb[k]) for k in range(yb.shape[0]))
    grads = torch.autograd.grad(loss, list(net.parameters()))
    with torch.no_grad():
        for p, g, v in zip(net.parameters(), grads, bufs, strict=True):
            g = g + p * decay.view(-1, *([1] * (p.dim() - 1)))
            v.mul_(momentum).add_(g)
            p.add_(v, alpha=-lr)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_fused_sgd_step_equals_autograd_reference(momentum):
    K, B = 3, 7
    g = torch.Generator().manual_seed(1)
    xb, yb = torch.rand(K, B, 64, generator=g), torch.randint(0, 10, (K, B), generator=g)
    net = build(MLP, (64,), 10, members=K, seed=0)
    ref = copy.deepcopy(net)
    decay = torch.tensor([0.0, 0.1, 2.0])
    bufs = [torch.zeros_like(p) for p in net.parameters()]
    ref_bufs = [torch.zeros_like(p) for p in ref.parameters()]
    for _ in range(3):
        masks = [(torch.rand(K, B, 16, generator=g) > 0.3).float() / 0.7 for _ in range(2)]
        it = iter(masks)

        def hidden(h, it=it):
            m = next(it)
            return h * m, m

        net.sgd_step(
            xb,
            yb,
            lr=0.1,
            momentum=momentum,
            bufs=bufs,
            decay_K=decay,
            hidden=hidden,
        )
        _autograd_sgd(ref, xb, yb, 0.1, momentum, ref_bufs, decay, masks)
    for a, b in zip(net.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_fused_step_example_weights_equal_weighted_loss():
    K, B = 2, 6
    g = torch.Generator().manual_seed(2)
    xb, yb = torch.rand(K, B, 64, generator=g), torch.randint(0, 10, (K, B), generator=g)
    w = torch.rand(B, generator=g)
    net = build(MLP, (64,), 10, members=K, seed=0)
    ref = copy.deepcopy(net)
    net.sgd_step(xb, yb, lr=0.5, example_w=w)
    ce = F.cross_entropy(ref(xb).reshape(-1, 10), yb.reshape(-1), reduction="none").view(K, B)
    grads = torch.autograd.grad((ce * w).sum(), list(ref.parameters()))
    for p, q, gr in zip(net.parameters(), ref.parameters(), grads, strict=True):
        torch.testing.assert_close(p, q.detach() - 0.5 * gr, atol=1e-6, rtol=1e-5)


def test_cnn_crops_cifar_and_rejects_non_images():
    net = CNNEnsemble((3, 32, 32), 10, 0.02, members=2, seed=0)
    assert net.crop == 2 and net(torch.rand(3, 3, 32, 32)).shape == (2, 3, 10)
    with pytest.raises(ValueError, match="cnn"):
        build(CNN, (40,), 10, members=1, seed=0)
    with pytest.raises(ValueError, match="side"):
        build(CNN, (1, 4, 4), 10, members=1, seed=0)


def test_cnn_batchnorm_is_per_member():
    """Training-mode BN statistics of member k use only member k's batch."""
    net = build(CNN, (1, 8, 8), 10, members=2, seed=0).train()
    x = torch.rand(2, 5, 1, 8, 8)
    out = net(x)
    x2 = x.clone()
    x2[1] = torch.rand(5, 1, 8, 8) * 3  # change member 1's batch only
    out2 = build(CNN, (1, 8, 8), 10, members=2, seed=0).train()(x2)
    torch.testing.assert_close(out[0], out2[0])
    assert not torch.allclose(out[1], out2[1])


def test_mlp_accepts_flat_and_image_inputs():
    net = MLPEnsemble((1, 8, 8), 10, 8, 1, members=2, seed=0)
    x = torch.rand(3, 1, 8, 8)
    torch.testing.assert_close(net(x), net(x.reshape(3, 64)))
    torch.testing.assert_close(net(x.expand(2, *x.shape)), net(x.reshape(3, 64)))
