"""Easiness after one epoch (PAPER.md 3; poster Fig 3.1, ICML Fig 1).

K members (different init and data order, same data) train for exactly one epoch; for each
tracked training example, p = fraction of members that classify it correctly (against its
training label). Data: real, randX 100%, randY 100%. References (metrics.easiness):
Binomial(K, p0)/K with p0 the mean p of randX (what p looks like if every example were equally
easy), and the within-class reference (one binomial per class), the fair null when members share
class-level biases.

Dispersion D and within-class D (metrics.easiness.dispersion, within_class_dispersion): variance
of p across examples against the binomial variance; 1 = no more spread than chance.
Claim (poster Fig 3.1): "easiness of examples varies much more for real data" (than for randX
and randY). Regime: after one epoch the real-data net has learned something (mean p
ONE_EPOCH_SHARE of the way from chance to 1: otherwise every setting is near chance and the
comparison has no power; figures.verdict.learned), with MIN_MEMBERS+ members; p is not
degenerate in any setting (every example always or never right makes D undefined). Below it the
check is inconclusive, naming the value.

Check, two parts (the poster's "than randX" and "than randY") combined by
figures.verdict.combine: within-class D of real above that of randX, and above that of randY,
each with its bootstrap standard error over examples (metrics.spread.ordering, z = 2).
Observations (reported, never the verdict): how far randX is from its binomial reference
(|D - 1|), and where randY falls relative to randX and real.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memcore.figures.figure import (
    Figure,
    RunData,
    Verdict,
    base_spec,
    classes,
    concat_runs,
    inconclusive,
    noise_changes,
    rnd,
)
from memcore.figures.verdict import Observation, chance, combine, learned, observe, unmet
from memcore.metrics import easiness as ez
from memcore.metrics import spread
from memcore.spec import RunSpec
from memcore.spec.words import describe_training, setting

MIN_MEMBERS = 20
# "Has learned something after one epoch": mean P(correct) this share of the way from chance
# to 1 (0.19 with 10 classes; measured on digits at lr 0.1: 0.7 after one epoch).
ONE_EPOCH_SHARE = 0.1
GRID = {
    "test": {"members": 8, "extra": {"data.train_size": 200, "metrics.track_size": 100}},
    "quick": {"members": 100, "extra": {"metrics.track_size": 1000}},
    "paper": {"members": 100, "extra": {"metrics.track_size": 1000}},
}
COLUMNS = ("setting", "example", "label", "noisy", "p_correct", "members", "classes")


def specs(dataset: str, scale: str) -> list[RunSpec]:
    g = GRID[scale]
    common = {**g["extra"], "train.members": g["members"], "train.epochs": 1}
    return [
        base_spec(dataset, **common, **noise_changes(kind, 1.0))
        for kind in ("real", "randX", "randY")
    ]


def setup(dataset: str, scale: str) -> str:
    s = specs(dataset, scale)[0]
    return (
        f"{describe_training(s)}; {s.metrics.track_size} tracked examples; randX and randY at 100%"
    )


def frame(runs: list[RunData]) -> pd.DataFrame:
    """One row per (setting, tracked example): p_correct after epoch 1 over the members of every
    run of that setting (a second stage's extra members pool with the first's)."""
    return concat_runs(_pooled(runs), _after_one_epoch, COLUMNS)


def _correct(r: RunData) -> np.ndarray | None:
    """The run's K x T correctness of its tracked examples after epoch 1 (None: not stored)."""
    correct = r.arrays.get("correct")
    if correct is None or "epoch" not in r.arrays:
        return None
    rows = np.flatnonzero(np.asarray(r.arrays["epoch"]) == 1)
    return np.asarray(correct[rows[-1]], dtype=float) if len(rows) else None


def _pooled(runs: list[RunData]) -> list[RunData]:
    """One run per setting whose correctness stacks the members of all its runs (same data,
    so the same tracked examples; member seeds differ)."""
    groups: dict[str, list[tuple[RunData, np.ndarray]]] = {}
    for r in runs:
        if (c := _correct(r)) is not None:
            groups.setdefault(setting(r.spec), []).append((r, c))
    return [
        RunData(g[0][0].spec, g[0][0].records,
                {"epoch": np.array([1]), "correct": np.vstack([c for _, c in g])[None]})
        for g in groups.values()
    ]  # fmt: skip


def _after_one_epoch(r: RunData) -> pd.DataFrame | None:
    c = _correct(r)
    if c is None:
        return None
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
            "classes": classes(r.spec),
        }
    )


def check(df: pd.DataFrame) -> Verdict:
    """Preconditions, then two parts combined by figures.verdict.combine (module docstring)."""
    have = set(df["setting"])
    missing = {"real", "randX", "randY"} - have
    if missing:
        return inconclusive(f"missing runs: {', '.join(sorted(missing))}")
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
    degenerate = [s for s, v in d_wc.items() if not np.isfinite(v)]
    stop = unmet(
        [
            (k >= MIN_MEMBERS, f"only {k} members; the spread of p needs {MIN_MEMBERS}+"),
            learned(
                numbers["real"]["mean_p"],
                chance(df),
                "real data's mean P(correct) after one epoch",
                ONE_EPOCH_SHARE,
            ),
            (not degenerate, f"p is degenerate (all 0 or all 1) for {', '.join(degenerate)}"),
        ],
        **numbers,
    )
    if stop:
        return stop
    parts = {
        "real more spread than randX": _above(d_wc, se, "real", "randX"),
        "real more spread than randY": _above(d_wc, se, "real", "randY"),
    }
    v = combine(parts, numbers)
    text = (
        f"within-class dispersion real {d_wc['real']:.2f}, randY {d_wc['randY']:.2f}, randX "
        f"{d_wc['randX']:.2f} (1 = binomial). "
    )
    return observe(Verdict(v.verdict, text + v.summary, v.numbers, v.parts), _observed(d_wc, se))


def _observed(d: dict, se: dict) -> dict[str, Observation]:
    """Not the poster's claim: randX against its binomial reference, and where randY falls."""
    x, y, r = d["randX"], d["randY"], d["real"]
    where = "between randX and real" if x < y < r else ("below randX" if y <= x else "above real")
    return {
        "randX against its binomial reference": Observation(
            f"randX within-class D {x:.2f} is {abs(x - 1):.2f} from 1 (the binomial reference: "
            f"every example equally easy; bootstrap s.e. {se['randX']:.2f})",
            {"randX_distance_from_binomial": rnd(abs(x - 1), 2)},
        ),
        "where randY falls": Observation(
            f"randY D {y:.2f} lies {where} (randX {x:.2f}, real {r:.2f})",
            {"randY_minus_randX": rnd(y - x), "real_minus_randY": rnd(r - y)},
        ),
    }


def _above(d: dict, se: dict, a: str, b: str) -> Verdict:
    """D(a) > D(b), with the bootstrap standard errors of both (metrics.spread.ordering)."""
    diff, err = d[a] - d[b], float(np.hypot(se[a], se[b]))
    text = f"D {a} {d[a]:.2f} vs {b} {d[b]:.2f} (difference {diff:+.2f} +- {err:.2f} s.e.)"
    return Verdict(spread.ordering(diff, err), text, {"difference": rnd(diff), "se": rnd(err)})


FIGURE = Figure(
    name="easiness",
    title="Easiness after one epoch",
    paper_figure="poster Fig 3.1, ICML Fig 1",
    claim=(
        "Easiness of examples (the probability of being correctly classified after one epoch "
        "of training) varies much more for real data than for random inputs (randX) and random "
        "labels (randY)."
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
        f"{ONE_EPOCH_SHARE:.0%} of the way from chance to 100%) and examples are not all always "
        f"or never right; {MIN_MEMBERS}+ members."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    setup=setup,
    grids=GRID,
    fixed={"train.epochs": "easiness is measured after exactly one epoch"},
)
