"""Unrolled loss-sensitivity against finite differences and a naive create_graph unroll;
per-class matrix against a loop; the record stream of `run` (its Gini: metrics.gini)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from memcore.engine import sensitivity_task as task
from memcore.metrics import sensitivity as sens
from memcore.metrics.gini import gini
from memcore.spec.presets import preset

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest


def _problem(n=6, d=3, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g, dtype=torch.float64)
    y = torch.arange(n) % c
    params = sens.init_mlp(d, 4, 2, c, seed=1)
    batches = [torch.tensor(b) for b in ([0, 3], [1, 4], [2, 5], [5, 1], [0, 2], [4, 3])]
    return x, y, params, batches


def _unrolled_loss(x_updates, x_loss, y, classes, params, batches, lr, cls=None):
    """L^(cls)_T (or L_T) after plain SGD; x_updates feeds the steps, x_loss the final loss."""
    theta = [p.clone().requires_grad_(True) for p in params]
    for b in batches:
        loss = F.cross_entropy(sens.mlp(theta, x_updates[b]), y[b])
        grads = torch.autograd.grad(loss, theta, create_graph=True)
        theta = [p - lr * g for p, g in zip(theta, grads, strict=True)]
    ce = F.cross_entropy(sens.mlp(theta, x_loss), y, reduction="none")
    if cls is not None:
        ce = ce * (classes == cls)
    return ce.sum() / len(y)


def _unroll(x, y, params, batches, lr):
    un = sens.Unroll(x, y, y.clone(), [p.clone() for p in params], lr)
    for b in batches:
        un.sgd_step(b)
    return un


@pytest.mark.parametrize("mode", ["total", "indirect"])
def test_unrolled_gradient_matches_finite_differences(mode):
    x, y, params, batches = _problem()
    lr = 0.7
    dx = _unroll(x, y, params, batches, lr).class_gradients(mode)  # C x N x D
    eps = 1e-6
    for cls in range(3):
        fd = torch.zeros_like(x)
        for idx in np.ndindex(*x.shape):
            xp, xm = x.clone(), x.clone()
            xp[idx] += eps
            xm[idx] -= eps
            loss_p = _unrolled_loss(
                xp, xp if mode == "total" else x, y, y, params, batches, lr, cls
            )
            loss_m = _unrolled_loss(
                xm, xm if mode == "total" else x, y, y, params, batches, lr, cls
            )
            fd[idx] = (loss_p - loss_m).detach() / (2 * eps)
        assert torch.allclose(dx[cls], fd, rtol=1e-5, atol=1e-9), (cls, dx[cls], fd)


def test_unrolled_gradient_matches_naive_graph_at_every_step():
    x, y, params, batches = _problem(seed=3)
    lr = 0.5
    for t in (1, 3, 6):
        dx = _unroll(x, y, params, batches[:t], lr).class_gradients("total")
        xl = x.clone().requires_grad_(True)
        (ref,) = torch.autograd.grad(_unrolled_loss(xl, xl, y, y, params, batches[:t], lr), xl)
        assert torch.allclose(dx.sum(0), ref, rtol=1e-10, atol=1e-14)


def test_class_matrix_and_running_means_match_loops():
    x, y, params, batches = _problem(n=9, c=3, seed=4)
    classes = torch.tensor([0, 0, 1, 1, 1, 2, 2, 2, 2])
    un = sens.Unroll(x, y % 3, classes, [p.clone() for p in params], 0.5)
    acc = sens.Accumulator(classes, 3)
    grads = []
    for b in [torch.tensor([0, 4, 8]), torch.tensor([1, 5, 6]), torch.tensor([2, 3, 7])]:
        un.sgd_step(b)
        grads.append(un.class_gradients())
        acc.add(grads[-1])
    e = len(grads)
    g = [gr.sum(0).abs().sum(1) for gr in grads]  # |dL_t/dx|_1 per example
    assert torch.allclose(acc.sens, sum(g) / e)
    assert torch.allclose(acc.sens_time, sum(gi / gi.mean() for gi in g) / e)
    for i in range(3):
        for j in range(3):
            cell = sum(gr[i, classes == j].abs().sum(1).mean() for gr in grads) / e
            assert torch.isclose(acc.matrix[i, j], cell)
    # Rows sum (triangle inequality) to at least the per-example values, class by class.
    per_class_sum = sum(gr.abs().sum(2) for gr in grads).sum(0) / e  # N
    assert (per_class_sum >= acc.sens - 1e-15).all()


def test_overflow_raises_clear_error():
    x, y, params, batches = _problem()
    un = _unroll(x, y, params, batches, 0.5)
    un.lr = 1e200  # absurd: the reverse sweep blows up float64
    with pytest.raises(ValueError, match="overflow"):
        un.class_gradients()


def _data(n=30, c=3, unique=False):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % c
    noisy = torch.arange(n) < n // 3
    return SimpleNamespace(
        x_train=torch.rand(n, 1, 2, 2, generator=g),
        y_train=torch.arange(n) if unique else y,
        y_clean=y,
        noisy=noisy,
        x_val=torch.zeros(0, 1, 2, 2),
        classes=("a", "b", "c"),
        n_classes=n if unique else c,
    )


def test_run_record_stream_and_determinism():
    spec = preset(
        "sensitivity-2x16",
        **{"model.width": 4, "train.batch_size": 5, "train.epochs": 2, "metrics.sens_every": 4},
    )
    recs = list(task.run(spec, data=_data()))
    assert [r["type"] for r in recs[:1]] == ["meta"] and recs[-1]["type"] == "done"
    steps = [r["step"] for r in recs if r["type"] == "sens"]
    assert steps == [4, 8, 12]  # 6 steps per epoch, 2 epochs
    arrays = [r for r in recs if r["type"] == "arrays"]
    assert len(arrays) == 3
    a = arrays[-1]["arrays"]
    assert a["sensitivity"].shape == (30,) and a["sensitivity"].dtype == np.float64
    assert a["class_matrix"].shape == (3, 3) and a["noisy"].sum() == 10
    assert recs[-2]["type"] == "arrays" and recs[-3]["gini"] == pytest.approx(
        gini(a["sensitivity"])
    )
    again = list(task.run(spec, data=_data()))
    assert np.array_equal(again[-2]["arrays"]["sensitivity"], a["sensitivity"])
    # Unique labels: 30 output units, the class matrix stays over the 3 original classes.
    uniq = list(task.run(spec, data=_data(unique=True)))
    assert uniq[-2]["arrays"]["class_matrix"].shape == (3, 3)
    # should_stop ends the stream without "done".
    calls = iter(range(100))
    stopped = list(task.run(spec, data=_data(), should_stop=lambda: next(calls) >= 5))
    assert stopped[-1]["type"] != "done" and [r["step"] for r in stopped if "gini" in r] == [4]


def test_direct_sensitivity_matches_per_example_loop():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(2, 4, 3, generator=g, dtype=torch.float64)
    x = torch.randn(5, 4, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1])

    def forward(z):
        return torch.einsum("nd,kdc->knc", z, w).tanh()

    out = sens.direct_sensitivity(forward, x, y)
    for k in range(2):
        for n in range(5):
            xn = x[n : n + 1].clone().requires_grad_(True)
            (gx,) = torch.autograd.grad(F.cross_entropy(forward(xn)[k], y[n : n + 1]), xn)
            assert torch.isclose(out[k, n], gx.abs().sum())


def test_cli_prints_json_lines(capsys):
    from memcore.cli import main

    argv = ["sensitivity", "--dataset", "digits", "--noise", "randX", "--level", "1.0"]
    assert main([*argv, "--n", "50", "--labels", "unique", "--json"]) == 0
    lines = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    assert [r["type"] for r in lines] == ["meta", "sens", "done", "class_matrix"]
    assert lines[0]["n_noisy"] == 50 and lines[0]["n_classes"] == 50
    assert np.asarray(lines[-1]["class_matrix"]).shape == (10, 10)


def test_run_rejects_bad_values_with_clear_errors():
    spec = preset("sensitivity-2x16", **{"model.width": 4, "train.batch_size": 50})
    with pytest.raises(ValueError, match="train.batch_size"):
        list(task.run(spec, data=_data()))
    spec = preset("sensitivity-2x16", **{"model.width": 4, "train.momentum": 0.9})
    with pytest.raises(ValueError, match="momentum"):
        list(task.run(spec, data=_data()))


def test_summed_gradient_alone_equals_the_sum_of_the_class_gradients():
    x, y, params, batches = _problem(n=9, c=3, seed=2)
    un = _unroll(x, y, params, batches[:4], 0.5)
    for mode in ("total", "indirect"):
        full = un.class_gradients(mode)
        alone = un.class_gradients(mode, per_class=False)
        assert alone.shape == (1, *x.shape)
        assert torch.allclose(alone[0], full.sum(0), atol=1e-12)


def test_class_matrix_every_kth_evaluation_keeps_the_gini_and_averages_its_own_evaluations():
    """sens_class_every=k: the Gini (every evaluation) is unchanged; the class matrix is the
    mean over evaluations 1, 1 + k, ... and the last, and costs fewer backward sweeps."""
    base = {"model.width": 4, "train.batch_size": 5, "train.epochs": 3, "metrics.sens_every": 2}
    every = list(task.run(preset("sensitivity-2x16", **base), data=_data()))
    spec_k = preset("sensitivity-2x16", **base, **{"metrics.sens_class_every": 3})
    sparse = list(task.run(spec_k, data=_data()))
    gini_all = [r["gini"] for r in every if r["type"] == "sens"]
    gini_k = [r["gini"] for r in sparse if r["type"] == "sens"]
    assert gini_k == pytest.approx(gini_all, rel=1e-12)
    mats = [r["arrays"]["class_matrix"] for r in every if r["type"] == "arrays"]
    used = [i for i in range(len(mats)) if i % 3 == 0 or i == len(mats) - 1]  # 0-based evals
    # running means -> per-evaluation matrices, then the mean over the used evaluations
    per_eval = [mats[0]] + [(i + 1) * mats[i] - i * mats[i - 1] for i in range(1, len(mats))]
    want = np.mean([per_eval[i] for i in used], axis=0)
    got = [r for r in sparse if r["type"] == "arrays"][-1]["arrays"]["class_matrix"]
    assert np.allclose(got, want, rtol=1e-9)
    assert sparse[-1]["summary"]["class_evaluations"] == len(used) < len(mats)


@pytest.mark.parametrize(("depth", "c"), [(1, 1), (2, 4), (3, 2)])
def test_hand_written_step_equals_autograd_double_backward(depth, c):
    # step_hvp replaces autograd's double backward in the unroll: (H a, (dg/dx)^T a) for C
    # adjoints at once, any depth.
    g = torch.Generator().manual_seed(depth)
    x = torch.randn(5, 3, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 2, 0])
    params = sens.init_mlp(3, 4, depth, 3, seed=depth)
    adj = [torch.randn(c, *p.shape, generator=g, dtype=torch.float64) for p in params]
    h_a, dx = sens.step_hvp(params, x, y, adj)
    th = [p.clone().requires_grad_(True) for p in params]
    xb = x.clone().requires_grad_(True)
    grads = torch.autograd.grad(F.cross_entropy(sens.mlp(th, xb), y), th, create_graph=True)
    ref = torch.autograd.grad(grads, [*th, xb], grad_outputs=adj, is_grads_batched=True)
    for got, want in zip([*h_a, dx], ref, strict=True):
        assert got.shape == want.shape
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-14)
