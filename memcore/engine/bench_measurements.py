"""Benchmarks of the measurements, run by `python -m memcore bench` after the training cases:
one full CSR search (metrics.critical) and the paper's loss-sensitivity experiment
(engine.sensitivity_task). Each returns a JSON-serialisable dict; timings, never asserted in tests.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import torch

from memcore import machine
from memcore.engine import device as devices
from memcore.engine import sensitivity_task
from memcore.metrics import critical
from memcore.spec.presets import preset


def _mlp_forward(
    members: int, d_in: int, width: int, n_classes: int, device: torch.device, seed: int = 0
) -> critical.Forward:
    """A K-member 2-hidden-layer ReLU MLP as stacked weights (no engine.models: the search
    alone is timed)."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    dims = [d_in, width, width, n_classes]
    ws, bs = [], []
    for a, b in zip(dims[:-1], dims[1:], strict=True):
        bound = a**-0.5
        ws.append(((torch.rand(members, a, b, generator=g) * 2 - 1) * bound).to(device))
        bs.append(((torch.rand(members, 1, b, generator=g) * 2 - 1) * bound).to(device))

    def forward(x: torch.Tensor) -> torch.Tensor:
        # x is shared (P x D) or per member (K x P x D)
        h = x.unsqueeze(0).expand(members, *x.shape) if x.dim() == 2 else x
        for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < len(ws) - 1:
                h = h.relu()
        return h

    return forward


def bench_csr(quick: bool = False, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Time one full CSR search: 1,000 probes (200 when quick), 100 LASS iterations (no early
    stop), 784-W-W-10 MLP with W = 512 on CPU and 4096 on a GPU, one member."""
    device = torch.device(device)
    width = 4096 if device.type == "cuda" else 512
    probes = 200 if quick else 1000
    iters = 20 if quick else 100
    forward = _mlp_forward(1, 784, width, 10, device)
    x = torch.rand(probes, 784, generator=torch.Generator().manual_seed(1)).to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    kw = dict(
        radius=critical.data_units(8),
        alpha=critical.data_units(0.25),
        beta=critical.data_units(0.2),
        iters=iters,
        min_new=0,
    )
    critical.lass(forward, x[:10], **kw, generator=gen)  # warm-up (allocator, kernels)
    devices.sync(device)
    t0 = time.perf_counter()
    res = critical.lass(forward, x, **kw, generator=gen)
    devices.sync(device)
    seconds = time.perf_counter() - t0
    return {
        "bench": "csr",
        "device": str(device),
        "width": width,
        "probes": probes,
        "iters": res.iters,
        "seconds": round(seconds, 4),
        "ms_per_iter": round(1000 * seconds / res.iters, 3),
        "csr": float(res.ratio[0]),
        "threads": torch.get_num_threads(),
        "load_average": machine.load1(),  # other processes on the same cores
    }


def _synthetic(n: int, side: int, n_classes: int, unique: bool, seed: int = 0) -> SimpleNamespace:
    """n uniform side x side images, classes in turn (or n unique labels), no noise, no val."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % n_classes
    x = torch.rand(n, 1, side, side, generator=g)
    return SimpleNamespace(
        x_train=x,
        y_train=torch.arange(n) if unique else y,
        y_clean=y,
        noisy=torch.zeros(n, dtype=torch.bool),
        x_val=x[:0],
        classes=tuple(range(n_classes)),
        n_classes=n if unique else n_classes,
    )


def bench_sensitivity(quick: bool = False, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Wall time of the paper's sensitivity experiment: 1,000 examples (200 when quick) of
    14 x 14 inputs, 2x16 MLP, 1 epoch at batch 10, evaluation every 10 steps, 10 classes and
    unique labels. Runs on CPU whatever `device` (float64, launch-bound on a GPU)."""
    n = 200 if quick else 1000
    spec = preset("sensitivity-2x16", **{"data.train_size": n})
    out: dict[str, Any] = {
        "bench": "sensitivity",
        "device": "cpu",
        "examples": n,
        "threads": torch.get_num_threads(),
        "load_average": machine.load1(),  # other processes on the same cores
    }
    for name, unique in (("class", False), ("unique", True)):
        t0 = time.perf_counter()
        recs = list(sensitivity_task.run(spec, data=_synthetic(n, 14, 10, unique)))
        out[f"seconds_{name}"] = round(time.perf_counter() - t0, 3)
        out[f"evaluations_{name}"] = recs[-1]["summary"]["evaluations"]
    return out
