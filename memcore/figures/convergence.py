"""Time to convergence (PAPER.md 2; poster Fig 2, ICML Fig 6).

Epochs until 100% training accuracy (against the possibly noisy training labels), per member;
a member that never gets there within the run is censored (its time is at least the run's
epochs); definitions in metrics.convergence. Two panels: against dataset size at a fixed
width, and against width at a fixed size, one curve per setting. "Normalised" divides by the mean
real-data time at the same size and width.

Claim (poster): "training on noise gets harder, faster, when the dataset grows". The workshop
paper's "longer for random labels, but shorter for random inputs" is an observation.
Regime: every run fits its training labels within its epochs (the claim is about the time to
fit). A censored real run makes the whole check inconclusive (naming the size and its final
training accuracy); a censored noisy run is a lower bound, enough where it points the claim's way.

Check, tolerances from the spread over members (paired by member: member k of every setting
shares its seed; metrics.spread, t quantiles):
- the verdict, "growth with dataset size": per noisy setting, log growth (time at the largest
  size / at the smallest) minus real data's, per member; one part per setting, combined by
  figures.verdict.combine. A noisy setting censored at the smallest size is inconclusive
  (its growth is unknown); an open part says how many members would decide it.
- observation (workshop paper), "randY slower than real": log(randY time / real time) over every
  (size, member) pair, read by the same rule (open, not fails, if censored randY could lift it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memcore.figures.figure import (
    Figure,
    RunData,
    Verdict,
    base_spec,
    inconclusive,
    noise_changes,
    rnd,
)
from memcore.figures.verdict import Observation, combine, observe, unmet, with_plan
from memcore.metrics import convergence as cv
from memcore.metrics import spread
from memcore.spec import RunSpec
from memcore.spec.words import SETTINGS, describe_training, setting

GRID = {
    "test": {
        "sizes": (64, 128),
        "widths": (16, 64),
        "size_at": 64,
        "width_at": 64,
        "level": 0.5,
        "extra": {"train.epochs": 15, "train.batch_size": 32},
    },
    # Quick: every run fits its labels (digits, width 256: 500 random labels after ~3,000 SGD
    # steps at batch 64, issue 12); batch 32 x 400 epochs give 2,800 / 5,200 / 10,000 steps on
    # 200 / 400 / 800 examples (sizes span 4x, the paper's 10x: the largest run stays cheap).
    # 3 members (t with 2 degrees of freedom per size). The power calculation on issue 21's
    # report run (3 members) asks for 4 on digits (log differences -0.41 +- 0.10 randX, -0.29
    # +- 0.08 randY), 6 for mnist1d's randX (-0.08 +- 0.03; randY +0.01 +- 0.02: nothing to
    # decide); a member costs about 80 s of the figure's 250-270 s, beyond the report's 45
    # minutes: the verdict names the count; its second stage trains only the extra members.
    "quick": {
        "sizes": (200, 400, 800),
        "widths": (64, 256, 1024),
        "size_at": 400,
        "width_at": 256,
        "level": 0.5,
        "extra": {"train.epochs": 400, "train.batch_size": 32, "train.members": 3},
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
    "final_train_acc",
)


def _spec(dataset: str, g: dict, kind: str, size: int, width: int) -> RunSpec:
    ch = {
        **g["extra"],
        **noise_changes(kind, g["level"]),
        "data.train_size": size,
        "model.width": width,
    }
    return base_spec(dataset, **ch)


def specs(dataset: str, scale: str, grid: dict | None = None) -> list[RunSpec]:
    g = grid or GRID[scale]  # grid: the scale's entry with the user's knobs (figures.knobs)
    out = [_spec(dataset, g, k, n, g["width_at"]) for n in g["sizes"] for k in SETTINGS]
    out += [_spec(dataset, g, k, g["size_at"], w) for w in g["widths"] for k in SETTINGS]
    return out


def setup(dataset: str, scale: str) -> str:
    g = GRID[scale]
    return (
        f"{describe_training(specs(dataset, scale)[0])}; noise level {g['level']}; sizes "
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
        t["final_train_acc"] = t["member"].map(cv.final_train_acc(ep)).astype(float)
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
    return pd.Series(values).value_counts().idxmax()


def check(df: pd.DataFrame) -> Verdict:
    """Two parts, "randY slower" and "growth with size" (module docstring), combined by
    figures.verdict.combine."""
    d = df[df["panel"] == "size"]
    sizes = sorted(d["train_size"].unique())
    if len(sizes) < 2 or "real" not in set(d["setting"]):
        return inconclusive("needs real data at two or more dataset sizes")
    real = d[d["setting"] == "real"]
    cens = real[real["censored"]]
    if len(cens):  # the regime: real data fits at every size
        worst = cens.iloc[0]
        fit = f", final training accuracy {worst.get('final_train_acc', float('nan')):.1%}"
        why = (
            f"real data at size {int(worst['train_size'])} never reached 100% training accuracy "
            f"in {worst['max_epochs']:g} epochs ({len(cens)} member(s){fit})"
        )
        return unmet([(False, why)]) or inconclusive(why)
    t = d.pivot_table(
        index=["setting", "train_size"], columns="member", values="epochs_to_fit", aggfunc="mean"
    )
    c = d.pivot_table(
        index=["setting", "train_size"], columns="member", values="censored", aggfunc="max"
    ).astype(bool)
    numbers: dict = {
        "sizes": [int(n) for n in sizes],
        "epochs": {f"{s} {n}": rnd(float(t.loc[(s, n)].mean()), 1) for s, n in t.index},
        "censored": {
            f"{s} {n}": int(c.loc[(s, n)].sum()) for s, n in c.index if c.loc[(s, n)].any()
        },
    }
    v = _growth(t, c, sizes)
    slower = _slower(t, c, sizes)
    seen = Observation(
        f"(workshop paper: random labels take longer to fit) {slower.verdict}: {slower.summary}",
        slower.numbers,
    )
    head = Verdict(v.verdict, v.summary, {**numbers, **v.numbers}, v.parts)
    return observe(head, {"randY slower than real (workshop paper)": seen})


def _slower(t: pd.DataFrame, c: pd.DataFrame, sizes: list) -> Verdict:
    """log(randY time / real time), paired by (size, member); censored randY is a lower bound."""
    if "randY" not in t.index.get_level_values(0):
        return inconclusive("no randY run")
    pairs = [n for n in sizes if ("randY", n) in t.index and ("real", n) in t.index]
    lr = np.concatenate(
        [np.log(t.loc[("randY", n)] / t.loc[("real", n)]).to_numpy() for n in pairs]
    )
    mean, se = spread.paired(lr, np.zeros_like(lr))
    v = spread.ordering(mean, se, spread.z_for(len(lr) - 1))
    lower = bool(any(c.loc[("randY", n)].any() for n in pairs))
    nums = {
        "log_ratio": rnd(mean),
        "standard_error": rnd(se),
        "pairs": len(lr),
        "lower_bound": lower,
    }
    text = (
        f"randY takes x{np.exp(mean):.2f}{'+' if lower else ''} the real-data epochs "
        f"(geometric mean over {len(lr)} size x member pairs, log-ratio {mean:+.2f} +- "
        f"{se:.2f} s.e.)"
    )
    if v == "fails" and lower:
        return Verdict("inconclusive", text + "; censored randY runs leave it open", nums)
    return Verdict(v, text, nums)


def _growth(t: pd.DataFrame, c: pd.DataFrame, sizes: list) -> Verdict:
    """Per noisy setting: log growth (largest / smallest size) minus real's, paired by member."""
    small, large = sizes[0], sizes[-1]
    g_real = np.log(t.loc[("real", large)] / t.loc[("real", small)])
    noisy = sorted(set(t.index.get_level_values(0)) - {"real"})
    if not noisy:
        return inconclusive("no noisy setting was run")
    parts = {}
    for s in noisy:
        if (s, small) not in t.index or (s, large) not in t.index:
            parts[s] = inconclusive(f"{s}: runs at sizes {small} and {large} are missing")
            continue
        stop = unmet(
            [
                (
                    not c.loc[(s, small)].any(),
                    f"{s} never reached 100% training accuracy at size {small} "
                    f"({int(c.loc[(s, small)].sum())} member(s))",
                )
            ]
        )
        if stop:
            parts[s] = stop
            continue
        g = np.log(t.loc[(s, large)] / t.loc[(s, small)])
        mean, se = spread.paired(g, g_real)
        v = spread.ordering(mean, se, spread.z_for(len(g) - 1))
        lower = bool(c.loc[(s, large)].any())
        text = (
            f"{s} time grows x{np.exp(g.mean()):.2f}{'+' if lower else ''} from {small} to "
            f"{large} examples, real x{np.exp(g_real.mean()):.2f} (log difference {mean:+.2f} "
            f"+- {se:.2f} s.e.)"
        )
        if v == "fails" and lower:
            v, text = "inconclusive", text + "; censored runs leave it open"
        nums = {
            "growth": rnd(float(np.exp(g.mean())), 2),
            "real_growth": rnd(float(np.exp(g_real.mean())), 2),
            "log_difference": rnd(mean),
            "standard_error": rnd(se),
            "lower_bound": lower,
        }
        parts[s] = with_plan(Verdict(v, text, nums), mean, se, len(g), len(g), groups=1)
    return combine(parts)


FIGURE = Figure(
    name="convergence",
    title="Time to convergence",
    paper_figure="poster Fig 2, ICML Fig 6",
    claim=(
        "Training on noise gets harder, faster, when the dataset grows: with noise, the time to "
        "fit the training set grows much faster with dataset size than on real data."
    ),
    how_to_read=(
        "Left: epochs until 100% training accuracy against dataset size at a fixed width; "
        "right: against width at a fixed size; one line per setting (blue real, green randX, "
        "red randY). 'Normalised' divides by the real-data time at the same point, so real data "
        "is the flat line at 1. Hollow points are censored: that run never reached 100% within "
        "its epochs, so its true time is larger than drawn."
    ),
    regime=(
        "Every run reaches 100% training accuracy within its epochs (real data at every size "
        "without exception; a noisy run that does not is a lower bound); 2+ members per point, "
        "for the spread."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    setup=setup,
    grids=GRID,
    fixed={"data.train_size": "the training-set size is this figure's x axis: set sizes"},
)
