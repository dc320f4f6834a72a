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

from memcore.experiments import (
    RECIPES,
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
from memcore.experiments.recipe import RunData
from memcore.experiments.verdict import Verdict
from memcore.spec.presets import preset


# -- critical sample ratio ----------------------------------------------------------------------
def csr_frame(levels: dict[str, float], fit: float = 1.0, real_val: float = 0.9) -> pd.DataFrame:
    rows = []
    for s, top in levels.items():
        for e in range(0, 31, 3):
            for m in range(2):
                csr = top * (1 - np.exp(-e / 5)) + 0.005 * m
                rows.append(dict(setting=s, level=0.0 if s == "real" else 1.0, epoch=e, member=m,
                                 csr=csr, iters=10, radius=0.03,
                                 train_acc=1.0 if s == "real" else fit * min(1, e / 20),
                                 val_acc=real_val if s == "real" else 0.1))  # fmt: skip
    return pd.DataFrame(rows)


def test_csr_check():
    v = critical.check(csr_frame({"real": 0.02, "randX": 0.3, "randY": 0.2}))
    assert v.verdict == "holds", v.summary
    assert set(verdicts(v)) == {"randX above real", "randY above real", "rises during training"}
    v = critical.check(csr_frame({"real": 0.3, "randX": 0.1, "randY": 0.2}))
    assert v.verdict == "fails"
    assert verdicts(v)["randX above real"] == "fails"
    assert verdicts(v)["rises during training"] == "holds"


def test_csr_check_inconclusive():
    zero = csr_frame({"real": 0.0, "randX": 0.0, "randY": 0.0})
    assert critical.check(zero).verdict == "inconclusive"
    v = critical.check(csr_frame({"real": 0.02, "randX": 0.3, "randY": 0.2}, fit=0.41))
    assert v.verdict == "inconclusive" and "randY fitted only 41%" in v.summary
    _, v = filters.RECIPE.evaluate(filter_runs(real_smooth=True, real_val=0.2))
    assert v.verdict == "inconclusive" and "real data reached only 20% validation" in v.summary
    v = critical.check(csr_frame({"real": 0.02, "randX": 0.3, "randY": 0.2}, real_val=0.15))
    assert v.verdict == "inconclusive" and "15% validation accuracy" in v.summary
    v = critical.check(csr_frame({"real": 0.02, "randX": 0.3}))
    assert v.verdict == "inconclusive" and "missing settings: randY" in v.summary


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
                                         metric=metric, value=v))  # fmt: skip
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
    assert v.verdict == "inconclusive" and "real data ended at 12% validation" in v.summary


# -- regularization -----------------------------------------------------------------------------
def reg_frame(dropout_val_cost: float, wd_val_cost: float, base_fit: float = 1.0) -> pd.DataFrame:
    rows = []
    for reg, cost in (("dropout", dropout_val_cost), ("weight_decay", wd_val_cost)):
        for i, s in enumerate((0.0, 0.3, 0.6, 0.9)):
            fit = base_fit - (base_fit - 0.15) * i / 3  # memorization capped as strength grows
            for e in range(1, 11):
                wiggle = 0.003 * (-1) ** e  # epoch-to-epoch noise of the validation curves
                rows.append(dict(regularizer=reg, strength=s, data="randY", member=i, epoch=e,
                                 train_acc=fit * e / 10, val_acc=0.1))  # fmt: skip
                rows.append(dict(regularizer=reg, strength=s, data="real", member=i, epoch=e,
                                 train_acc=1.0, val_acc=(0.95 - cost * i / 3) * min(1, e / 5)
                                 + wiggle))  # fmt: skip
    return pd.DataFrame(rows)


def test_regularization_check():
    v = regularization.check(reg_frame(dropout_val_cost=0.02, wd_val_cost=0.3))
    assert v.verdict == "holds", v.summary
    assert verdicts(v) == {"dropout caps memorization": "holds",
                           "dropout beats weight_decay": "holds"}  # fmt: skip
    v = regularization.check(reg_frame(0.3, 0.02))
    assert v.verdict == "fails" and verdicts(v)["dropout beats weight_decay"] == "fails"
    v = regularization.check(reg_frame(0.1, 0.1))  # the same cost: within the curves' noise
    assert verdicts(v)["dropout beats weight_decay"] == "inconclusive"


def test_regularization_inconclusive_outside_its_regime():
    v = regularization.check(reg_frame(0.02, 0.3, base_fit=0.41))
    assert v.verdict == "inconclusive" and "fitted only 41% of its random labels" in v.summary
    df = reg_frame(0.02, 0.3)
    df.loc[df["data"] == "real", "val_acc"] *= 0.2
    v = regularization.check(df)
    assert v.verdict == "inconclusive" and "real data reached only 19% validation" in v.summary


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
    assert sharpness.check(sharp_frame(0.2)).verdict == "inconclusive"  # within the spread


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
    df, v = filters.RECIPE.evaluate(filter_runs(real_smooth=True))
    assert set(filters.COLUMNS) <= set(df.columns)
    assert v.verdict == "holds", v.summary
    _, v = filters.RECIPE.evaluate(filter_runs(real_smooth=False, rand_smooth=True))
    assert v.verdict == "fails", v.summary  # real filters confidently less structured
    _, v = filters.RECIPE.evaluate(filter_runs(real_smooth=False))
    assert v.verdict == "inconclusive", v.summary  # both noise: within the spread
    _, v = filters.RECIPE.evaluate(filter_runs(real_smooth=True, rand_fit=0.41))
    assert v.verdict == "inconclusive" and "randY fitted only 41%" in v.summary
    _, v = filters.RECIPE.evaluate(filter_runs(real_smooth=True, real_val=0.2))
    assert v.verdict == "inconclusive" and "real data reached only 20% validation" in v.summary


# -- every number a verdict reports has a definition ----------------------------------------------
def _holds_verdicts() -> dict[str, Verdict]:
    """A "holds" verdict per recipe from the hand-made frames above: every part is judged, so
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
        "regularization": regularization.check(reg_frame(0.02, 0.3)),
        "sharpness": sharpness.check(sharp_frame(20)),
        "filters": filters.RECIPE.evaluate(filter_runs(real_smooth=True))[1],
    }


def test_every_number_of_every_verdict_and_its_parts_has_a_definition():
    # The figure pages and the report show each number beside its glossary definition.
    from memcore.experiments import glossary

    found = _holds_verdicts()
    assert set(found) == set(RECIPES)
    for name, v in found.items():
        assert v.verdict == "holds", (name, v.summary)
        rows = glossary.verdict_rows(name, v.to_dict())
        assert rows, name
        missing = sorted({r["number"] for r in rows if not r["definition"]})
        assert not missing, f"{name}: numbers without a definition: {missing}"
