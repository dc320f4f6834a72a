"""Critical sample ratio over training, and per noise level (PAPER.md 6; poster Figs 4.1-4.2,
ICML Figs 7-9).

A probe x is critical if LASS finds x^ with |x - x^|_inf <= r and a different predicted class;
CSR = fraction of probe points (validation data) that are critical (metrics.critical). The radius
is the dataset's default (PAPER.md calibration: a few percent of real-data probes critical on
small offline data; the paper's 0.3/255 on MNIST/CIFAR), stated next to the figure.

"critical": real, randX 100%, randY 100%. Check: after epoch 0, CSR (mean over members) of
randX and of randY exceeds real data's at the last measurement and at >= ORDER_FRAC of the
measurements, and rises during training (last > first measurement). The plateau (late change
small next to the early rise) is reported, not required.

"noise-levels": randX and randY at several levels, train/validation accuracy and CSR per level.
Check: per panel, final CSR rises with the level (Spearman > RHO) and final validation accuracy
falls with it (Spearman < -RHO); with randY, validation accuracy peaks before the end and ends
at least DROP below its peak at >= half of the noisy levels ("patterns first, then memorization").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memcore.experiments.recipe import (
    Recipe,
    RunData,
    Verdict,
    base_spec,
    concat_runs,
    describe,
    inconclusive,
    noise_changes,
    panels,
    rnd,
    setting,
)
from memcore.metrics import trends
from memcore.spec import RunSpec

ORDER_FRAC = 0.8
RHO = 0.5
DROP = 0.01
GRID = {
    "test": {
        "extra": {
            "data.train_size": 200,
            "train.epochs": 3,
            "metrics.csr_every": 1,
            "metrics.csr_probes": 50,
            "model.width": 32,
        },
        "levels": (0.0, 0.5, 1.0),
    },
    "quick": {
        "extra": {"train.epochs": 30, "metrics.csr_every": 3, "train.members": 2},
        "levels": (0.0, 0.2, 0.4, 0.6, 0.8),
    },
    "paper": {
        "extra": {"train.epochs": 100, "metrics.csr_every": 5},
        "levels": (0.0, 0.2, 0.4, 0.6, 0.8),
    },
}
COLUMNS = ("setting", "level", "epoch", "member", "csr", "iters", "radius")
LEVEL_COLUMNS = ("panel", "level", "epoch", "member", "metric", "value")


def specs(dataset: str, scale: str) -> list[RunSpec]:
    ex = GRID[scale]["extra"]
    return [base_spec(dataset, **ex, **noise_changes(k, 1.0)) for k in ("real", "randX", "randY")]


def level_specs(dataset: str, scale: str) -> list[RunSpec]:
    g = GRID[scale]
    return [
        base_spec(dataset, **g["extra"], **noise_changes(kind, level))
        for kind in ("randX", "randY")
        for level in g["levels"]
    ]


def _csr_text(s: RunSpec) -> str:
    m = s.metrics
    return (
        f"CSR every {m.csr_every} epochs on up to {m.csr_probes} {m.csr_set} probes, radius "
        f"{m.csr_radius:g}/255, alpha {m.csr_alpha:g}/255, beta {m.csr_beta:g}/255, "
        f"<= {m.csr_iters} LASS iterations"
    )


def settings(dataset: str, scale: str) -> str:
    s = specs(dataset, scale)[0]
    return f"{describe(s)}; {_csr_text(s)}; randX and randY at 100%"


def level_settings(dataset: str, scale: str) -> str:
    s = level_specs(dataset, scale)[0]
    return f"{describe(s)}; {_csr_text(s)}; levels {list(GRID[scale]['levels'])}"


def frame(runs: list[RunData]) -> pd.DataFrame:
    """One row per (setting, CSR measurement, member)."""
    return concat_runs(runs, _csr_part, COLUMNS)


def _csr_part(r: RunData) -> pd.DataFrame:
    c = r.frame("csr").assign(setting=setting(r.spec), level=float(r.spec.noise.level))
    for col in ("iters", "radius"):  # absent from records written before they were stored
        if col not in c:
            c[col] = np.nan
    return c


def check(df: pd.DataFrame) -> Verdict:
    m = df[df["epoch"] > 0].groupby(["setting", "epoch"])["csr"].mean().unstack("setting")
    missing = {"real", "randX", "randY"} - set(m.columns)
    if missing:
        return inconclusive(f"missing settings: {', '.join(sorted(missing))}")
    m = m.dropna()
    if len(m) < 3:
        return inconclusive(f"only {len(m)} CSR measurements after epoch 0; needs 3+")
    if (m.to_numpy() == 0).all():
        return inconclusive("no probe was critical in any run: the radius is too small")
    numbers: dict = {"epochs": [float(e) for e in m.index]}
    ok = True
    parts = []
    for s in ("randX", "randY"):
        above = trends.fraction_above(m[s], m["real"])
        final_above = bool(m[s].iloc[-1] > m["real"].iloc[-1])
        rise = trends.rise(m[s])
        early, late = trends.early_late_change(m[s])
        numbers[s] = {
            "frac_above_real": rnd(above),
            "final": rnd(float(m[s].iloc[-1])),
            "rise": rnd(rise),
            "early_change": rnd(early),
            "late_change": rnd(late),
        }
        ok &= final_above and above >= ORDER_FRAC and rise > 0
        parts.append(
            f"{s} {m[s].iloc[-1]:.3f} (above real at {above:.0%} of epochs, rise {rise:+.3f})"
        )
    numbers["real"] = {"final": rnd(float(m["real"].iloc[-1]))}
    text = f"final CSR real {m['real'].iloc[-1]:.3f}, " + ", ".join(parts)
    return Verdict("holds" if ok else "fails", text, numbers)


def level_frame(runs: list[RunData]) -> pd.DataFrame:
    """Long frame: train_acc, val_acc (per evaluated epoch) and csr (per measurement)."""
    return concat_runs(runs, _level_part, LEVEL_COLUMNS)


def _level_part(r: RunData) -> pd.DataFrame | None:
    ep, c = r.frame("epoch"), r.frame("csr")
    long = (
        []
        if ep.empty
        else [
            ep.melt(
                id_vars=["epoch", "member"],
                value_vars=["train_acc", "val_acc"],
                var_name="metric",
                value_name="value",
            )
        ]
    )
    if not c.empty:
        long.append(
            pd.DataFrame(
                {"epoch": c["epoch"], "member": c["member"], "metric": "csr", "value": c["csr"]}
            )
        )
    if not long:
        return None
    level = float(r.spec.noise.level)
    return pd.concat([d.assign(panel=p, level=level) for p in panels(r.spec) for d in long])


def level_check(df: pd.DataFrame) -> Verdict:
    numbers: dict = {}
    ok = True
    parts = []
    for panel in ("randX", "randY"):
        d = df[df["panel"] == panel]
        mean = d.groupby(["metric", "level", "epoch"])["value"].mean()
        if "csr" not in mean.index.get_level_values(0):
            return inconclusive(f"{panel}: no CSR measurements", **numbers)
        if (d[d["metric"] == "csr"]["value"] == 0).all():
            return inconclusive(
                f"{panel}: no probe was critical: the radius is too small", **numbers
            )
        levels = sorted(d["level"].unique())
        if len(levels) < 3:
            return inconclusive(f"{panel}: needs 3+ noise levels", **numbers)
        csr = {lv: float(mean["csr"][lv].iloc[-1]) for lv in levels}
        val = {lv: float(mean["val_acc"][lv].iloc[-1]) for lv in levels}
        rc = trends.spearman(levels, csr.values())
        rv = trends.spearman(levels, val.values())
        numbers[panel] = {
            "final_csr": {str(k): rnd(v) for k, v in csr.items()},
            "final_val_acc": {str(k): rnd(v) for k, v in val.items()},
            "spearman_csr": rnd(rc),
            "spearman_val": rnd(rv),
        }
        ok &= bool(rc > RHO) and bool(rv < -RHO)
        parts.append(f"{panel}: rank corr. of level with CSR {rc:+.2f}, with val acc {rv:+.2f}")
        if panel == "randY":
            noisy = [lv for lv in levels if lv > 0]
            peaked = sum(trends.peaks_then_falls(mean["val_acc"][lv], DROP) for lv in noisy)
            numbers[panel]["levels_peak_then_fall"] = f"{peaked}/{len(noisy)}"
            ok &= peaked * 2 >= len(noisy) and len(noisy) > 0
            parts.append(f"randY val acc peaks then falls at {peaked}/{len(noisy)} levels")
    return Verdict("holds" if ok else "fails", "; ".join(parts), numbers)


RECIPE = Recipe(
    name="critical",
    title="Critical sample ratio over training",
    figure="poster Fig 4.1, ICML Fig 7",
    claim=(
        "The critical sample ratio (a measure of how complex the learned function is around the "
        "data) is higher for random inputs and random labels than for real data, and rises then "
        "plateaus during training."
    ),
    how_to_read=(
        "y = fraction of validation probes that have a differently classified point within an "
        "L-inf ball of radius r (found by LASS), x = epoch; blue real, green randX, red randY. "
        "Higher means more decision boundaries close to the data. The number of LASS iterations "
        "run is in the tooltip."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    settings=settings,
)

LEVELS_RECIPE = Recipe(
    name="noise-levels",
    title="Accuracy and CSR per noise level",
    figure="poster Fig 4.2, ICML Figs 8-9",
    claim=(
        "More noise gives a higher critical sample ratio and lower validation accuracy; with "
        "random labels validation accuracy peaks early and then falls as the noise is fitted "
        "(patterns first, then memorization)."
    ),
    how_to_read=(
        "Top: training (solid) and validation (dashed) accuracy over epochs; bottom: critical "
        "sample ratio; one colour per noise level (blue real data, redder = more noise). Left "
        "random inputs, right random labels. Look for validation curves that rise then sag while "
        "training accuracy keeps climbing: the net first learns the patterns, then memorizes."
    ),
    specs=level_specs,
    frame=level_frame,
    check=level_check,
    columns=LEVEL_COLUMNS,
    settings=level_settings,
)
