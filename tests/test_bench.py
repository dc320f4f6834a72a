"""memcore.engine.bench, its measurement benchmarks (engine.bench_measurements) and
`python -m memcore bench`: runs on tiny cases and reports every field (timings are printed,
never asserted)."""

from __future__ import annotations

import json

import pytest
import torch

from memcore.cli import main
from memcore.engine import bench
from memcore.engine.bench_measurements import bench_csr, bench_sensitivity

FIELDS = {
    "name",
    "width",
    "members",
    "n",
    "device",
    "textbook_s_per_model_epoch",
    "engine_s_per_model_epoch",
    "speedup",
    "engine_gflops",
    "peak_gflops",
    "fraction_of_peak",
}


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(
        bench, "cases", lambda quick, device: [bench.Case("tiny", 8, 3, 256, d_in=20)]
    )
    monkeypatch.setattr(bench, "EXTRAS", ())


def test_run_reports_every_field(tiny):
    result = bench.run(quick=True, device="cpu")
    assert result["device"] == "cpu" and len(result["cases"]) == 1
    case = result["cases"][0]
    assert set(case) >= FIELDS
    assert case["textbook_s_per_model_epoch"] > 0 and case["engine_s_per_model_epoch"] > 0
    assert "tiny" in bench.format_table(result)


def test_cli_bench_json_is_one_line(tiny, capsys):
    assert main(["bench", "--quick", "--json", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["cases"][0]["name"] == "tiny"


def test_flop_count_matches_layer_sizes():
    case = bench.Case("c", width=10, members=1, n=2, d_in=5, classes=3)
    macs = 5 * 10 + 10 * 10 + 10 * 3
    assert bench.model_epoch_flops(case) == 2 * (4 * macs + 2 * (10 * 10 + 10 * 3))


def test_default_cases_cover_the_issue_targets():
    cpu = {(c.width, c.members) for c in bench.cases(True, torch.device("cpu"))}
    gpu = {(c.width, c.members, c.n) for c in bench.cases(False, torch.device("cuda"))}
    assert cpu == {(64, 32), (512, 8)}
    assert gpu == {(4096, 100, 60_000), (512, 100, 60_000)}


def test_extra_benchmarks_are_called(tiny, monkeypatch):
    monkeypatch.setattr(bench, "EXTRAS", (("critical", lambda quick, dev: {"q": quick}),))
    assert bench.run(quick=True, device="cpu")["critical"] == {"q": True}


def test_default_extras_are_the_measurement_benchmarks():
    from memcore.engine.bench_sweep import bench_sweep

    assert dict(bench.EXTRAS) == {
        "critical": bench_csr,
        "sensitivity": bench_sensitivity,
        "sweep": bench_sweep,
    }


@pytest.mark.slow
def test_bench_csr_smoke():
    out = bench_csr(quick=True)
    assert out["iters"] == 20 and out["seconds"] > 0 and 0 <= out["csr"] <= 1


@pytest.mark.slow
def test_bench_sensitivity_smoke():
    out = bench_sensitivity(quick=True)
    assert out["evaluations_class"] == out["evaluations_unique"] == 2


def test_sweep_bench_times_the_five_levels_both_ways(monkeypatch, tiny_spec):
    from memcore.engine import batching, bench_sweep

    for quick in (True, False):
        specs = bench_sweep.sweep_specs(quick, torch.device("cpu"))
        assert [s.noise.level for s in specs] == list(bench_sweep.LEVELS)
        assert len({batching.shape_key(s) for s in specs}) == 1  # one batched run
    tiny = [tiny_spec.replace(**{"train.epochs": 1, "noise.kind": "randY", "noise.level": p})
            for p in (0.2, 0.5)]  # fmt: skip
    monkeypatch.setattr(bench_sweep, "sweep_specs", lambda quick, device: tiny)
    out = bench_sweep.bench_sweep(quick=True, device="cpu")
    assert out["runs"] == 2 and out["separate_s"] > 0 and out["batched_s"] > 0
    # times rounded to 0.1 ms, the ratio to 0.01: the ratio of the unrounded times lies within
    # what the rounding allows (tiny runs take milliseconds)
    sep, bat, half = out["separate_s"], out["batched_s"], 0.00005
    lo = (sep - half) / (bat + half) - 0.005
    hi = (sep + half) / max(bat - half, 1e-9) + 0.005
    assert lo <= out["speedup"] <= hi
    assert "load_average" in out
