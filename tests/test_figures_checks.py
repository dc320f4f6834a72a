"""Claim checks on hand-made frames: each check says "holds" on data built so the paper's claim is
true, "fails" on data built so it is false, and "inconclusive" when the data cannot decide."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memcore.experiments import (
    capacity,
    convergence,
    critical,
    easiness,
    filters,
    regularization,
    sensitivity,
    sharpness,
)
from memcore.experiments.recipe import RunData
from memcore.presets import preset

RNG = np.random.default_rng(0)


# -- capacity -----------------------------------------------------------------------------------
def capacity_frame(noisy_saturates_at: int) -> pd.DataFrame:
    """Real data saturates at width 16; noisy levels at `noisy_saturates_at` (later if larger)."""
    rows = []
    widths = (8, 16, 64, 256, 1024)
    for panel in ("randX", "randY"):
        for level in (0.0, 0.4, 0.8):
            sat = 16 if level == 0 else noisy_saturates_at * (2 if level == 0.8 else 1)
            for w in widths:
                acc = (0.95 - 0.3 * level) - (0.2 if w < sat else 0.0)
                for m in range(2):
                    rows.append(dict(panel=panel, setting="real" if level == 0 else panel,
                                     level=level, width=w, member=m, best_val_acc=acc,
                                     final_train_acc=1.0, epochs=30.0))  # fmt: skip
    return pd.DataFrame(rows)


def test_capacity_holds_when_noise_needs_more_width():
    v = capacity.check(capacity_frame(noisy_saturates_at=64))
    assert v.verdict == "holds", v.summary
    assert v.numbers["randY"]["near_best_width"]["0.0"] == 16
    assert v.numbers["randY"]["near_best_width"]["0.8"] == 256


def test_capacity_fails_when_every_level_saturates_together():
    df = capacity_frame(noisy_saturates_at=16)
    df.loc[df["level"] == 0.8, "best_val_acc"] = 0.5  # flat: best already at the smallest width
    assert capacity.check(df).verdict == "fails"


def test_capacity_inconclusive_with_two_widths():
    df = capacity_frame(64)
    assert capacity.check(df[df["width"] <= 16]).verdict == "inconclusive"


# -- convergence --------------------------------------------------------------------------------
def convergence_frame(times: dict[str, tuple], censored=()) -> pd.DataFrame:
    rows = []
    for s, ts in times.items():
        for n, t in zip((100, 200, 400), ts, strict=True):
            for m in range(2):
                rows.append(dict(panel="size", setting=s, level=0.0 if s == "real" else 0.5,
                                 train_size=n, width=256, member=m, epochs_to_fit=float(t),
                                 censored=(s, n) in censored, max_epochs=200.0))  # fmt: skip
    df = pd.DataFrame(rows)
    real = df[df["setting"] == "real"].groupby("train_size")["epochs_to_fit"].mean()
    df["normalized"] = df["epochs_to_fit"] / df["train_size"].map(real)
    return df


def test_convergence_holds_when_noise_time_grows_faster():
    df = convergence_frame({"real": (10, 11, 12), "randX": (8, 16, 32), "randY": (20, 50, 120)})
    v = convergence.check(df)
    assert v.verdict == "holds", v.summary
    assert v.numbers["growth"]["randY"] == 6.0


def test_convergence_fails_when_growth_matches_real():
    df = convergence_frame({"real": (10, 20, 40), "randX": (8, 16, 32), "randY": (20, 40, 80)})
    assert convergence.check(df).verdict == "fails"


def test_convergence_inconclusive_when_real_runs_are_censored():
    df = convergence_frame(
        {"real": (10, 20, 200), "randX": (8, 16, 32), "randY": (20, 40, 80)},
        censored={("real", 400)},
    )
    assert convergence.check(df).verdict == "inconclusive"


# -- easiness -----------------------------------------------------------------------------------
def easiness_frame(real_spread: bool, k: int = 100, t: int = 1000) -> pd.DataFrame:
    labels = np.arange(t) % 10
    p_real = RNG.uniform(0, 1, t) if real_spread else np.full(t, 0.5)
    p_randy = RNG.uniform(0.1, 0.3, t)
    parts = []
    for s, p in (("real", p_real), ("randX", np.full(t, 0.1)), ("randY", p_randy)):
        parts.append(pd.DataFrame({"setting": s, "example": np.arange(t), "label": labels,
                                   "noisy": s != "real", "p_correct": RNG.binomial(k, p) / k,
                                   "members": k}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def test_easiness_holds_when_real_spreads_and_randx_is_binomial():
    v = easiness.check(easiness_frame(real_spread=True))
    assert v.verdict == "holds", v.summary
    assert abs(v.numbers["randX"]["dispersion_within_class"] - 1) < 0.3


def test_easiness_fails_when_real_is_as_uniform_as_noise():
    assert easiness.check(easiness_frame(real_spread=False)).verdict == "fails"


def test_easiness_inconclusive_when_real_data_is_not_learned():
    df = easiness_frame(True)
    real = df["setting"] == "real"
    df.loc[real, "p_correct"] = RNG.binomial(100, 0.1, real.sum()) / 100  # chance level
    v = easiness.check(df)
    assert v.verdict == "inconclusive" and "barely learned" in v.summary


def test_easiness_inconclusive_with_few_members():
    assert easiness.check(easiness_frame(True, k=8)).verdict == "inconclusive"


# -- loss-sensitivity ---------------------------------------------------------------------------
def gini_frame(real: float, rand: float, alternate: bool = False) -> pd.DataFrame:
    rows = []
    for panel in ("class", "unique"):
        for step in range(0, 110, 10):
            wiggle = 0.2 * (-1) ** (step // 10) if alternate else 0.0
            for curve, lv, g in (("real", 0.0, real + wiggle), ("randX 50%", 0.5, 0.3),
                                 ("randX 100%", 1.0, rand)):  # fmt: skip
                rows.append(dict(panel=panel, setting="real" if lv == 0 else "randX", level=lv,
                                 curve=curve, step=step, gini=g, gini_time=g))  # fmt: skip
    return pd.DataFrame(rows)


def test_gini_check_holds_fails_and_is_inconclusive():
    assert sensitivity.check(gini_frame(0.5, 0.2)).verdict == "holds"
    assert sensitivity.check(gini_frame(0.1, 0.3)).verdict == "fails"
    assert sensitivity.check(gini_frame(0.3, 0.3, alternate=True)).verdict == "inconclusive"


def class_frame(real_off: float, rand_off: float) -> pd.DataFrame:
    rows = []
    for s, lv, off in (("real", 0.0, real_off), ("randX", 1.0, rand_off)):
        for i in range(10):
            for j in range(10):
                rows.append(dict(setting=s, level=lv, loss_class=i, input_class=j,
                                 value=10.0 if i == j else off))  # fmt: skip
    return pd.DataFrame(rows)


def test_class_matrix_check():
    v = sensitivity.class_check(class_frame(2.0, 0.5))
    assert v.verdict == "holds", v.summary
    assert sensitivity.class_check(class_frame(0.2, 0.5)).verdict == "fails"
    assert sensitivity.class_check(class_frame(20.0, 0.5)).verdict == "fails"  # not diagonal
    assert sensitivity.class_check(class_frame(0.51, 0.5)).verdict == "inconclusive"  # too close
    one = class_frame(2.0, 0.5)
    assert sensitivity.class_check(one[one["setting"] == "real"]).verdict == "inconclusive"


# -- critical sample ratio ----------------------------------------------------------------------
def csr_frame(levels: dict[str, float]) -> pd.DataFrame:
    rows = []
    for s, top in levels.items():
        for e in range(0, 31, 3):
            for m in range(2):
                csr = top * (1 - np.exp(-e / 5))
                rows.append(dict(setting=s, level=0.0 if s == "real" else 1.0, epoch=e, member=m,
                                 csr=csr, iters=10, radius=0.03))  # fmt: skip
    return pd.DataFrame(rows)


def test_csr_check():
    v = critical.check(csr_frame({"real": 0.02, "randX": 0.3, "randY": 0.2}))
    assert v.verdict == "holds", v.summary
    assert v.numbers["randX"]["frac_above_real"] == 1.0
    assert critical.check(csr_frame({"real": 0.3, "randX": 0.1, "randY": 0.2})).verdict == "fails"
    zero = csr_frame({"real": 0.0, "randX": 0.0, "randY": 0.0})
    assert critical.check(zero).verdict == "inconclusive"


def levels_frame(csr_rises: bool) -> pd.DataFrame:
    rows = []
    for panel in ("randX", "randY"):
        for lv in (0.0, 0.2, 0.4, 0.6, 0.8):
            for e in range(0, 31, 3):
                val = 0.9 - 0.5 * lv
                if panel == "randY" and lv > 0 and e > 6:
                    val -= 0.01 * (e - 6) * lv  # rises early, then falls as noise is fitted
                csr = (0.05 + 0.3 * lv if csr_rises else 0.3 - 0.3 * lv) * min(1, e / 6)
                for metric, v in (("train_acc", min(1, e / 20)), ("val_acc", val), ("csr", csr)):
                    rows.append(dict(panel=panel, level=lv, epoch=e, member=0, metric=metric,
                                     value=v))  # fmt: skip
    return pd.DataFrame(rows)


def test_noise_levels_check():
    v = critical.level_check(levels_frame(csr_rises=True))
    assert v.verdict == "holds", v.summary
    assert v.numbers["randY"]["levels_peak_then_fall"] == "4/4"
    assert critical.level_check(levels_frame(csr_rises=False)).verdict == "fails"


# -- regularization -----------------------------------------------------------------------------
def reg_frame(dropout_val_cost: float, wd_val_cost: float, base_fit: float = 1.0) -> pd.DataFrame:
    rows = []
    for reg, cost in (("dropout", dropout_val_cost), ("weight_decay", wd_val_cost)):
        for i, s in enumerate((0.0, 0.3, 0.6, 0.9)):
            fit = base_fit - (base_fit - 0.15) * i / 3  # memorization capped as strength grows
            for e in range(1, 6):
                rows.append(
                    dict(
                        regularizer=reg,
                        strength=s,
                        data="randY",
                        member=i,
                        epoch=e,
                        train_acc=fit * e / 5,
                        val_acc=0.1,
                    )
                )
                rows.append(dict(regularizer=reg, strength=s, data="real", member=i, epoch=e,
                                 train_acc=1.0, val_acc=(0.95 - cost * i / 3) * e / 5))  # fmt: skip
    return pd.DataFrame(rows)


def test_regularization_check():
    v = regularization.check(reg_frame(dropout_val_cost=0.02, wd_val_cost=0.3))
    assert v.verdict == "holds", v.summary
    assert regularization.check(reg_frame(0.3, 0.02)).verdict == "fails"
    assert regularization.check(reg_frame(0.02, 0.3, base_fit=0.15)).verdict == "inconclusive"


def test_regularization_tradeoff_takes_final_noise_fit_and_best_real_val():
    t = regularization.tradeoff(reg_frame(0.02, 0.3)).set_index(["regularizer", "strength"])
    assert t.loc[("dropout", 0.0), "randY_train_acc"] == pytest.approx(1.0)
    assert t.loc[("dropout", 0.0), "real_best_val_acc"] == pytest.approx(0.95)


# -- sharpness ----------------------------------------------------------------------------------
def test_sharpness_check():
    def frame(slope):
        return pd.DataFrame([dict(panel=p, setting="real" if lv == 0 else p, level=lv, member=m,
                                  sharpness=10 + slope * lv + m, final_train_acc=1.0)
                             for p in ("randX", "randY") for lv in (0, 0.5, 1.0)
                             for m in range(2)])  # fmt: skip

    assert sharpness.check(frame(20)).verdict == "holds"
    assert sharpness.check(frame(-5)).verdict == "fails"
    assert sharpness.check(frame(20)[lambda d: d["level"] < 1]).verdict == "inconclusive"
    unfit = frame(20).assign(final_train_acc=lambda d: 1 - 0.5 * d["level"])
    v = sharpness.check(unfit)
    assert v.verdict == "inconclusive" and "convergence" in v.summary


# -- filters ------------------------------------------------------------------------------------
def filter_runs(real_smooth: bool) -> list[RunData]:
    yy, xx = np.mgrid[0:5, 0:5]
    blobs = np.stack([np.exp(-((yy - 2 + i % 3 - 1) ** 2 + (xx - 2) ** 2) / 3) for i in range(16)])
    runs = []
    for kind, smooth in (("real", real_smooth), ("randY", False)):
        f = blobs + 0.05 * RNG.normal(size=blobs.shape) if smooth else RNG.normal(size=(16, 5, 5))
        spec = preset("digits-mlp", **{"noise.kind": "none" if kind == "real" else "randY",
                                       "noise.level": 0.0 if kind == "real" else 1.0})  # fmt: skip
        runs.append(
            RunData(spec, [], {"filters": f[None], "filters_init": RNG.normal(size=(1, 16, 5, 5))})
        )
    return runs


def test_filters_check():
    df, v = filters.RECIPE.evaluate(filter_runs(real_smooth=True))
    assert set(filters.COLUMNS) <= set(df.columns)
    assert v.verdict == "holds", v.summary
    _, v = filters.RECIPE.evaluate(filter_runs(real_smooth=False))
    assert v.verdict in ("fails", "inconclusive")
