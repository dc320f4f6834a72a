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
Regime: after one epoch the real-data net has learned something (mean p at least MIN_LEARNED
above chance: otherwise every setting is near chance and the comparison has no power), with
MIN_MEMBERS+ members; p is not degenerate in any setting (every example always or never right
makes D undefined). Below it the check is inconclusive, naming the value.

Check: the claim is about the ordering and the size of the spread, in two parts combined by
experiments.verdict.combine: "real more spread than randX" (within-class D), and "randY between"
(above randX and below real). Each comparison's tolerance is its bootstrap standard error over
examples (metrics.spread.ordering, z = 2). How close randX is to the binomial reference (|D - 1|)
is reported as a number, not required.
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
    inconclusive,
    noise_changes,
    rnd,
)
from memcore.experiments.verdict import combine, unmet
from memcore.metrics import easiness as ez
from memcore.metrics import spread
from memcore.spec import RunSpec
from memcore.spec.words import describe_training, setting

MIN_MEMBERS = 20
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
    return (
        f"{describe_training(s)}; {s.metrics.track_size} tracked examples; randX and randY at 100%"
    )


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
    """Preconditions, then two parts combined by experiments.verdict.combine (module docstring)."""
    have = set(df["setting"])
    missing = {"real", "randX", "randY"} - have
    if missing:
        return inconclusive(f"missing settings: {', '.join(sorted(missing))}")
    k = int(df["members"].min())
    numbers: dict = {"members": k}
    d_wc, se = {}, {}
    for s in ("real", "randX", "randY"):
        g = df[df["setting"] == s]
        p, labels = g["p_correct"].to_numpy(float), g["label"].to_numpy()
        d_wc[s] = ez.within_class_dispersion(p, labels, k)
        se[s] = spread.bootstrap_se(lambda p_, y_: ez.within_class_dispersion(p_, y_, k), p, labels)
        numbers[s] = {
            "mean_p": rnd(float(p.mean())),
            "dispersion": rnd(ez.dispersion(p, k), 2),
            "dispersion_within_class": rnd(d_wc[s], 2),
            "standard_error": rnd(se[s], 3),
            "always_right": rnd(float(np.mean(p == 1.0))),
            "never_right": rnd(float(np.mean(p == 0.0))),
        }
    # Reported, not required: how close randX is to the binomial reference (1 = equally easy).
    numbers["randX_distance_from_binomial"] = rnd(abs(d_wc["randX"] - 1), 2)
    real = df[df["setting"] == "real"]
    chance = 1.0 / max(real["label"].nunique(), 1)
    degenerate = [s for s, v in d_wc.items() if not np.isfinite(v)]
    stop = unmet(
        [
            (k >= MIN_MEMBERS, f"only {k} members; the spread of p needs {MIN_MEMBERS}+"),
            (
                numbers["real"]["mean_p"] >= chance + MIN_LEARNED,
                f"real data is barely learned after one epoch (mean P(correct) "
                f"{numbers['real']['mean_p']:.3f}, chance {chance:.3f})",
            ),
            (not degenerate, f"p is degenerate (all 0 or all 1) for {', '.join(degenerate)}"),
        ],
        **numbers,
    )
    if stop:
        return stop
    parts = {
        "real more spread than randX": _above(d_wc, se, "real", "randX"),
        "randY between": combine(
            {
                "above randX": _above(d_wc, se, "randY", "randX"),
                "below real": _above(d_wc, se, "real", "randY"),
            }
        ),
    }
    v = combine(parts, numbers)
    text = (
        f"within-class dispersion real {d_wc['real']:.2f}, randY {d_wc['randY']:.2f}, randX "
        f"{d_wc['randX']:.2f} (1 = binomial; randX is {abs(d_wc['randX'] - 1):.2f} from it). "
    )
    return Verdict(v.verdict, text + v.summary, v.numbers, v.parts)


def _above(d: dict, se: dict, a: str, b: str) -> Verdict:
    """D(a) > D(b), with the bootstrap standard errors of both (metrics.spread.ordering)."""
    diff, err = d[a] - d[b], float(np.hypot(se[a], se[b]))
    text = f"D {a} {d[a]:.2f} vs {b} {d[b]:.2f} (difference {diff:+.2f} +- {err:.2f} s.e.)"
    return Verdict(spread.ordering(diff, err), text, {"difference": rnd(diff), "se": rnd(err)})


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
    regime=(
        f"After one epoch the real-data net has learned something (mean P(correct) at least "
        f"{MIN_LEARNED:g} above chance) and examples are not all always or never right; "
        f"{MIN_MEMBERS}+ members."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    settings=settings,
)
