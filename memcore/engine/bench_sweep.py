"""The batched-sweep benchmark (`python -m memcore bench`, result key "sweep"): a 5-level noise
sweep trained as 5 runs one after another, then as one batched run (engine.batching).

The sweep: random labels at levels 0, 0.2, 0.4, 0.6, 0.8 on digits, in the noise-levels figure's
quick-scale setting (MLP 2 x 256, 2 members per level, lr 0.1, 9 epochs, CSR every 3 epochs on
all 359 validation images, 100 LASS iterations) or, with --quick, its test-scale one (200
examples, MLP 2 x 32, 1 member, 3 epochs, CSR every epoch on 50 probes). Both ways produce
every record (the evaluations and CSR included), so the times are what a figure sweep
spends in the engine.
Reported: both times, their ratio, and the load average (other processes slow CPU timings).
"""

from __future__ import annotations

import time
from typing import Any

import torch

from memcore import machine
from memcore.data import noise
from memcore.engine.trainer import train, train_batch
from memcore.spec import RunSpec

LEVELS = (0.0, 0.2, 0.4, 0.6, 0.8)


def sweep_specs(quick: bool, device: torch.device) -> list[RunSpec]:
    """The sweep's specs: random labels at LEVELS, in the noise-levels figure's quick-scale
    setting, or (quick) its test-scale one."""
    small = {"data.train_size": 200, "model.width": 32, "train.members": 1, "train.epochs": 3,
             "metrics.csr_every": 1, "metrics.csr_probes": 50}  # fmt: skip
    base = RunSpec().replace(
        **{
            "model.width": 256,
            "train.lr": 0.1,
            "train.members": 2,
            "train.epochs": 9,
            "train.device": str(device),
            "metrics.track_size": 0,
            "metrics.csr_every": 3,
            "metrics.csr_radius": 2.0,
            "metrics.csr_min_new": 0,
            **(small if quick else {}),
        }
    )
    return [
        base.replace(**({"noise.kind": "randY", "noise.level": p} if p else {})) for p in LEVELS
    ]


def bench_sweep(quick: bool = False, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Seconds for the sweep as separate runs and as one batched run, and their ratio."""
    specs = sweep_specs(quick, torch.device(device))
    data = noise.prepare_batch(specs)  # loaded before timing, shared by both ways
    t0 = time.perf_counter()
    for spec, d in zip(specs, data, strict=True):
        for _ in train(spec, data=d):
            pass
    separate = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in train_batch(specs, data=data):
        pass
    batched = time.perf_counter() - t0
    return {
        "bench": "sweep",
        "runs": len(specs),
        "members_per_run": specs[0].train.members,
        "epochs": specs[0].train.epochs,
        "separate_s": round(separate, 4),  # a tiny sweep takes milliseconds
        "batched_s": round(batched, 4),
        "speedup": round(separate / batched, 2),
        "load_average": machine.load1(),
    }
