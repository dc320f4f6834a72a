"""The second stage: more members than a figure's own reuse its stored runs.

Raising train.members above a figure's K adds a run of the extra members (seeded from seed + K)
next to the stored K-member run; frames number members by their seed, so the pooled members are
the members one larger run would have trained. An open verdict says how many members would
decide it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_figures_checks_training import filter_runs

from memcore.figures import filters, get, knobs
from memcore.figures.figure import RunData
from memcore.figures.verdict import members_to_decide
from memcore.jobs import api
from memcore.spec.presets import preset
from memcore.sweeps import sweep as fr


def test_more_members_keep_the_figures_own_runs_and_add_the_extra_members():
    fig = get("critical")
    own = fig.grid("digits", "quick")
    k = own[0].train.members
    tuned = knobs.tune(fig, {"train.members": str(k + 4), "train.epochs": "50"}).grid(
        "digits", "quick"
    )
    assert len(tuned) == 2 * len(own)
    for spec in own:
        base = spec.replace(**{"train.epochs": 50})
        extra = base.replace(**{"train.members": 4, "train.seed": spec.train.seed + k})
        assert base.key in {s.key for s in tuned} and extra.key in {s.key for s in tuned}
    # Untuned but for the members: the first stage's keys, so its stored runs are reused.
    more = knobs.tune(fig, {"train.members": str(k + 4)}).grid("digits", "quick")
    assert {s.key for s in own} < {s.key for s in more}


def test_fewer_members_are_one_run_each():
    fig = get("critical")
    fewer = knobs.tune(fig, {"train.members": "2"}).grid("digits", "quick")
    assert len(fewer) == len(fig.grid("digits", "quick"))
    assert {(s.train.members, s.train.seed) for s in fewer} == {(2, 0)}


def test_a_frame_numbers_members_by_their_seed():
    spec = preset("digits-mlp", **{"train.seed": 6, "train.members": 2})
    recs = [dict(type="epoch", epoch=1, member=m, train_acc=0.5, val_acc=0.5) for m in (0, 1)]
    assert list(RunData(spec, recs).frame("epoch")["member"]) == [6, 7]


@pytest.mark.slow
def test_pooled_members_equal_one_larger_run(memcore_env, tmp_path):
    """Easiness at the test scale (8 members): asking for 12 trains 4 more (3 runs, one per
    setting, reusing the 3 stored ones), and P(correct) over the pooled 12 equals that of one
    12-member run per setting (member k of a K-run is the 1-run seeded seed + k)."""
    store = memcore_env["store"]
    first = fr.run("easiness", "digits", "test", store)
    assert len(api.list_runs(store)) == 3 and set(first.frame["members"]) == {8}
    more = knobs.tune(get("easiness"), {"train.members": "12"})
    pooled = fr.run(more, "digits", "test", store)
    assert len(api.list_runs(store)) == 6  # the 3 stored runs reused, 3 of 4 members added
    assert set(pooled.frame["members"]) == {12}

    fig = get("easiness")
    one_run = dataclasses.replace(
        fig,
        specs=lambda d, s: [x.replace(**{"train.members": 12}) for x in fig.specs(d, s)],
    )
    whole = fr.run(one_run, "digits", "test", tmp_path / "other-store")
    assert set(whole.frame["members"]) == {12}
    cols = ["setting", "example"]
    a = pooled.frame.sort_values(cols)["p_correct"].to_numpy()
    b = whole.frame.sort_values(cols)["p_correct"].to_numpy()
    assert len(a) == len(b) == 300
    # The same models: at most a rare argmax tie broken by float rounding differs.
    assert np.mean(np.abs(a - b) > 1e-9) <= 0.01, np.abs(a - b).max()


def test_an_open_filters_verdict_says_how_many_members_would_decide():
    # Real filters a little smoother than random-label ones: a small effect, not resolved by
    # one member's 16 filters.
    runs = filter_runs(real_smooth=False)
    rng = np.random.default_rng(3)
    real = runs[0]
    base = real.arrays["filters"]
    smooth = base + 0.25 * np.cumsum(rng.normal(size=base.shape), axis=-1)
    runs[0] = RunData(real.spec, real.records, {**real.arrays, "filters": smooth})
    _, v = filters.FIGURE.evaluate(runs)
    assert v.verdict == "inconclusive", v.summary
    need = members_to_decide(v)
    assert need is not None and need > 1
    assert f"about {need} members would decide it" in v.summary
