"""memcore.engine.cost: a spec's size agrees with the model the engine builds, the estimate
grows with the work, and the queue refuses a run that cannot fit in memory, with the numbers."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from memcore.engine import cost, models
from memcore.jobs import api
from memcore.spec.presets import PRESETS, preset

SHAPES = [
    preset("digits-mlp", **{"model.width": 32, "model.depth": 1}),
    preset("digits-mlp", **{"model.width": 20, "model.depth": 3, "noise.labels": "unique",
                            "noise.kind": "randY", "noise.level": 0.5, "data.train_size": 50}),
    preset("mnist1d-mlp", **{"model.width": 64}),
    preset("digits-mlp", **{"model.arch": "cnn", "model.width_mult": 0.1}),
    preset("digits-mlp", **{"model.arch": "cnn", "model.width_mult": 0.05,
                            "data.dataset": "cifar10"}),
    preset("digits-mlp", **{"model.arch": "cnn", "model.width_mult": 0.05,
                            "data.dataset": "mnist", "data.downscale": 14}),
]  # fmt: skip


@pytest.mark.parametrize("spec", SHAPES, ids=lambda s: f"{s.data.dataset}-{s.model.arch}")
def test_sizes_match_the_model_the_engine_builds(spec) -> None:
    """Parameters per member = the built ensemble's / K; forward FLOPs = 2 x multiply-adds of
    the matmuls and convolutions, as torch's FLOP counter measures them."""
    shape = cost.model_shape(spec)
    k = 3
    net = models.build(spec.model, cost.input_shape(spec), cost.classes(spec), k, seed=0)
    learned = sum(p.numel() for p in net.parameters())
    assert shape.params * k == learned
    one = models.build(spec.model, cost.input_shape(spec), cost.classes(spec), 1, seed=0).eval()
    x = torch.zeros(1, *cost.input_shape(spec))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        one(x)
    assert counter.get_total_flops() == 2 * shape.macs


def test_estimate_grows_with_the_work() -> None:
    base = preset("digits-mlp", **{"model.width": 64, "train.epochs": 4, "metrics.csr_every": 0})
    c = cost.estimate(base, "cpu", threads=1)
    more = {
        "train.epochs": 8,
        "train.members": 2,
        "model.width": 128,
        "metrics.csr_every": 1,
        "metrics.early_steps": 10,
        "metrics.sharpness": True,
    }
    for name, value in more.items():
        bigger = cost.estimate(base.replace(**{name: value}), "cpu", threads=1)
        assert bigger.flops > c.flops and bigger.seconds > c.seconds, name
    csr = base.replace(**{"metrics.csr_every": 1, "metrics.csr_probes": 100})
    for name, value in (("metrics.csr_probes", 359), ("metrics.csr_iters", 1000)):
        lo = cost.estimate(csr, "cpu", threads=1)
        hi = cost.estimate(csr.replace(**{name: value}), "cpu", threads=1)
        assert hi.flops > 3 * lo.flops and hi.memory_bytes >= lo.memory_bytes, name
    # at most every example is a probe (digits: 359 validation, 1,438 training examples)
    most = csr.replace(**{"metrics.csr_probes": 100_000})
    assert (
        cost.estimate(most).flops
        == cost.estimate(most.replace(**{"metrics.csr_probes": 359})).flops
    )
    train_set = most.replace(**{"metrics.csr_set": "train"})
    assert cost.estimate(train_set).flops > cost.estimate(most).flops
    tracked = cost.estimate(base.replace(**{"metrics.track_size": 1400}), "cpu", threads=1)
    assert (
        tracked.memory_bytes > cost.estimate(base.replace(**{"metrics.track_size": 0})).memory_bytes
    )
    # the train flops term is exactly 6 M K N E
    two = cost.estimate(base.replace(**{"train.epochs": 8}), "cpu", threads=1)
    m, n = cost.model_shape(base).macs, cost.train_examples(base)
    assert two.flops - c.flops == pytest.approx(6 * m * n * 4 + 2 * m * (n + 359) * 4)
    # a faster device: the same FLOPs, fewer seconds
    gpu = cost.estimate(base, "cuda")
    assert gpu.flops == c.flops and gpu.seconds < c.seconds


def test_sensitivity_cost_is_quadratic_in_steps() -> None:
    s = preset("sensitivity-2x16")
    one = cost.estimate(s, "cuda")
    assert one.device == "cpu"  # the task always runs on the CPU
    two = cost.estimate(s.replace(**{"train.epochs": 2}), "cpu")
    assert two.flops > 2.5 * one.flops  # an evaluation at step t recomputes t steps


def test_sensitivity_adjoints_are_the_original_classes_at_class_evaluations_only() -> None:
    # The task carries one adjoint per original class at a class-matrix evaluation and one
    # otherwise; unique labels (N-way output) change the model's size, not the adjoint count.
    s = preset("sensitivity-2x16", **{"data.train_size": 200, "train.epochs": 2})  # S = 40
    every_eval = cost.estimate(s)
    m, b, n = cost.model_shape(s).macs, 10, 200
    at = range(10, 41, 10)
    assert every_eval.flops == pytest.approx(
        cost.FP64_SLOWDOWN * sum(8 * m * b * 10 * t + 6 * m * 10 * n for t in at)
    )
    sparse = cost.estimate(s.replace(**{"metrics.sens_class_every": 1000}))  # first and last
    assert sparse.flops == pytest.approx(
        cost.FP64_SLOWDOWN
        * sum(8 * m * b * a * t + 6 * m * a * n for a, t in zip((10, 1, 1, 10), at, strict=True))
    )
    u = s.replace(**{"noise.labels": "unique"})
    ratio = cost.model_shape(u).macs / m
    assert cost.estimate(u).flops == pytest.approx(every_eval.flops * ratio)


def test_presets_fit_and_small_runs_are_checked_without_torch_device_queries() -> None:
    for name in PRESETS:
        cost.check_fits(preset(name))  # no raise on this machine
    assert cost.check_fits(preset("digits-mlp")) is None  # obviously small: not checked


def test_the_queue_refuses_a_run_that_cannot_fit_in_memory(memcore_env) -> None:
    huge = preset("digits-mlp", **{"model.width": 65536, "train.members": 1000})
    with pytest.raises(ValueError) as err:
        api.submit(huge)
    msg = str(err.value)
    assert "needs about" in msg and "TB of memory" in msg and "cpu has" in msg, msg
    assert "model.width" in msg and "train.members" in msg
    with pytest.raises(ValueError, match="needs about"):
        api.submit_sweep([preset("digits-mlp"), huge])
    assert api.list_runs() == []


@pytest.mark.parametrize("device", ["cuda:999", "mps"])
def test_the_queue_refuses_a_device_this_machine_lacks(memcore_env, device: str) -> None:
    spec = preset("digits-mlp", **{"train.device": device})
    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    with pytest.raises(ValueError) as err:
        api.submit(spec)
    msg = str(err.value)
    assert msg.startswith(f"train.device={device!r} is invalid: "), msg
    assert "use auto" in msg or "GPU(s), cuda:0" in msg, msg
    assert "or mps" not in msg  # never offered as an alternative when missing
    assert api.list_runs() == []


def test_describe_reads_well() -> None:
    c = cost.Cost(flops=2.1e12, memory_bytes=3.1e8, seconds=70, device="cpu")
    assert c.describe() == "≈ 2.1 TFLOP, 310 MB, about 70 s on cpu"
    assert "h on" in cost.Cost(1e18, 1e12, 3 * 3600, "cuda").describe()
