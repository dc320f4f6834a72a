"""Claim checks on hand-made frames: each check says "holds" on data built so the paper's claim is
true in its regime, "fails" on data built so it is false in its regime, and "inconclusive" when a
regime precondition is not met (naming it and its measured value) or the spread cannot decide.
Sub-verdicts combine as figures.verdict documents."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from memcore.figures import (
    FIGURES,
    capacity,
    class_sensitivity,
    convergence,
    easiness,
    sensitivity,
)
from memcore.figures.verdict import Verdict, combine, unmet

RNG = np.random.default_rng(0)


def verdicts(v: Verdict) -> dict[str, str]:
    return {name: p.verdict for name, p in v.parts.items()}


# -- verdicts with parts --------------------------------------------------------------------------
def test_parts_combine_as_documented():
    h, f, i = Verdict("holds", "a"), Verdict("fails", "b"), Verdict("inconclusive", "c")
    assert combine({"x": h, "y": h}).verdict == "holds"
    assert combine({"x": h, "y": f, "z": i}).verdict == "fails"
    assert combine({"x": h, "y": i}).verdict == "inconclusive"
    v = combine({"x": h, "y": i}, {"n": 1})
    assert v.summary.startswith("holds: x, inconclusive: y")
    d = json.loads(json.dumps(v.to_dict()))
    assert d["parts"]["x"]["verdict"] == "holds" and d["numbers"] == {"n": 1}
    with pytest.raises(ValueError):
        combine({})


def test_unmet_names_every_failed_precondition():
    assert unmet([(True, "fine")]) is None
    v = unmet([(False, "randY 75% fitted only 41% of its labels"), (True, "ok"), (False, "x")])
    assert v.verdict == "inconclusive" and "41%" in v.summary and "x" in v.summary
    assert "ok" not in v.summary


def test_every_figure_states_its_regime():
    for r in FIGURES.values():
        assert len(r.regime) > 40, r.name
        assert "Regime" in sys.modules[r.check.__module__].__doc__, r.name


# -- capacity -----------------------------------------------------------------------------------
def capacity_frame(noisy_saturates_at: int, fit: float = 1.0, members: int = 2) -> pd.DataFrame:
    """Real data saturates at width 16; noisy levels at `noisy_saturates_at` (later if larger);
    members differ by a small spread."""
    rows = []
    widths = (8, 16, 64, 256, 1024)
    for panel in ("randX", "randY"):
        for level in (0.0, 0.4, 0.8):
            sat = 16 if level == 0 else noisy_saturates_at * (2 if level == 0.8 else 1)
            for w in widths:
                acc = (0.95 - 0.3 * level) - (0.2 if w < sat else 0.0)
                for m in range(members):
                    rows.append(dict(panel=panel, setting="real" if level == 0 else panel,
                                     level=level, width=w, member=m,
                                     best_val_acc=acc + 0.004 * (m - 0.5),
                                     final_train_acc=fit if level > 0 else 1.0,
                                     epochs=200.0, classes=10))  # fmt: skip
    return pd.DataFrame(rows)


def test_capacity_holds_when_noise_needs_more_width():
    v = capacity.check(capacity_frame(noisy_saturates_at=64))
    assert v.verdict == "holds", v.summary
    assert verdicts(v) == {"randX": "holds", "randY": "holds"}
    assert v.parts["randY"].numbers["near_best_width"]["0.0"] == 16
    assert v.parts["randY"].numbers["near_best_width"]["0.8"] == 256


def test_capacity_fails_when_every_level_saturates_together():
    df = capacity_frame(noisy_saturates_at=16)
    df.loc[df["level"] == 0.8, "best_val_acc"] = 0.5  # flat: best already at the smallest width
    v = capacity.check(df)
    assert v.verdict == "fails" and verdicts(v) == {"randX": "fails", "randY": "fails"}


def test_capacity_tolerance_comes_from_the_member_spread():
    df = capacity_frame(noisy_saturates_at=64)
    # Level 0.8 is 0.02 short of its best at width 64: near-best only if the spread is that wide.
    lv8 = df["level"] == 0.8
    df.loc[lv8 & (df["width"] == 64), "best_val_acc"] = 0.71 - 0.02
    df.loc[lv8 & (df["width"] < 64), "best_val_acc"] = 0.5
    assert capacity.check(df).parts["randY"].numbers["near_best_width"]["0.8"] == 256
    wide = df.copy()
    wide.loc[wide["member"] == 1, "best_val_acc"] += 0.03  # members disagree by 3 points
    wide.loc[wide["member"] == 0, "best_val_acc"] -= 0.03
    assert capacity.check(wide).parts["randY"].numbers["near_best_width"]["0.8"] == 64


def test_capacity_inconclusive_outside_its_regime():
    v = capacity.check(capacity_frame(64, fit=0.41))
    assert v.verdict == "inconclusive" and "fitted only 41%" in v.summary
    v = capacity.check(capacity_frame(64, members=1))
    assert v.verdict == "inconclusive" and "1 member" in v.summary
    df = capacity_frame(64)
    df.loc[df["level"] == 0, "best_val_acc"] = 0.2
    v = capacity.check(df)
    assert v.verdict == "inconclusive" and "validation accuracy" in v.summary
    df = capacity_frame(64)
    assert capacity.check(df[df["width"] <= 16]).verdict == "inconclusive"


# -- convergence --------------------------------------------------------------------------------
def convergence_frame(times: dict[str, tuple], censored=(), members: int = 3) -> pd.DataFrame:
    rows = []
    for s, ts in times.items():
        for n, t in zip((100, 200, 400), ts, strict=True):
            for m in range(members):
                c = (s, n) in censored
                rows.append(dict(panel="size", setting=s, level=0.0 if s == "real" else 0.5,
                                 train_size=n, width=256, member=m,
                                 epochs_to_fit=float(t) * (1 + 0.02 * m), censored=c,
                                 max_epochs=200.0, final_train_acc=0.97 if c else 1.0))  # fmt: skip
    df = pd.DataFrame(rows)
    real = df[df["setting"] == "real"].groupby("train_size")["epochs_to_fit"].mean()
    df["normalized"] = df["epochs_to_fit"] / df["train_size"].map(real)
    return df


SLOWER = "randY slower than real (workshop paper)"


def test_convergence_holds_when_noise_time_grows_faster():
    df = convergence_frame({"real": (10, 11, 12), "randX": (8, 16, 32), "randY": (20, 50, 120)})
    v = convergence.check(df)
    assert v.verdict == "holds", v.summary
    assert verdicts(v) == {"randX": "holds", "randY": "holds"}  # the poster's claim only
    assert v.parts["randY"].numbers["growth"] == 6.0
    assert v.observations[SLOWER].summary.startswith("(workshop paper")


def test_convergence_fails_when_noise_grows_no_faster_whatever_the_workshop_claim_says():
    # randY is slower at every size (the workshop paper's claim holds: an observation) but
    # grows no faster than real: the poster's claim fails.
    df = convergence_frame({"real": (10, 20, 40), "randX": (8, 16, 32), "randY": (20, 40, 80)})
    v = convergence.check(df)
    assert v.verdict == "fails"
    assert "holds: randY takes" in v.observations[SLOWER].summary
    # randY faster than real: the observation says fails; the headline holds all the same.
    df = convergence_frame({"real": (30, 33, 36), "randX": (8, 16, 50), "randY": (5, 12, 30)})
    v = convergence.check(df)
    assert "fails:" in v.observations[SLOWER].summary and v.verdict == "holds", v.summary


def test_convergence_inconclusive_outside_its_regime():
    df = convergence_frame(
        {"real": (10, 20, 200), "randX": (8, 16, 32), "randY": (20, 40, 80)},
        censored={("real", 400)},
    )
    v = convergence.check(df)
    assert v.verdict == "inconclusive"
    assert "real data at size 400 never reached 100%" in v.summary and "97.0%" in v.summary
    # A noisy setting censored at the smallest size: its growth part is open.
    df = convergence_frame(
        {"real": (10, 11, 12), "randX": (8, 16, 32), "randY": (200, 200, 200)},
        censored={("randY", 100), ("randY", 200), ("randY", 400)},
    )
    v = convergence.check(df)
    assert v.parts["randY"].verdict == "inconclusive" and "size 100" in v.summary
    assert "holds:" in v.observations[SLOWER].summary  # a lower bound suffices
    assert v.verdict == "inconclusive"


def test_convergence_censored_noisy_run_at_the_largest_size_is_a_lower_bound():
    df = convergence_frame(
        {"real": (10, 20, 40), "randX": (8, 16, 32), "randY": (20, 40, 80)},
        censored={("randY", 400)},
    )
    growth = convergence.check(df)
    assert growth.parts["randY"].verdict == "inconclusive"  # could be larger: open
    assert growth.parts["randX"].verdict == "fails"


def test_convergence_open_part_says_how_many_members_would_decide_it():
    # randX grows a little faster than real, with a spread over members that leaves it open.
    df = convergence_frame({"real": (10, 20, 40), "randX": (8, 16, 36), "randY": (20, 60, 200)})
    big = (df["setting"] == "randX") & (df["train_size"] == 400)
    df.loc[big & (df["member"] == 1), "epochs_to_fit"] *= 0.8
    df.loc[big & (df["member"] == 2), "epochs_to_fit"] *= 1.2
    part = convergence.check(df).parts["randX"]
    assert part.verdict == "inconclusive", part.summary
    assert part.numbers["members_to_decide"] > 3 and "members would decide it" in part.summary


# -- easiness -----------------------------------------------------------------------------------
def easiness_frame(real_spread: bool, k: int = 100, t: int = 1000, rng=RNG, randx=None):
    labels = np.arange(t) % 10
    p_real = rng.uniform(0, 1, t) if real_spread else np.full(t, 0.5)
    p_randy = rng.uniform(0.1, 0.3, t)
    p_randx = np.full(t, 0.1) if randx is None else randx
    parts = []
    for s, p in (("real", p_real), ("randX", p_randx), ("randY", p_randy)):
        parts.append(pd.DataFrame({"setting": s, "example": np.arange(t), "label": labels,
                                   "noisy": s != "real", "p_correct": rng.binomial(k, p) / k,
                                   "members": k, "classes": 10}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def test_easiness_holds_when_real_spreads_most():
    v = easiness.check(easiness_frame(real_spread=True))
    assert v.verdict == "holds", v.summary
    assert verdicts(v) == {
        "real more spread than randX": "holds",
        "real more spread than randY": "holds",
    }
    seen = v.observations["randX against its binomial reference"].numbers
    assert seen["randX_distance_from_binomial"] < 0.3
    assert "between randX and real" in v.observations["where randY falls"].summary


def test_easiness_where_randy_falls_is_an_observation_not_the_verdict():
    # randY no more spread than randX (issue 21, digits: 1.03 vs 0.94): the poster's claim,
    # real far more spread than both, still holds.
    rng = np.random.default_rng(3)
    df = easiness_frame(real_spread=True, rng=rng)
    randy = df["setting"] == "randY"
    df.loc[randy, "p_correct"] = rng.binomial(100, 0.1, randy.sum()) / 100
    v = easiness.check(df)
    assert v.verdict == "holds", v.summary
    assert "between" not in v.observations["where randY falls"].summary


def test_easiness_does_not_require_randx_to_match_the_binomial():
    rng = np.random.default_rng(5)
    # randX examples differ in easiness (D about 1.8), less than randY's (about 3.1).
    df = easiness_frame(real_spread=True, rng=rng, randx=rng.uniform(0.07, 0.17, 1000))
    v = easiness.check(df)
    assert v.verdict == "holds", v.summary
    seen = v.observations["randX against its binomial reference"].numbers
    assert seen["randX_distance_from_binomial"] > 0.5  # reported, not required


def test_easiness_fails_when_real_is_as_uniform_as_noise():
    v = easiness.check(easiness_frame(real_spread=False))
    assert v.verdict == "fails"
    assert v.parts["real more spread than randY"].verdict == "fails"


def test_easiness_inconclusive_outside_its_regime():
    df = easiness_frame(True)
    real = df["setting"] == "real"
    df.loc[real, "p_correct"] = 0.1  # chance level, exactly (a random draw's mean may be 9.9%)
    v = easiness.check(df)
    assert v.verdict == "inconclusive" and "after one epoch is only 10%" in v.summary
    v = easiness.check(easiness_frame(True, k=8))
    assert v.verdict == "inconclusive" and "only 8 members" in v.summary
    df = easiness_frame(True)
    df.loc[df["setting"] == "randX", "p_correct"] = 0.0
    v = easiness.check(df)
    assert v.verdict == "inconclusive" and "degenerate" in v.summary
    v = easiness.check(df[df["setting"] != "randY"])
    assert v.verdict == "inconclusive" and "missing runs: randY" in v.summary


# -- loss-sensitivity ---------------------------------------------------------------------------
def gini_frame(real: float, rand: float, seeds: int = 4, acc: float = 0.8, unique_acc=None):
    """Gini curves per seed; the seeds differ by a small offset (initialisation)."""
    rows = []
    for panel in ("class", "unique"):
        n = 10 if panel == "class" else 1000
        a = acc if panel == "class" or unique_acc is None else unique_acc
        for seed in range(seeds):
            off = 0.01 * (seed - seeds / 2)
            for step in range(0, 110, 10):
                for curve, lv, g in (("real", 0.0, real + off), ("randX 100%", 1.0, rand + off)):
                    rows.append(dict(panel=panel, setting="real" if lv == 0 else "randX",
                                     level=lv, curve=curve, seed=seed, step=step, gini=g,
                                     gini_time=g, train_acc=a if lv == 0 else 0.2,
                                     n_classes=float(n)))  # fmt: skip
    return pd.DataFrame(rows)


def test_gini_check_compares_seed_by_seed():
    v = sensitivity.check(gini_frame(0.5, 0.2))
    assert v.verdict == "holds", v.summary
    assert verdicts(v) == {"10 classes": "holds", "unique labels": "holds"}
    assert sensitivity.check(gini_frame(0.1, 0.3)).verdict == "fails"


def test_gini_check_inconclusive_within_the_seed_spread():
    df = gini_frame(0.3, 0.3)
    # The seeds disagree: real above randX on two, below on two.
    flip = (df["setting"] == "real") & (df["seed"] % 2 == 1)
    df.loc[flip, "gini"] -= 0.1
    df.loc[(df["setting"] == "real") & ~flip, "gini"] += 0.1
    assert sensitivity.check(df).verdict == "inconclusive"


def test_gini_check_inconclusive_outside_its_regime():
    v = sensitivity.check(gini_frame(0.5, 0.2, unique_acc=0.001))
    assert v.verdict == "inconclusive"
    assert verdicts(v) == {"10 classes": "holds", "unique labels": "inconclusive"}
    assert "training accuracy is only 0.1%" in v.parts["unique labels"].summary
    v = sensitivity.check(gini_frame(0.5, 0.2, seeds=1))
    assert v.verdict == "inconclusive" and "seed" in v.summary


def class_frame(real_off: float, rand_off: float, seeds: int = 4, acc: float = 0.8):
    rows = []
    for s, lv, off in (("real", 0.0, real_off), ("randX", 1.0, rand_off)):
        for seed in range(seeds):
            for i in range(10):
                for j in range(10):
                    v = 10.0 if i == j else off * (1 + 0.01 * seed)
                    rows.append(dict(setting=s, level=lv, seed=seed, loss_class=i,
                                     input_class=j, value=v, train_acc=acc,
                                     n_classes=10.0))  # fmt: skip
    return pd.DataFrame(rows)


def test_class_matrix_check():
    v = class_sensitivity.check(class_frame(0.5, 0.2))
    assert v.verdict == "holds", v.summary
    assert "off-diagonal share real" in v.summary
    assert v.observations["diagonal dominates"].summary.startswith("real holds")
    v = class_sensitivity.check(class_frame(0.2, 0.5))
    assert v.verdict == "fails"


def test_class_matrix_diagonal_dominance_is_an_observation():
    # Real data's matrix is not diagonal (PAPER.md's reading, not the poster's claim): the
    # observation says so; the poster's claim (real shares more across classes) still holds.
    v = class_sensitivity.check(class_frame(20.0, 0.5))
    assert v.verdict == "holds", v.summary
    assert v.observations["diagonal dominates"].summary.startswith("real fails")


def test_class_matrix_check_inconclusive():
    one = class_frame(2.0, 0.5)
    assert class_sensitivity.check(one[one["setting"] == "real"]).verdict == "inconclusive"
    v = class_sensitivity.check(class_frame(0.5, 0.2, acc=0.12))
    assert v.verdict == "inconclusive" and "training accuracy is only 12%" in v.summary
    v = class_sensitivity.check(class_frame(0.5, 0.2, seeds=1))
    assert v.verdict == "inconclusive" and "seed" in v.summary
    df = class_frame(0.5, 0.5)  # the seeds disagree about which shares more
    df.loc[(df["setting"] == "real") & (df["seed"] % 2 == 0) & (df["value"] < 5), "value"] = 0.6
    df.loc[(df["setting"] == "real") & (df["seed"] % 2 == 1) & (df["value"] < 5), "value"] = 0.4
    v = class_sensitivity.check(df)
    assert v.verdict == "inconclusive" and v.numbers["members_to_decide"] > 4
