"""Figures end to end: spec grids are valid and deduplicated, and a figure run through the real
job store (an in-process worker training with the real engine) gives its frame and a verdict;
the CLI prints the verdict as a JSON last line and reuses the stored runs."""

from __future__ import annotations

import json

import pytest

from memcore import cli
from memcore.figures import FIGURES, SCALES, VERDICTS, get
from memcore.figures.figure import Verdict
from memcore.jobs import api
from memcore.spec import RunSpec
from memcore.sweeps import sweep as fr


def test_registry_has_every_figure_of_the_paper():
    assert set(FIGURES) == {
        "capacity", "convergence", "easiness", "sensitivity", "class-sensitivity", "critical",
        "noise-levels", "regularization", "sharpness", "filters",
    }  # fmt: skip
    with pytest.raises(ValueError, match="capacity"):
        get("nope")


@pytest.mark.parametrize("name", list(FIGURES))
@pytest.mark.parametrize("dataset", ["digits", "mnist1d", "mnist"])
def test_grids_are_valid_specs_at_every_scale(name, dataset):
    fig = FIGURES[name]
    for scale in SCALES:
        grid = fig.grid(dataset, scale)
        assert grid and all(isinstance(s, RunSpec) for s in grid)
        assert len({s.key for s in grid}) == len(grid)
        assert all(s.data.dataset == dataset for s in grid)
        assert fig.setup(dataset, scale)
    with pytest.raises(ValueError, match="scale"):
        fig.grid(dataset, "huge")


def test_quick_grids_use_the_calibrated_learning_rate_on_offline_data():
    for name in ("capacity", "easiness", "critical", "convergence"):
        assert {s.train.lr for s in get(name).grid("digits", "quick")} == {0.1}
    assert {s.train.lr for s in get("capacity").grid("mnist", "paper")} == {0.01}


def test_unused_csr_fields_do_not_enter_the_key(monkeypatch):
    from memcore.spec import presets as S

    before = {s.key for s in get("capacity").grid("digits", "quick")}
    csr_before = {s.key for s in get("critical").grid("digits", "quick")}
    adv = [s.key for s in get("regularization").grid("digits", "quick")
           if s.train.regularizer == "adversarial"]  # fmt: skip
    preset = {**S.PRESETS["digits-mlp"], "metrics.csr_radius": 5.0}
    monkeypatch.setitem(S.PRESETS, "digits-mlp", preset)
    assert {s.key for s in get("capacity").grid("digits", "quick")} == before
    assert {s.key for s in get("critical").grid("digits", "quick")}.isdisjoint(csr_before)
    new_adv = [s.key for s in get("regularization").grid("digits", "quick")
               if s.train.regularizer == "adversarial"]  # fmt: skip
    assert set(new_adv).isdisjoint(adv)  # adversarial training does use the CSR search


def test_regularizer_sweep_is_one_batched_run_per_regularizer_and_data():
    grid = get("regularization").grid("digits", "quick")
    assert len(grid) == 2 * 6
    for s in grid:
        assert s.train.members == len(s.train.member_strengths) > 1


def test_verdict_rejects_unknown_values():
    with pytest.raises(ValueError):
        Verdict("maybe", "")


def test_a_figure_end_to_end_through_the_job_store(memcore_env):
    store = memcore_env["store"]
    seen = []
    res = fr.run("easiness", "digits", "test", store, on_progress=seen.append)
    assert res.progress.done == res.progress.total == 3
    assert seen and seen[-1].finished
    assert set(get("easiness").columns) <= set(res.frame.columns)
    assert set(res.frame["setting"]) == {"real", "randX", "randY"}
    assert res.frame["p_correct"].between(0, 1).all()
    # The test scale has 8 members: too few for the binomial comparison, and the check says so.
    assert res.verdict.verdict == "inconclusive" and "members" in res.verdict.summary
    # The CLI reuses the stored runs and prints the verdict as its last line.
    n_runs = len(api.list_runs(store))
    code = cli.main(["figure", "easiness", "--scale", "test", "--store", str(store), "--json"])
    assert code == 0
    assert len(api.list_runs(store)) == n_runs


def test_cli_json_last_line(memcore_env, capsys):
    store = str(memcore_env["store"])
    assert cli.main(["figure", "class-sensitivity", "--scale", "test", "--store", store]) == 0
    capsys.readouterr()
    assert cli.main(["figure", "class-sensitivity", "--scale", "test", "--store", store,
                     "--json"]) == 0  # fmt: skip
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["figure"] == "class-sensitivity"
    assert last["verdict"] in VERDICTS
    assert "numbers" in last and last["runs_done"] == 2


def test_cli_list_and_bad_name(capsys):
    assert cli.main(["figure", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in FIGURES)
    assert cli.main(["figure", "nope"]) == 2


def test_evaluate_on_an_empty_store_is_inconclusive(memcore_env):
    res = fr.evaluate("capacity", "digits", "test", memcore_env["store"])
    assert res.verdict.verdict == "inconclusive"
    assert res.progress.counts == {"missing": res.progress.total}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FIGURES))
def test_every_figure_at_test_scale_gives_a_frame_and_a_verdict(name, memcore_env):
    res = fr.run(name, "digits", "test", memcore_env["store"])
    assert res.errors == []
    assert res.progress.done == res.progress.total
    assert not res.frame.empty
    assert set(get(name).columns) <= set(res.frame.columns)
    assert res.verdict.verdict in VERDICTS and res.verdict.summary
    json.dumps(res.to_dict())
