"""Sharpness vs noise (PAPER.md 8, workshop extra).

Sharpness = the largest eigenvalue of the Hessian of the training loss at the end of training
(metrics.sharpness: power iteration with Hessian-vector products; the engine measures it on a
fixed subset of training examples). One run per noise level and kind (randX, randY), members
averaged.

Claim: sharpness at convergence rises with the noise level.
Check: per kind, the Spearman correlation between level and mean sharpness exceeds RHO and the
highest level is sharper than real data. Holds when both kinds show it. Inconclusive when a
setting has not converged (mean final training accuracy below MIN_FIT: the claim is about
sharpness at convergence), with fewer than 3 levels, or with non-finite values.
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
from memcore.metrics.convergence import final_train_acc
from memcore.spec import RunSpec

RHO = 0.5
MIN_FIT = 0.95  # "at convergence": mean final training accuracy of every setting at least this
GRID = {
    "test": {
        "levels": (0.0, 0.5, 1.0),
        "extra": {"data.train_size": 128, "train.epochs": 3, "model.width": 16},
    },
    # A small training set and many epochs, so that noisy data can be fitted (convergence).
    "quick": {
        "levels": (0.0, 0.25, 0.5, 0.75, 1.0),
        "extra": {
            "data.train_size": 256,
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


def specs(dataset: str, scale: str) -> list[RunSpec]:
    g = GRID[scale]
    return [
        base_spec(dataset, **g["extra"], **noise_changes(kind, lv), **{"metrics.sharpness": True})
        for kind in ("randX", "randY")
        for lv in g["levels"]
    ]


def settings(dataset: str, scale: str) -> str:
    return f"{describe(specs(dataset, scale)[0])}; levels {list(GRID[scale]['levels'])}"


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
    numbers: dict = {}
    ok = True
    parts = []
    fit = df.groupby(["panel", "level"])["final_train_acc"].mean()
    loose = fit[fit < MIN_FIT]
    if len(loose):
        where = ", ".join(f"{p} {lv:g}: {a:.2f}" for (p, lv), a in loose.items())
        return inconclusive(
            f"the claim is about sharpness at convergence, but {len(loose)} setting(s) did not "
            f"fit their training data (train acc < {MIN_FIT}: {where}); train longer",
            final_train_acc={f"{p} {lv:g}": rnd(float(a)) for (p, lv), a in fit.items()},
        )
    for panel in ("randX", "randY"):
        m = df[df["panel"] == panel].groupby("level")["sharpness"].mean().sort_index()
        if len(m) < 3 or 0.0 not in m.index:
            return inconclusive(f"{panel}: needs real data and 2+ noise levels", **numbers)
        if not np.isfinite(m.to_numpy()).all():
            return inconclusive(f"{panel}: non-finite sharpness", **numbers)
        rho = trends.spearman(m.index, m.to_numpy())
        up = bool(m.iloc[-1] > m.loc[0.0])
        numbers[panel] = {
            "sharpness": {str(k): rnd(float(v)) for k, v in m.items()},
            "spearman": rnd(rho),
        }
        ok &= up and bool(rho > RHO)
        parts.append(
            f"{panel}: real {m.loc[0.0]:.3g} -> {m.index[-1]:.0%} noise "
            f"{m.iloc[-1]:.3g} (rank corr. {rho:+.2f})"
        )
    return Verdict(
        "holds" if ok else "fails", "top Hessian eigenvalue " + "; ".join(parts), numbers
    )


RECIPE = Recipe(
    name="sharpness",
    title="Sharpness vs noise",
    figure="workshop poster (extra)",
    claim="The loss surface at the end of training is sharper (larger top Hessian eigenvalue) "
    "the more noise the data has.",
    how_to_read=(
        "x = noise level (fraction of examples corrupted), y = largest eigenvalue of the "
        "training loss's Hessian after training (log scale), one point per member and a line "
        "through the means; green randX, red randY, blue at 0 = real data. A rising line means "
        "fitting noise ends in sharper minima."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    settings=settings,
)
