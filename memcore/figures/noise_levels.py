"""Accuracy and CSR per noise level (PAPER.md 6; poster Fig 4.2, ICML Figs 8-9).

randX and randY at several levels, train/validation accuracy and CSR per level; the grid (sizes,
epochs, CSR fields) is the critical-sample-ratio figure's (figures.critical).

Regime (as figures.critical; figures.verdict.learned / fitted): real data has learned
(validation accuracy) and every noisy net has fitted at least MIN_FIT of its training labels,
since memorization is what makes validation accuracy fall. Below it the check is inconclusive,
naming each run short of it and its value.

Check, three parts combined by figures.verdict.combine: "CSR rises with level" and
"validation accuracy falls with level" (per panel, the least-squares slope of each member's final
value on the level, against t x its standard error; metrics.spread), and "randY validation peaks
then falls": per noisy randY level, validation accuracy (mean over members) peaks after epoch 0
and before the end and ends more than 2 x its epoch-to-epoch noise (metrics.spread.jitter) below
the peak, at half the levels or more ("patterns first, then memorization").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memcore.figures.critical import GRID, MIN_FIT, csr_text
from memcore.figures.figure import (
    Figure,
    RunData,
    Verdict,
    base_spec,
    classes,
    concat_runs,
    inconclusive,
    noise_changes,
    panels,
    rnd,
)
from memcore.figures.verdict import (
    chance,
    combine,
    fitted,
    learned,
    learned_at,
    unmet,
    with_plan,
)
from memcore.metrics import spread, trends
from memcore.spec import RunSpec
from memcore.spec.words import describe_training

COLUMNS = ("panel", "level", "epoch", "member", "metric", "value", "classes")


def specs(dataset: str, scale: str, grid: dict | None = None) -> list[RunSpec]:
    g = grid or GRID[scale]  # grid: the scale's entry with the user's knobs (figures.knobs)
    extra = {**g["extra"], **g.get("level_extra", {})}
    return [
        base_spec(dataset, **extra, **noise_changes(kind, level))
        for kind in ("randX", "randY")
        for level in g["levels"]
    ]


def setup(dataset: str, scale: str) -> str:
    s = specs(dataset, scale)[0]
    return f"{describe_training(s)}; {csr_text(s)}; levels {list(GRID[scale]['levels'])}"


def frame(runs: list[RunData]) -> pd.DataFrame:
    """Long frame: train_acc, val_acc (per evaluated epoch) and csr (per measurement)."""
    return concat_runs(runs, _level_part, COLUMNS)


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
    level, n = float(r.spec.noise.level), classes(r.spec)
    return pd.concat(
        [d.assign(panel=p, level=level, classes=n) for p in panels(r.spec) for d in long]
    )


def check(df: pd.DataFrame) -> Verdict:
    """Regime, then three parts combined by figures.verdict.combine (module docstring)."""
    numbers: dict = {}
    finals: dict[str, pd.DataFrame] = {}
    for panel in ("randX", "randY"):
        d = df[df["panel"] == panel]
        if "csr" not in set(d["metric"]):
            return inconclusive(f"{panel}: no CSR measurements", **numbers)
        if (d[d["metric"] == "csr"]["value"] == 0).all():
            return inconclusive(f"{panel}: no probe was critical: the radius is too small")
        if d["level"].nunique() < 3:
            return inconclusive(f"{panel}: needs 3+ noise levels", **numbers)
        # Per (metric, level, member): the value at that metric's last measurement.
        last = d[d["epoch"] == d.groupby("metric")["epoch"].transform("max")]
        finals[panel] = last.pivot_table(
            index=["level", "member"], columns="metric", values="value"
        )
        mean = finals[panel].groupby("level").mean()
        numbers[panel] = {c: {str(k): rnd(v) for k, v in mean[c].items()} for c in mean}
    stop = unmet(_level_regime(finals, chance(df)), **numbers)
    if stop:
        return stop
    parts = {
        "CSR rises with level": combine({p: _trend(f, "csr", +1) for p, f in finals.items()}),
        "validation accuracy falls with level": combine(
            {p: _trend(f, "val_acc", -1) for p, f in finals.items()}
        ),
        "randY validation peaks then falls": _peaks(df[df["panel"] == "randY"]),
    }
    return combine(parts, numbers)


def _level_regime(finals: dict[str, pd.DataFrame], chance_: float) -> list[tuple[bool, str]]:
    out = []
    for panel, f in finals.items():
        m = f.groupby("level").mean()
        real = float(m.loc[0.0, "val_acc"]) if 0.0 in m.index else float("nan")
        if panel == "randX":  # real data is in both panels: say it once
            out.append(learned(real, chance_, "real data's final validation accuracy"))
        for lv, a in m["train_acc"].items():
            out.append(fitted(a, f"{panel} {lv:.0%}", MIN_FIT))
    return out


def _trend(f: pd.DataFrame, metric: str, sign: int) -> Verdict:
    """Least-squares slope of the final value on the level over members (spread.slope); the
    claimed direction is `sign`."""
    x = f.index.get_level_values("level").to_numpy(float)
    b, se = spread.slope(x, f[metric].to_numpy(float))
    v = spread.ordering(sign * b, se, spread.z_for(len(x) - 2))
    text = f"{metric} slope over level {b:+.3f} +- {se:.3f} s.e."
    # The slope's s.e. shrinks as 1 / sqrt(points) at fixed levels: plan in members per level.
    k = int(f.index.get_level_values("member").nunique())
    return with_plan(Verdict(v, text, {"slope": rnd(b), "se": rnd(se)}), b, se, len(x), k, 1)


def _peaks(d: pd.DataFrame) -> Verdict:
    """Per noisy randY level: validation accuracy (mean over members) peaks after epoch 0 and
    before the end, and ends more than z x its point-to-point noise (spread.jitter) below the
    peak. Holds at half the levels or more, fails otherwise."""
    val = d[(d["metric"] == "val_acc") & (d["epoch"] > 0)]
    levels = sorted(lv for lv in val["level"].unique() if lv > 0)
    if not levels:
        return inconclusive("no noisy randY level")
    shown, per = 0, {}
    for lv in levels:
        curve = val[val["level"] == lv].groupby("epoch")["value"].mean()
        noise = spread.jitter(curve)
        drop = float(curve.max() - curve.iloc[-1])
        ok = bool(trends.peaks_then_falls(curve, spread.Z * noise)) if np.isfinite(noise) else False
        shown += ok
        per[str(lv)] = {"drop": rnd(drop), "noise": rnd(noise), "peaks_then_falls": ok}
    text = (
        f"validation accuracy peaks then falls (beyond 2 x its epoch-to-epoch noise) at "
        f"{shown}/{len(levels)} randY levels"
    )
    return Verdict("holds" if 2 * shown >= len(levels) else "fails", text, per)


FIGURE = Figure(
    name="noise-levels",
    title="Accuracy and CSR per noise level",
    paper_figure="poster Fig 4.2, ICML Figs 8-9",
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
    regime=(
        "The nets have learned and memorized: real data's final validation accuracy is at least "
        f"{learned_at(0.1):.0%} with 10 classes (figures.verdict.learned) and the noisy "
        "nets have fitted at least "
        f"{MIN_FIT:.0%} of their training labels at every level (memorization is what makes "
        "validation accuracy fall); 2+ members for the spread."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    setup=setup,
    grids=GRID,
)
