"""Claim checks on hand-made frames, the figures about training with noise (critical sample
ratio, noise levels, regularization, sharpness, filters), as test_figures_checks does for the
first five: "holds" / "fails" on data built so the claim is true / false in its regime,
"inconclusive" when a precondition is not met or the spread cannot decide. Also: every number a
verdict reports has a definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_figures_checks import (
    RNG,
    capacity_frame,
    class_frame,
    convergence_frame,
    easiness_frame,
    gini_frame,
    verdicts,
)

from memcore.figures import (
    FIGURES,
    capacity,
    class_sensitivity,
    convergence,
    critical,
    easiness,
    filters,
    noise_levels,
    regularization,
    sensitivity,
    sharpness,
)
from memcore.figures.figure import RunData
from memcore.figures.verdict import Verdict
from memcore.spec.presets import preset

# -- critical sample ratio ----------------------------------------------------------------------
EARLY_EPOCHS = (0, 1, 2, 4, 8, 16, 24, 32, 40)  # an early-dense CSR schedule


def csr_frame(
    levels: dict[str, float],
    fit: float = 1.0,
    real_val: float = 0.9,
    members: int = 6,
    tau: dict[str, float] | None = None,
    init: float = 0.1,
    spread: float = 0.01,
) -> pd.DataFrame:
    """CSR from `init` at epoch 0 (the same untrained function for every setting) towards each
    setting's final level, with time constant tau (epochs), per member a little noise."""
    tau = {"real": 3.0, "randX": 1.0, "randY": 15.0, **(tau or {})}
    rng = np.random.default_rng(0)
    rows = []
    for s, top in levels.items():
        for m in range(members):
            for e in EARLY_EPOCHS:
                csr = init + (top - init) * (1 - np.exp(-e / tau[s])) + spread * rng.normal()
                rows.append(dict(setting=s, level=0.0 if s == "real" else 1.0, epoch=e, member=m,
                                 csr=csr, iters=10, radius=0.03,
                                 train_acc=1.0 if s == "real" else fit * min(1, e / 20),
                                 val_acc=real_val if s == "real" else 0.1,
                                 classes=10))  # fmt: skip
    return pd.DataFrame(rows)


CSR_PARTS = {"randX ends above real", "randY ends above real", "randX rises", "randY rises"}


def test_csr_check_holds_with_the_posters_parts_and_reports_when_each_rose():
    v = critical.check(csr_frame({"real": 0.02, "randX": 0.3, "randY": 0.28}))
    assert v.verdict == "holds", v.summary
    assert verdicts(v) == dict.fromkeys(CSR_PARTS, "holds")
    when = v.observations["when each setting rose"].numbers["rise_epoch"]
    assert when["randX"] <= 2 < 16 <= when["randY"]  # randX very rapidly, randY eventually


def test_csr_check_fails_when_noise_ends_below_real_or_never_rises():
    v = critical.check(csr_frame({"real": 0.3, "randX": 0.05, "randY": 0.4}))
    assert v.verdict == "fails"
    assert verdicts(v)["randX ends above real"] == "fails"
    assert verdicts(v)["randX rises"] == "fails"  # it fell from its value at initialization
    assert verdicts(v)["randY rises"] == "holds"


def test_csr_rise_is_read_against_initialization_not_the_first_third():
    # randX rises within 2 epochs and stays flat (issue 21, digits): early vs late thirds after
    # epoch 0 see no change, initialization does.
    v = critical.check(csr_frame({"real": 0.03, "randX": 0.23, "randY": 0.44}, tau={"randX": 0.5}))
    assert verdicts(v)["randX rises"] == "holds", v.summary
    plateau = v.observations["plateau"].numbers["randX"]
    assert abs(plateau["early_change"]) < 0.02 and abs(plateau["late_change"]) < 0.02


def test_csr_observations_leave_the_headline_unchanged():
    # randY ends far below randX (not "to almost the same level") and is still rising: the
    # observations say so; the poster's four parts still hold.
    v = critical.check(csr_frame({"real": 0.02, "randX": 0.45, "randY": 0.2}, tau={"randY": 60}))
    assert v.verdict == "holds", v.summary
    assert v.observations["randY next to randX"].numbers["randY_minus_randX"] < -0.2


def test_csr_check_inconclusive_per_precondition():
    zero = csr_frame({"real": 0.0, "randX": 0.0, "randY": 0.0}, init=0.0, spread=0.0)
    assert "radius is too small" in critical.check(zero).summary
    v = critical.check(csr_frame({"real": 0.02, "randX": 0.3, "randY": 0.2}, fit=0.41))
    assert v.verdict == "inconclusive" and "randY fitted only 41%" in v.summary
    _, v = filters.FIGURE.evaluate(filter_runs(real_smooth=True, real_val=0.2))
    assert v.verdict == "inconclusive" and "validation accuracy is only 20%" in v.summary
    v = critical.check(csr_frame({"real": 0.02, "randX": 0.3, "randY": 0.2}, real_val=0.15))
    assert v.verdict == "inconclusive" and "validation accuracy is only 15%" in v.summary
    v = critical.check(csr_frame({"real": 0.02, "randX": 0.3}))
    assert v.verdict == "inconclusive" and "missing runs: randY" in v.summary
    df = csr_frame({"real": 0.02, "randX": 0.3, "randY": 0.2})
    v = critical.check(df[df["epoch"] > 0])
    assert v.verdict == "inconclusive" and "no CSR at epoch 0" in v.summary


def test_csr_open_part_says_how_many_members_would_decide_it():
    # A small rise (+0.02) with a member spread of 0.02 and 2 members: open, with a plan.
    v = critical.check(
        csr_frame({"real": 0.02, "randX": 0.12, "randY": 0.3}, members=2, spread=0.02)
    )
    part = v.parts["randX rises"]
    assert part.verdict == "inconclusive", part.summary
    assert part.numbers["members_to_decide"] > 2 and "members would decide it" in part.summary


def levels_frame(csr_rises: bool, falls: bool = True, fit: float = 1.0) -> pd.DataFrame:
    rows = []
    for panel in ("randX", "randY"):
        for lv in (0.0, 0.2, 0.4, 0.6, 0.8):
            for e in range(0, 31, 3):
                for m in range(2):
                    val = 0.9 - 0.5 * lv + 0.01 * m
                    if falls and panel == "randY" and lv > 0 and e > 6:
                        val -= 0.01 * (e - 6) * lv  # rises early, then falls as noise is fitted
                    val += 0.002 * (-1) ** (e // 3)  # epoch-to-epoch noise
                    top = 0.05 + 0.3 * lv if csr_rises else 0.3 - 0.3 * lv
                    csr = (top + 0.01 * m) * min(1, e / 6)
                    train = min(1.0, e / 20) * (fit if lv > 0 else 1.0)
                    for metric, v in (("train_acc", train), ("val_acc", val), ("csr", csr)):
                        rows.append(dict(panel=panel, level=lv, epoch=e, member=m,
                                         metric=metric, value=v, classes=10))  # fmt: skip
    return pd.DataFrame(rows)


def test_noise_levels_check():
    v = noise_levels.check(levels_frame(csr_rises=True))
    assert v.verdict == "holds", v.summary
    assert verdicts(v) == {"CSR rises with level": "holds",
                           "validation accuracy falls with level": "holds",
                           "randY validation peaks then falls": "holds"}  # fmt: skip
    assert "4/4" in v.parts["randY validation peaks then falls"].summary
    v = noise_levels.check(levels_frame(csr_rises=False))
    assert v.verdict == "fails" and verdicts(v)["CSR rises with level"] == "fails"
    assert verdicts(v)["randY validation peaks then falls"] == "holds"
    v = noise_levels.check(levels_frame(csr_rises=True, falls=False))
    assert v.verdict == "fails" and verdicts(v)["randY validation peaks then falls"] == "fails"


def test_noise_levels_inconclusive_outside_its_regime():
    v = noise_levels.check(levels_frame(csr_rises=True, fit=0.41))
    assert v.verdict == "inconclusive" and "randY 80% fitted only 41%" in v.summary
    df = levels_frame(csr_rises=True)
    assert noise_levels.check(df[df["level"] < 0.3]).verdict == "inconclusive"
    df.loc[(df["level"] == 0) & (df["metric"] == "val_acc"), "value"] = 0.12
    v = noise_levels.check(df)
    assert v.verdict == "inconclusive" and "final validation accuracy is only 12%" in v.summary


# -- regularization -----------------------------------------------------------------------------
def reg_frame(dropout_val_cost: float, wd_val_cost: float, base_fit: float = 1.0) -> pd.DataFrame:
    rows = []
    for reg, cost in (("dropout", dropout_val_cost), ("weight_decay", wd_val_cost)):
        for i, s in enumerate((0.0, 0.3, 0.6, 0.9)):
            fit = base_fit - (base_fit - 0.15) * i / 3  # memorization capped as strength grows
            for e in range(1, 11):
                wiggle = 0.003 * (-1) ** e  # epoch-to-epoch noise of the validation curves
                rows.append(dict(regularizer=reg, strength=s, data="randY", member=i, epoch=e,
                                 train_acc=fit * e / 10, val_acc=0.1, classes=10))  # fmt: skip
                rows.append(dict(regularizer=reg, strength=s, data="real", member=i, epoch=e,
                                 train_acc=1.0, val_acc=(0.95 - cost * i / 3) * min(1, e / 5)
                                 + wiggle, classes=10))  # fmt: skip
    return pd.DataFrame(rows)


REG_PARTS = ("dropout caps memorization", "without sacrificing generalization")
FLATTEST = "which regularizer is flattest"


def test_regularization_check():
    v = regularization.check(reg_frame(dropout_val_cost=0.005, wd_val_cost=0.3))
    assert v.verdict == "holds", v.summary
    assert verdicts(v) == dict.fromkeys(REG_PARTS, "holds")
    # dropout costs 0.2 of validation accuracy at the cap: generalization was sacrificed
    v = regularization.check(reg_frame(0.3, 0.02))
    assert v.verdict == "fails" and verdicts(v)["without sacrificing generalization"] == "fails"


def test_regularization_which_is_flattest_is_an_observation():
    # Weight decay is flatter than dropout here (the ICML paper's ordering reversed): the
    # observation says so, the poster's claim (dropout caps without sacrifice) still holds.
    v = regularization.check(reg_frame(dropout_val_cost=0.005, wd_val_cost=0.0))
    assert v.verdict == "holds", v.summary
    seen = v.observations[FLATTEST]
    assert seen.numbers["weight_decay"]["difference"] < 0 and "weight_decay" in seen.summary


def test_regularization_inconclusive_outside_its_regime():
    v = regularization.check(reg_frame(0.02, 0.3, base_fit=0.41))
    assert v.verdict == "inconclusive"
    assert "randY net (else no memorization to cap) fitted only 41%" in v.summary
    df = reg_frame(0.02, 0.3)
    df.loc[df["data"] == "real", "val_acc"] *= 0.2
    v = regularization.check(df)
    assert v.verdict == "inconclusive" and "validation accuracy is only 19%" in v.summary


def test_regularization_tradeoff_takes_final_noise_fit_and_best_real_val():
    t = regularization.tradeoff(reg_frame(0.02, 0.3)).set_index(["regularizer", "strength"])
    assert t.loc[("dropout", 0.0), "randY_train_acc"] == pytest.approx(1.0)
    assert t.loc[("dropout", 0.0), "real_best_val_acc"] == pytest.approx(0.953)


# -- sharpness ----------------------------------------------------------------------------------
def sharp_frame(slope: float, fit=lambda lv: 1.0) -> pd.DataFrame:
    return pd.DataFrame([dict(panel=p, setting="real" if lv == 0 else p, level=lv, member=m,
                              sharpness=10 + slope * lv + m, final_train_acc=fit(lv))
                         for p in ("randX", "randY") for lv in (0, 0.5, 1.0)
                         for m in range(2)])  # fmt: skip


def test_sharpness_check():
    v = sharpness.check(sharp_frame(20))
    assert v.verdict == "holds" and verdicts(v) == {"randX": "holds", "randY": "holds"}
    assert sharpness.check(sharp_frame(-5)).verdict == "fails"
    v = sharpness.check(sharp_frame(0.2))
    assert v.verdict == "inconclusive"  # within the spread: and how many members would decide
    assert v.parts["randY"].numbers["members_to_decide"] > 2, v.parts["randY"].summary
    assert sharpness.FIGURE.source_text == "the workshop paper's claim"


def test_sharpness_inconclusive_outside_its_regime():
    assert sharpness.check(sharp_frame(20)[lambda d: d["level"] < 1]).verdict == "inconclusive"
    v = sharpness.check(sharp_frame(20, fit=lambda lv: 1 - 0.5 * lv))
    assert v.verdict == "inconclusive" and "convergence" in v.summary
    assert "randY 1 fitted only 50%" in v.summary


# -- filters ------------------------------------------------------------------------------------
def epochs(train: float, val: float) -> list[dict]:
    return [dict(type="epoch", epoch=e, member=0, train_acc=train * e / 5, val_acc=val * e / 5)
            for e in range(6)]  # fmt: skip


def filter_runs(
    real_smooth: bool, rand_fit: float = 1.0, rand_smooth: bool = False, real_val: float = 0.9
):
    yy, xx = np.mgrid[0:5, 0:5]
    blobs = np.stack([np.exp(-((yy - 2 + i % 3 - 1) ** 2 + (xx - 2) ** 2) / 3) for i in range(16)])
    noise = RNG.normal(size=(16, 5, 5))
    runs = []
    for kind, smooth in (("real", real_smooth), ("randY", rand_smooth)):
        f = blobs + 0.05 * RNG.normal(size=blobs.shape) if smooth else noise
        spec = preset("digits-mlp", **{"noise.kind": "none" if kind == "real" else "randY",
                                       "noise.level": 0.0 if kind == "real" else 1.0})  # fmt: skip
        recs = epochs(1.0, real_val) if kind == "real" else epochs(rand_fit, 0.1)
        arrays = {"filters": f[None], "filters_init": RNG.normal(size=(1, 16, 5, 5))}
        runs.append(RunData(spec, recs, arrays))
    return runs


def test_filters_check():
    df, v = filters.FIGURE.evaluate(filter_runs(real_smooth=True))
    assert set(filters.COLUMNS) <= set(df.columns)
    assert v.verdict == "holds", v.summary
    _, v = filters.FIGURE.evaluate(filter_runs(real_smooth=False, rand_smooth=True))
    assert v.verdict == "fails", v.summary  # real filters confidently less structured
    _, v = filters.FIGURE.evaluate(filter_runs(real_smooth=False))
    assert v.verdict == "inconclusive", v.summary  # both noise: within the spread
    _, v = filters.FIGURE.evaluate(filter_runs(real_smooth=True, rand_fit=0.41))
    assert v.verdict == "inconclusive" and "randY fitted only 41%" in v.summary
    _, v = filters.FIGURE.evaluate(filter_runs(real_smooth=True, real_val=0.2))
    assert v.verdict == "inconclusive" and "validation accuracy is only 20%" in v.summary


# -- every number a verdict reports has a definition ----------------------------------------------
def _holds_verdicts() -> dict[str, Verdict]:
    """A "holds" verdict per figure from the hand-made frames above: every part is judged, so
    every number the check can report is there."""
    return {
        "capacity": capacity.check(capacity_frame(64)),
        "convergence": convergence.check(
            convergence_frame({"real": (10, 11, 12), "randX": (8, 16, 32), "randY": (20, 50, 120)})
        ),
        "easiness": easiness.check(easiness_frame(real_spread=True)),
        "sensitivity": sensitivity.check(gini_frame(0.5, 0.2)),
        "class-sensitivity": class_sensitivity.check(class_frame(0.5, 0.2)),
        "critical": critical.check(csr_frame({"real": 0.02, "randX": 0.3, "randY": 0.2})),
        "noise-levels": noise_levels.check(levels_frame(csr_rises=True)),
        "regularization": regularization.check(reg_frame(0.005, 0.3)),
        "sharpness": sharpness.check(sharp_frame(20)),
        "filters": filters.FIGURE.evaluate(filter_runs(real_smooth=True))[1],
    }


def test_every_number_of_every_verdict_and_its_parts_has_a_definition():
    # The figure pages and the report show each number beside its glossary definition.
    from memcore.figures import glossary

    found = _holds_verdicts()
    assert set(found) == set(FIGURES)
    for name, v in found.items():
        assert v.verdict == "holds", (name, v.summary)
        rows = glossary.verdict_rows(name, v.to_dict())
        assert rows, name
        missing = sorted({r["number"] for r in rows if not r["definition"]})
        assert not missing, f"{name}: numbers without a definition: {missing}"
