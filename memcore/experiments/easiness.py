"""Easiness after one epoch (PAPER.md 3; poster Fig 3.1, ICML Fig 1).

K members (different init and data order, same data) train for exactly one epoch; for each
tracked training example, p = fraction of members that classify it correctly (against its
training label). Settings: real, randX 100%, randY 100%. References (metrics.easiness):
Binomial(K, p0)/K with p0 the mean p of randX (what p looks like if every example were equally
easy), and the within-class reference (one binomial per class), the fair null when members share
class-level biases.

Dispersion D and within-class D (metrics.easiness.dispersion, within_class_dispersion): variance
of p across examples against the binomial variance; 1 = no more spread than chance.
Claim: real data spreads widely; randX matches the binomial reference; randY lies between.
Check: holds when within-class D is ordered real > randY > randX and randX's is within
MATCH of 1. Inconclusive with fewer than MIN_MEMBERS members, a missing setting, real data
barely learned after the epoch (mean p below chance + MIN_LEARNED: the test has no power), or a
setting where p is degenerate (every example always or never right, so D is undefined).
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
    rnd,
    setting,
)
from memcore.metrics import easiness as ez
from memcore.spec import RunSpec

MIN_MEMBERS = 20
MATCH = 0.5  # randX "matches" the reference when |D_within - 1| <= MATCH
MIN_LEARNED = 0.1  # real data's mean P(correct) must exceed chance by this for a comparison
GRID = {
    "test": {"members": 8, "extra": {"data.train_size": 200, "metrics.track_size": 100}},
    "quick": {"members": 100, "extra": {"metrics.track_size": 1000}},
    "paper": {"members": 100, "extra": {"metrics.track_size": 1000}},
}
COLUMNS = ("setting", "example", "label", "noisy", "p_correct", "members")


def specs(dataset: str, scale: str) -> list[RunSpec]:
    g = GRID[scale]
    common = {**g["extra"], "train.members": g["members"], "train.epochs": 1}
    return [
        base_spec(dataset, **common, **noise_changes(kind, 1.0))
        for kind in ("real", "randX", "randY")
    ]


def settings(dataset: str, scale: str) -> str:
    s = specs(dataset, scale)[0]
    return f"{describe(s)}; {s.metrics.track_size} tracked examples; randX and randY at 100%"


def frame(runs: list[RunData]) -> pd.DataFrame:
    """One row per (setting, tracked example): p_correct after epoch 1."""
    return concat_runs(runs, _after_one_epoch, COLUMNS)


def _after_one_epoch(r: RunData) -> pd.DataFrame | None:
    correct = r.arrays.get("correct")
    if correct is None or "epoch" not in r.arrays:
        return None
    rows = np.flatnonzero(np.asarray(r.arrays["epoch"]) == 1)
    if not len(rows):
        return None
    c = np.asarray(correct[rows[-1]], dtype=float)  # K x T
    meta = r.frame("meta")
    t = c.shape[1]
    labels = meta["tracked_labels"].iloc[0] if "tracked_labels" in meta else [-1] * t
    noisy = meta["tracked_noisy"].iloc[0] if "tracked_noisy" in meta else [False] * t
    return pd.DataFrame(
        {
            "setting": setting(r.spec),
            "example": np.arange(t),
            "label": np.asarray(labels, dtype=int)[:t],
            "noisy": np.asarray(noisy, dtype=bool)[:t],
            "p_correct": ez.p_correct(c),
            "members": c.shape[0],
        }
    )


def check(df: pd.DataFrame) -> Verdict:
    have = set(df["setting"])
    missing = {"real", "randX", "randY"} - have
    if missing:
        return inconclusive(f"missing settings: {', '.join(sorted(missing))}")
    k = int(df["members"].min())
    if k < MIN_MEMBERS:
        return inconclusive(f"only {k} members; the binomial comparison needs {MIN_MEMBERS}+")
    numbers: dict = {"members": k}
    d_wc = {}
    for s in ("real", "randX", "randY"):
        g = df[df["setting"] == s]
        p = g["p_correct"].to_numpy(float)
        d_wc[s] = ez.within_class_dispersion(p, g["label"].to_numpy(), k)
        numbers[s] = {
            "mean_p": rnd(float(p.mean())),
            "dispersion": rnd(ez.dispersion(p, k), 2),
            "dispersion_within_class": rnd(d_wc[s], 2),
            "always_right": rnd(float(np.mean(p == 1.0))),
            "never_right": rnd(float(np.mean(p == 0.0))),
        }
    real = df[df["setting"] == "real"]
    chance = 1.0 / max(real["label"].nunique(), 1)
    if numbers["real"]["mean_p"] < chance + MIN_LEARNED:
        return inconclusive(
            f"real data is barely learned after one epoch (mean P(correct) "
            f"{numbers['real']['mean_p']:.3f}, chance {chance:.3f}): nothing to compare; use "
            "more steps (smaller batch, larger lr) for this dataset",
            **numbers,
        )
    bad = [s for s, v in d_wc.items() if not np.isfinite(v)]
    if bad:
        return inconclusive(f"p is degenerate (all 0 or all 1) for {', '.join(bad)}", **numbers)
    text = (
        f"within-class dispersion real {d_wc['real']:.2f}, randY {d_wc['randY']:.2f}, "
        f"randX {d_wc['randX']:.2f} (1 = binomial)"
    )
    order = d_wc["real"] > d_wc["randY"] > d_wc["randX"]
    match = abs(d_wc["randX"] - 1) <= MATCH
    if order and match:
        return Verdict("holds", text, numbers)
    why = [] if order else ["not ordered real > randY > randX"]
    why += [] if match else [f"randX is not within {MATCH} of the binomial reference"]
    return Verdict("fails", text + "; " + "; ".join(why), numbers)


RECIPE = Recipe(
    name="easiness",
    title="Easiness after one epoch",
    figure="poster Fig 3.1, ICML Fig 1",
    claim=(
        "After one epoch, real examples differ widely in how often they are classified "
        "correctly (some always, some never); on random inputs every example is equally hard "
        "(the binomial reference); random labels lie between."
    ),
    how_to_read=(
        "For each of the tracked training examples, the fraction of the members (trained one "
        "epoch each, different seeds) that classify it correctly, sorted from hardest to "
        "easiest, one line per setting (blue real, green randX, red randY). The grey line is "
        "what a Binomial(members, mean p of randX) would give if all examples were equally easy. "
        "A steep S-shape spanning 0 to 1 means some examples are learned by every run and some "
        "by none."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    settings=settings,
)
