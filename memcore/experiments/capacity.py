"""Capacity vs noise (PAPER.md 1; poster Fig 1, ICML Fig 5).

Best validation accuracy (clean validation data, best over epochs) against hidden units, one curve
per noise level, for randX and randY. The claim: real data is near its best at a modest width;
noisier data needs more capacity to reach its best.

Check: per panel (randX, randY) and noise level, the mean over members of the best validation
accuracy per width gives a curve; its "width to near-best" w* is the smallest width within TOL
of the curve's maximum. The claim holds in a panel when w* at the highest noise level exceeds w*
of real data and w* rises with the level (Spearman > 0), and real data's w* is below the largest
width. It holds when it holds in both panels.
"""

from __future__ import annotations

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

TOL = 0.01  # "near best": within 1 point of validation accuracy of the curve's maximum

GRID = {
    "test": {
        "widths": (4, 16, 64),
        "levels": (0.0, 0.5),
        "extra": {"data.train_size": 200, "train.epochs": 3},
    },
    "quick": {
        "widths": (8, 32, 128, 512),
        "levels": (0.0, 0.25, 0.5, 0.75),
        "extra": {"train.epochs": 30, "train.members": 2},
    },
    "paper": {
        "widths": (256, 512, 1024, 2048, 4096, 8192),
        "levels": (0.0, 0.2, 0.4, 0.6, 0.8),
        "extra": {"train.epochs": 100},
    },
}


def specs(dataset: str, scale: str) -> list[RunSpec]:
    g = GRID[scale]
    out = []
    for width in g["widths"]:
        for kind in ("randX", "randY"):
            for level in g["levels"]:
                ch = {**g["extra"], **noise_changes(kind, level), "model.width": width}
                out.append(base_spec(dataset, **ch))
    return out


def settings(dataset: str, scale: str) -> str:
    g = GRID[scale]
    s = specs(dataset, scale)[0]
    text = describe(s).replace(f"x{s.model.width},", "xW,")
    return f"{text}; widths W in {list(g['widths'])}, noise levels {list(g['levels'])}"


def frame(runs: list[RunData]) -> pd.DataFrame:
    """One row per (panel, level, width, member): best and final validation accuracy. Real data
    (level 0) appears in both panels."""
    return concat_runs(runs, _per_member, COLUMNS)


def _per_member(r: RunData) -> pd.DataFrame | None:
    ep = r.frame("epoch")
    if ep.empty:
        return None
    by = ep.groupby("member")
    one = (
        pd.DataFrame(
            {
                "setting": setting(r.spec),
                "level": float(r.spec.noise.level),
                "width": r.spec.model.width,
                "best_val_acc": by["val_acc"].max().astype(float),
                "final_train_acc": final_train_acc(ep).astype(float),
                "epochs": by["epoch"].max().astype(float),
            }
        )
        .rename_axis("member")
        .reset_index()
    )
    one["member"] = one["member"].astype(int)
    both = pd.concat([one.assign(panel=p) for p in panels(r.spec)])
    return both.sort_values("member", kind="stable")  # per member, its panels


COLUMNS = (
    "panel",
    "setting",
    "level",
    "width",
    "member",
    "best_val_acc",
    "final_train_acc",
    "epochs",
)


def check(df: pd.DataFrame) -> Verdict:
    numbers: dict = {}
    results = {}
    for panel in ("randX", "randY"):
        d = df[df["panel"] == panel]
        curves = d.groupby(["level", "width"])["best_val_acc"].mean().unstack("width")
        if 0.0 not in curves.index or len(curves.index) < 2:
            return inconclusive(f"{panel}: needs real data and at least one noise level", **numbers)
        if curves.shape[1] < 3 or curves.isna().any().any():
            return inconclusive(f"{panel}: needs at least 3 widths at every level", **numbers)
        wstar = {float(lv): trends.near_best(curves.loc[lv], TOL) for lv in curves.index}
        top = max(wstar)
        rho = trends.spearman(list(wstar), list(wstar.values()))
        ok = wstar[top] > wstar[0.0] and (rho > 0) and wstar[0.0] < int(curves.columns.max())
        results[panel] = ok
        numbers[panel] = {
            "near_best_width": {str(k): v for k, v in wstar.items()},
            "spearman_level_width": rnd(rho),
            "best_val_acc": {str(k): rnd(float(curves.loc[k].max())) for k in curves.index},
        }
    parts = [
        f"{p}: w* real {numbers[p]['near_best_width']['0.0']} -> "
        f"noise {max(numbers[p]['near_best_width'], key=float)}: "
        f"{numbers[p]['near_best_width'][max(numbers[p]['near_best_width'], key=float)]}"
        for p in results
    ]
    text = "; ".join(parts) + f" (w* = smallest width within {TOL:.0%} of the best)"
    if all(results.values()):
        return Verdict("holds", "noisier data needs more width for its best: " + text, numbers)
    bad = [p for p, ok in results.items() if not ok]
    return Verdict("fails", f"not seen for {', '.join(bad)}: " + text, numbers)


RECIPE = Recipe(
    name="capacity",
    title="Capacity vs noise",
    figure="poster Fig 1, ICML Fig 5",
    claim=(
        "Real data is near its best validation accuracy at a modest width; noisier data needs "
        "more capacity (hidden units) to reach its best."
    ),
    how_to_read=(
        "Each line is one noise level (blue = real data, redder = more noise); x = hidden units "
        "per layer (log scale), y = best validation accuracy on clean data. Left: random inputs "
        "(randX), right: random labels (randY). If the claim holds, the real-data line is flat "
        "early and the noisy lines keep rising to the right. The check marks, per line, the "
        f"smallest width within {TOL:.0%} of that line's best."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    settings=settings,
)
