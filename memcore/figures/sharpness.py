"""Sharpness vs noise (PAPER.md 8, workshop extra).

Sharpness = the largest eigenvalue of the Hessian of the training loss at the end of training
(metrics.sharpness: power iteration with Hessian-vector products; the engine measures it on a
fixed subset of training examples). One run per noise level and kind (randX, randY), members
averaged.

Claim (the ICLR 2017 workshop paper's, not the poster's): nets trained on real data "learn
simpler functions than when trained with noise data, as measured by the sharpness of the loss
function at convergence": sharpness at convergence rises with the noise level.
Regime: every setting has converged (mean final training accuracy >= MIN_FIT: the claim is about
sharpness at convergence); below it the check is inconclusive, naming each setting short of it.
Check, one part per kind (randX, randY) combined by figures.verdict.combine: the least-squares
slope of log sharpness on the level over every member's point, against t x its standard error
(metrics.spread); inconclusive with fewer than 3 levels or non-finite values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memcore.figures.figure import (
    Figure,
    RunData,
    Verdict,
    base_spec,
    concat_runs,
    inconclusive,
    noise_changes,
    panels,
    rnd,
)
from memcore.figures.verdict import combine, fitted, unmet, with_plan
from memcore.metrics import spread, trends
from memcore.metrics.convergence import final_train_acc
from memcore.spec import RunSpec
from memcore.spec.words import describe_training, setting

MIN_FIT = 0.95  # "at convergence": mean final training accuracy of every setting at least this
GRID = {
    "test": {
        "levels": (0.0, 0.5, 1.0),
        "extra": {"data.train_size": 128, "train.epochs": 3, "model.width": 16},
    },
    # Quick: the regime is convergence at every level, 100% random labels included. Fitting 75%
    # random labels of 1,438 digits took about 6,000 SGD steps at batch 32 (measured, width
    # 256); 256 examples (256 random labels at level 1) at batch 32 for 300 epochs give 2,400
    # steps, several times the 1,200 that batch 64 gave. 2 members: a spread for the slope.
    "quick": {
        "levels": (0.0, 0.25, 0.5, 0.75, 1.0),
        "extra": {
            "data.train_size": 256,
            "train.batch_size": 32,
            "train.epochs": 300,
            "model.width": 256,
            "train.members": 2,
            "metrics.eval_every": 10,
        },
    },
    "paper": {
        "levels": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
        "extra": {"train.epochs": 300, "model.width": 4096},
    },
}
COLUMNS = ("panel", "setting", "level", "member", "sharpness", "final_train_acc")


def specs(dataset: str, scale: str, grid: dict | None = None) -> list[RunSpec]:
    g = grid or GRID[scale]  # grid: the scale's entry with the user's knobs (figures.knobs)
    return [
        base_spec(dataset, **g["extra"], **noise_changes(kind, lv), **{"metrics.sharpness": True})
        for kind in ("randX", "randY")
        for lv in g["levels"]
    ]


def setup(dataset: str, scale: str) -> str:
    return f"{describe_training(specs(dataset, scale)[0])}; levels {list(GRID[scale]['levels'])}"


def frame(runs: list[RunData]) -> pd.DataFrame:
    """One row per (panel, level, member); real data (level 0) is in both panels."""
    return concat_runs(runs, _per_member, COLUMNS)


def _per_member(r: RunData) -> pd.DataFrame | None:
    sh = r.frame("sharpness")
    if sh.empty:
        return None
    ep = r.frame("epoch")
    fit = final_train_acc(ep) if len(ep) else pd.Series(dtype=float)
    member = sh["member"].astype(int)
    one = pd.DataFrame(
        {
            "setting": setting(r.spec),
            "level": float(r.spec.noise.level),
            "member": member,
            "sharpness": sh["sharpness"].astype(float),
            "final_train_acc": member.map(fit).astype(float),
        }
    )
    return pd.concat([one.assign(panel=p) for p in panels(r.spec)])


def check(df: pd.DataFrame) -> Verdict:
    """Regime, then one part per kind (randX, randY) combined by figures.verdict.combine."""
    fit = df.groupby(["panel", "level"])["final_train_acc"].mean()
    stop = unmet(
        [fitted(a, f"{p} {lv:g}", MIN_FIT) for (p, lv), a in fit.items()],
        final_train_acc={f"{p} {lv:g}": rnd(float(a)) for (p, lv), a in fit.items()},
    )
    if stop:
        return Verdict(
            stop.verdict,
            f"{stop.summary} (regime: sharpness at convergence, train acc >= {MIN_FIT:.0%}); "
            "train longer",
            stop.numbers,
        )
    return combine({p: _panel(df[df["panel"] == p]) for p in ("randX", "randY")})


def _panel(d: pd.DataFrame) -> Verdict:
    m = d.groupby("level")["sharpness"].mean().sort_index()
    if len(m) < 3 or 0.0 not in m.index:
        return inconclusive("needs real data and 2+ noise levels")
    if not np.isfinite(d["sharpness"].to_numpy(float)).all():
        return inconclusive("non-finite sharpness")
    # Log sharpness: eigenvalues spread over orders of magnitude; one point per member.
    x, y = d["level"].to_numpy(float), np.log(d["sharpness"].to_numpy(float).clip(1e-12))
    b, se = spread.slope(x, y)
    v = spread.ordering(b, se, spread.z_for(len(x) - 2))
    numbers = {
        "sharpness": {str(k): rnd(float(v)) for k, v in m.items()},
        "log_slope": rnd(b),
        "se": rnd(se),
        "spearman": rnd(trends.spearman(m.index, m.to_numpy())),
    }
    text = (
        f"real {m.loc[0.0]:.3g} -> {m.index[-1]:.0%} noise {m.iloc[-1]:.3g} (slope of log "
        f"sharpness on level {b:+.2f} +- {se:.2f} s.e. over {len(x)} member points)"
    )
    # The slope's s.e. shrinks as 1 / sqrt(points) at fixed levels: plan in members per level.
    k = int(d["member"].nunique())
    return with_plan(Verdict(v, text, numbers), b, se, len(x), k, groups=1)


FIGURE = Figure(
    name="sharpness",
    title="Sharpness vs noise",
    paper_figure="ICLR 2017 workshop paper (not on the poster)",
    source="workshop paper",
    claim="The loss surface at the end of training is sharper (larger top Hessian eigenvalue) "
    "the more noise the data has.",
    how_to_read=(
        "x = noise level (fraction of examples corrupted), y = largest eigenvalue of the "
        "training loss's Hessian after training (log scale), one point per member and a line "
        "through the means; green randX, red randY, blue at 0 = real data. A rising line means "
        "fitting noise ends in sharper minima."
    ),
    regime=(
        f"Every run has converged: final training accuracy >= {MIN_FIT:.0%} at every noise "
        "level, random labels included (sharpness at convergence); 2+ members for the spread."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    setup=setup,
    grids=GRID,
)
