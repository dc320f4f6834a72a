"""`python -m memcore bench`: the engine against a textbook PyTorch loop on the same work.

For each case (MLP width, members K, data size, batch size, epochs) the same training runs two
ways in one process on generated MNIST-shaped data (N x 784 uniform pixels, 10 random classes):

- textbook: TensorDataset + DataLoader(shuffle=True) + nn.Sequential + torch.optim.SGD, one model
  at a time (`textbook_models` models, each for the case's epochs);
- engine: engine.trainer's Trainer with K members, timed over its SGD steps (gather + fused step).

Reported per case: seconds per model-epoch of each, their ratio (speedup), and the engine's
achieved FLOP/s as a fraction of the device's measured matmul throughput (a large square fp32
matmul, TF32 when the case uses it). Engine FLOPs per model-epoch: N * (2 fwd + 2 weight-grad) *
sum(in*out) + N * 2 * sum(in*out over layers after the first) (input gradients).

Cases are a list (`cases(quick, device)`); add one to measure something else. The measurement
benchmarks of engine.bench_measurements (EXTRAS: a CSR search, the sensitivity experiment) and
engine.bench_sweep (a 5-level noise sweep as 5 runs vs one batched run) run after the cases.
Timings, never asserted in tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from memcore import machine
from memcore.data.loading import Dataset
from memcore.engine import device as devices
from memcore.engine.bench_measurements import bench_csr, bench_sensitivity
from memcore.engine.bench_sweep import bench_sweep
from memcore.engine.device import resolve_device
from memcore.engine.trainer import Trainer
from memcore.spec import RunSpec

# Measurement benchmarks run after the cases: (result key, function(quick, device)).
EXTRAS: tuple[tuple[str, Callable[[bool, torch.device], dict[str, Any]]], ...] = (
    ("critical", bench_csr),
    ("sensitivity", bench_sensitivity),
    ("sweep", bench_sweep),
)


@dataclass(frozen=True)
class Case:
    name: str
    width: int
    members: int
    n: int  # training examples
    batch: int = 64
    epochs: int = 1
    depth: int = 2
    d_in: int = 784
    classes: int = 10
    textbook_models: int = 1  # models the textbook loop trains (time is per model-epoch)
    precision: str = "fp32"
    repeats: int = 1  # alternate textbook and engine this many times, keep each one's best


def cases(quick: bool, device: torch.device) -> list[Case]:
    """The benchmark cases for `device` (GPU: the issue's MNIST-sized targets)."""
    if device.type == "cuda":
        return [
            Case("mnist-4096-k100", 4096, 100, 60_000, precision="tf32"),
            Case("mnist-512-k100", 512, 100, 60_000, precision="tf32"),
        ]
    if quick:
        return [Case("w64-k32", 64, 32, 4_000), Case("w512-k8", 512, 8, 2_000)]
    return [Case("w64-k32", 64, 32, 20_000, repeats=2), Case("w512-k8", 512, 8, 10_000, repeats=2)]


def peak_flops(device: torch.device, tf32: bool = False) -> float:
    """Measured FLOP/s of a large square matmul on `device` (fp32, or TF32 on CUDA)."""
    n = 8192 if device.type == "cuda" else 1024
    with devices.Tf32(tf32):
        a = torch.rand(n, n, device=device)
        b = torch.rand(n, n, device=device)
        torch.mm(a, b)
        devices.sync(device)
        reps, t0 = 0, time.perf_counter()
        while reps < 3 or time.perf_counter() - t0 < 0.5:
            torch.mm(a, b)
            reps += 1
            devices.sync(device)
        return 2 * n**3 * reps / (time.perf_counter() - t0)


def model_epoch_flops(case: Case) -> float:
    sizes = [case.d_in] + [case.width] * case.depth + [case.classes]
    macs = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    return case.n * (4 * sum(macs) + 2 * sum(macs[1:]))


def _data(case: Case) -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(case.n, case.d_in, generator=g)
    y = torch.randint(0, case.classes, (case.n,), generator=g)
    return Dataset(
        name="generated",
        x_train=x,
        y_train=y,
        x_val=x[:0],
        y_val=y[:0],
        y_clean=y,
        noisy=torch.zeros(case.n, dtype=torch.bool),
        classes=tuple(str(i) for i in range(case.classes)),
        n_classes=case.classes,
        input_shape=(case.d_in,),
    )


def textbook(case: Case, data, device: torch.device) -> float:
    """Seconds per model-epoch of the textbook loop."""
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(
        TensorDataset(data.x_train, data.y_train), batch_size=case.batch, shuffle=True
    )
    t_total = 0.0
    for m in range(case.textbook_models):
        torch.manual_seed(m)
        layers: list[nn.Module] = []
        sizes = [case.d_in] + [case.width] * case.depth
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(a, b), nn.ReLU()]
        model = nn.Sequential(*layers, nn.Linear(sizes[-1], case.classes)).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        loss_fn = nn.CrossEntropyLoss()
        devices.sync(device)
        t0 = time.perf_counter()
        for _ in range(case.epochs):
            for xb, yb in loader:
                xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
                opt.zero_grad()
                loss_fn(model(xb), yb).backward()
                opt.step()
        devices.sync(device)
        t_total += time.perf_counter() - t0
    return t_total / (case.textbook_models * case.epochs)


def engine_time(case: Case, data, device: torch.device) -> float:
    """Seconds per model-epoch of the engine (K members; SGD steps only, no evaluation)."""
    spec = RunSpec().replace(
        **{
            "model.width": case.width,
            "model.depth": case.depth,
            "train.members": case.members,
            "train.batch_size": case.batch,
            "train.lr": 0.01,
            "train.epochs": case.epochs,
            "train.device": str(device),
            "train.precision": case.precision,
            "metrics.track_size": 0,
        }
    )
    tr = Trainer(spec, data)
    with tr.tf32():
        perm = tr.permutations(0)  # warm-up: a few steps (allocator, kernels)
        for s in range(3):
            tr.sgd_step(*tr.on_device.gather(perm[:, s * tr.B : (s + 1) * tr.B]), 0.01, 0)
        devices.sync(device)
        t0 = time.perf_counter()
        for epoch in range(1, case.epochs + 1):
            perm = tr.permutations(epoch)
            for s in range(tr.steps_per_epoch):
                tr.sgd_step(*tr.on_device.gather(perm[:, s * tr.B : (s + 1) * tr.B]), 0.01, epoch)
        devices.sync(device)
        seconds = time.perf_counter() - t0
    return seconds / (case.members * case.epochs)


def run_case(case: Case, device: torch.device) -> dict[str, Any]:
    data = _data(case)
    t_book = t_eng = float("inf")
    for _ in range(case.repeats):  # alternating limits the effect of other load on the machine
        t_book = min(t_book, textbook(case, data, device))
        t_eng = min(t_eng, engine_time(case, data, device))
    flops = model_epoch_flops(case)
    return {
        **asdict(case),
        "device": str(device),
        "textbook_s_per_model_epoch": round(t_book, 5),
        "engine_s_per_model_epoch": round(t_eng, 5),
        "speedup": round(t_book / t_eng, 2),
        "engine_gflops": round(flops / t_eng / 1e9, 2),
    }


def run(quick: bool = False, device: str = "auto") -> dict[str, Any]:
    """All cases on `device` plus the measurement benchmarks; a JSON-serialisable dict."""
    dev = resolve_device(device)
    out: dict[str, Any] = {
        "bench": "engine",
        "device": str(dev),
        "torch_threads": torch.get_num_threads(),
        "quick": quick,
        # other processes' load makes CPU timings noisy: keep it next to them
        "load_average": machine.load1(),
    }
    tf32 = {c.precision == "tf32" and dev.type == "cuda" for c in cases(quick, dev)}
    # the peak is measured before and after the cases and the best kept: other load on the
    # machine otherwise makes the fraction of peak meaningless
    peaks = {t: peak_flops(dev, t) for t in tf32}
    timed = [run_case(c, dev) for c in cases(quick, dev)]
    peaks = {t: max(p, peak_flops(dev, t)) for t, p in peaks.items()}
    for c, case in zip(timed, cases(quick, dev), strict=True):
        peak = peaks[case.precision == "tf32" and dev.type == "cuda"]
        c["peak_gflops"] = round(peak / 1e9, 2)
        c["fraction_of_peak"] = round(c["engine_gflops"] * 1e9 / peak, 3)
    out["cases"] = timed
    for key, bench_fn in EXTRAS:
        out[key] = bench_fn(quick, dev)
    return out


def format_table(result: dict[str, Any]) -> str:
    """Human-readable summary of `run`'s result."""
    lines = [
        f"device {result['device']} ({result['torch_threads']} threads, "
        f"load average {result.get('load_average')})"
    ]
    head = f"{'case':<18}{'textbook s/model-ep':>21}{'engine s/model-ep':>19}{'speedup':>9}"
    lines += [head + f"{'GFLOP/s':>10}{'of peak':>9}"]
    for c in result["cases"]:
        lines.append(
            f"{c['name']:<18}{c['textbook_s_per_model_epoch']:>21.4f}"
            f"{c['engine_s_per_model_epoch']:>19.4f}{c['speedup']:>8.1f}x"
            f"{c['engine_gflops']:>10.1f}{c['fraction_of_peak']:>9.1%}"
        )
    for key, _ in EXTRAS:
        if key in result:
            lines.append(f"{key}: {result[key]}")
    return "\n".join(lines)
