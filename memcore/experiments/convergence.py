"""Time to convergence (PAPER.md 2; poster Fig 2, ICML Fig 6).

Epochs until 100% training accuracy (against the possibly noisy training labels), per member;
a member that never gets there within the run is censored (its time is at least the run's
epochs); definitions in metrics.convergence. Two panels: against dataset size at a fixed
width, and against width at a fixed size, one curve per setting. "Normalised" divides by the mean
real-data time at the same size and width.

Claim: with noise, training time grows much faster with dataset size than for real data, and
random labels (randY) take longer than real data.
Check: growth = mean time at the largest size / mean time at the smallest size. The claim holds
when every noisy setting's growth exceeds real data's and randY's time exceeds real data's at
every size. Censored real runs (or censored noisy runs at the smallest size) make the check
inconclusive; a censored noisy run at the largest size gives a lower bound on its growth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memcore.experiments.recipe import (
    Recipe,
    RunData,
    Verdict,
    base_spec,
    describe,
    inconclusive,
    noise_changes,
    rnd,
    setting,
)
from memcore.metrics import convergence as cv
from memcore.spec import RunSpec

GRID = {
    "test": {
        "sizes": (64, 128),
        "widths": (16, 64),
        "size_at": 64,
        "width_at": 64,
        "level": 0.5,
        "extra": {"train.epochs": 15, "train.batch_size": 32},
    },
    "quick": {
        "sizes": (250, 500, 1000),
        "widths": (64, 256, 1024),
        "size_at": 500,
        "width_at": 256,
        "level": 0.5,
        "extra": {"train.epochs": 200, "train.members": 2},
    },
    "paper": {
        "sizes": (5000, 10000, 20000, 50000),
        "widths": (512, 1024, 2048, 4096),
        "size_at": 10000,
        "width_at": 4096,
        "level": 0.5,
        "extra": {"train.epochs": 300},
    },
}
SETTINGS = ("real", "randX", "randY")
COLUMNS = (
    "panel",
    "setting",
    "level",
    "train_size",
    "width",
    "member",
    "epochs_to_fit",
    "censored",
    "max_epochs",
    "normalized",
)


def _spec(dataset: str, scale: str, kind: str, size: int, width: int) -> RunSpec:
    g = GRID[scale]
    ch = {
        **g["extra"],
        **noise_changes(kind, g["level"]),
        "data.train_size": size,
        "model.width": width,
    }
    return base_spec(dataset, **ch)


def specs(dataset: str, scale: str) -> list[RunSpec]:
    g = GRID[scale]
    out = [_spec(dataset, scale, k, n, g["width_at"]) for n in g["sizes"] for k in SETTINGS]
    out += [_spec(dataset, scale, k, g["size_at"], w) for w in g["widths"] for k in SETTINGS]
    return out


def settings(dataset: str, scale: str) -> str:
    g = GRID[scale]
    return (
        f"{describe(specs(dataset, scale)[0])}; noise level {g['level']}; sizes "
        f"{list(g['sizes'])} at width {g['width_at']}; widths {list(g['widths'])} at size "
        f"{g['size_at']}"
    )


def frame(runs: list[RunData]) -> pd.DataFrame:
    """One row per (panel, setting, size, width, member); a run may appear in both panels."""
    parts = []
    sizes = {r.spec.data.train_size for r in runs}
    widths = {r.spec.model.width for r in runs}
    # The panels are told apart by the grid: the size panel shares one width, the width panel one
    # size; the run at (size_at, width_at) is in both.
    width_at = _mode([r.spec.model.width for r in runs]) if len(widths) > 1 else None
    size_at = _mode([r.spec.data.train_size for r in runs]) if len(sizes) > 1 else None
    for r in runs:
        ep = r.frame("epoch")
        if ep.empty:
            continue
        t = cv.epochs_to_fit(ep)
        for panel, ok in (
            ("size", r.spec.model.width == width_at or width_at is None),
            ("width", r.spec.data.train_size == size_at or size_at is None),
        ):
            if ok:
                parts.append(
                    t.assign(
                        panel=panel,
                        setting=setting(r.spec),
                        level=float(r.spec.noise.level),
                        train_size=r.spec.data.train_size,
                        width=r.spec.model.width,
                    )
                )
    if not parts:
        return pd.DataFrame(columns=list(COLUMNS))
    df = pd.concat(parts, ignore_index=True)
    df["normalized"] = cv.normalised(df, ("panel", "train_size", "width"))
    return df[list(COLUMNS)]


def _mode(values: list) -> object:
    s = pd.Series(values)
    return s.value_counts().idxmax()


def check(df: pd.DataFrame) -> Verdict:
    d = df[df["panel"] == "size"]
    sizes = sorted(d["train_size"].unique())
    if len(sizes) < 2 or "real" not in set(d["setting"]):
        return inconclusive("needs real data at two or more dataset sizes")
    small, large = sizes[0], sizes[-1]
    agg = d.groupby(["setting", "train_size"]).agg(
        t=("epochs_to_fit", "mean"), cens=("censored", "any")
    )
    if agg.loc["real", "cens"].any():
        n = int(d[(d["setting"] == "real")]["censored"].sum())
        return inconclusive(f"{n} real-data member(s) never reached 100% training accuracy")
    numbers: dict = {"sizes": [int(s) for s in sizes]}
    growth = {}
    lower = {}
    for s in sorted(set(d["setting"])):
        if (s, small) not in agg.index or (s, large) not in agg.index:
            return inconclusive(f"{s}: runs at sizes {small} and {large} are missing")
        if agg.loc[(s, small), "cens"]:
            return inconclusive(f"{s} never reached 100% training accuracy at size {small}")
        growth[s] = agg.loc[(s, large), "t"] / agg.loc[(s, small), "t"]
        lower[s] = bool(agg.loc[(s, large), "cens"])
        numbers[f"{s}_epochs"] = {
            str(int(n)): rnd(float(agg.loc[(s, n), "t"]), 1) for n in sizes if (s, n) in agg.index
        }
    numbers["growth"] = {s: rnd(float(g), 2) for s, g in growth.items()}
    numbers["growth_is_lower_bound"] = lower
    noisy = [s for s in growth if s != "real"]
    if not noisy:
        return inconclusive("no noisy setting was run", **numbers)
    faster = {s: growth[s] > growth["real"] for s in noisy}
    slower_y = True
    if "randY" in growth:
        ty = [agg.loc[("randY", n), "t"] for n in sizes if ("randY", n) in agg.index]
        tr = [agg.loc[("real", n), "t"] for n in sizes if ("real", n) in agg.index]
        slower_y = bool(np.all(np.array(ty) > np.array(tr)))
    text = ", ".join(f"{s} x{growth[s]:.2f}{'+' if lower[s] else ''}" for s in growth)
    text = f"time growth from {small} to {large} examples: {text}"
    undecided = [s for s in noisy if not faster[s] and lower[s]]
    if all(faster.values()) and slower_y:
        return Verdict("holds", text + "; randY slower than real at every size", numbers)
    if undecided:
        return inconclusive(
            text + f"; censored runs ({', '.join(undecided)}) leave it open", **numbers
        )
    why = [s for s in noisy if not faster[s]]
    reason = (f"; {', '.join(why)} grows no faster than real" if why else "") + (
        "" if slower_y else "; randY is not slower than real at every size"
    )
    return Verdict("fails", text + reason, numbers)


RECIPE = Recipe(
    name="convergence",
    title="Time to convergence",
    figure="poster Fig 2, ICML Fig 6",
    claim=(
        "With noise, training time grows much faster with dataset size than on real data; "
        "random labels take longer to fit than real data."
    ),
    how_to_read=(
        "Left: epochs until 100% training accuracy against dataset size at a fixed width; "
        "right: against width at a fixed size; one line per setting (blue real, green randX, "
        "red randY). 'Normalised' divides by the real-data time at the same point, so real data "
        "is the flat line at 1. Hollow points are censored: that run never reached 100% within "
        "its epochs, so its true time is larger than drawn."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    settings=settings,
)
