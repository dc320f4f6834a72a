"""The CSR schedule's one home (memcore.spec.schedule): epoch 0 always, early-dense on request,
the last epoch always; the engine measures exactly these epochs, the cost model counts them and
the app's ETA expects them."""

from __future__ import annotations

import pytest

from app import eta
from memcore.engine import cost
from memcore.engine.trainer import train
from memcore.spec.schedule import EARLY, csr_epochs


def test_every_includes_initialization_the_multiples_and_the_last():
    assert csr_epochs(20, 200) == (0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200)
    assert csr_epochs(3, 10) == (0, 3, 6, 9, 10)
    assert csr_epochs(0, 10, "early") == ()  # CSR off


def test_early_is_dense_at_the_start_then_even():
    at = csr_epochs(20, 200, "early")
    assert at[:7] == (0, 1, 2, 4, 8, 16, 20)
    assert at[6:] == tuple(range(20, 201, 20))
    gaps = [b - a for a, b in zip(at, at[1:], strict=False)]
    assert gaps[:5] == [1, 1, 2, 4, 8]  # doubling: each point halves the time since the last
    assert csr_epochs(5, 6, "early") == (0, 1, 2, 4, 5, 6)  # never past the last epoch
    assert set(EARLY) < set(at)


def test_a_bad_schedule_is_named():
    with pytest.raises(ValueError, match="metrics.csr_schedule='often' is invalid"):
        csr_epochs(5, 10, "often")


def test_engine_cost_and_eta_read_the_one_schedule(tiny_spec):
    spec = tiny_spec.replace(**{"train.epochs": 5, "metrics.csr_every": 4,
                                "metrics.csr_schedule": "early", "metrics.csr_probes": 10,
                                "metrics.csr_iters": 2})  # fmt: skip
    assert spec.csr_epochs == (0, 1, 2, 4, 5)
    measured = sorted({r["epoch"] for r in train(spec) if r["type"] == "csr"})
    assert measured == [0, 1, 2, 4, 5]
    assert eta.csr_epochs(spec, 1) == [2, 4, 5]
    off = spec.replace(**{"metrics.csr_schedule": "every"})
    # the cost model counts 5 searches, not the 3 (0, 4, 5) of the plain schedule
    extra = cost.estimate(spec).flops - cost.estimate(off).flops
    one = (
        cost.estimate(off).flops - cost.estimate(off.replace(**{"metrics.csr_every": 0})).flops
    ) / 3
    assert extra == pytest.approx(2 * one)
