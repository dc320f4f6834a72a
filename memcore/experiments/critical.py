"""Critical sample ratio over training (PAPER.md 6; poster Fig 4.1, ICML Fig 7).

A probe x is critical if LASS finds x^ with |x - x^|_inf <= r and a different predicted class;
CSR = fraction of probe points (validation data) that are critical (metrics.critical). The radius
is the dataset's default (PAPER.md calibration: a few percent of real-data probes critical on
small offline data; the paper's 0.3/255 on MNIST/CIFAR), stated next to the figure.

Regime (this figure and noise-levels): the claims are about nets that have learned and
memorized: real data has learned (validation accuracy at least MIN_LEARNED above chance at the
last CSR measurement) and every noisy net has fitted most of its training labels (training
accuracy >= MIN_FIT). Below it the check is inconclusive, naming each run short of it and its
value.

"critical": real, randX 100%, randY 100%. Check, three parts combined by
experiments.verdict.combine, each a difference of means over members x measurements with its
Welch standard error (metrics.spread, t quantile): "randX above real" and "randY above real" (CSR
over the last third of the measurements), and "rises during training" (per noisy setting, the last
third above the first third after epoch 0). The plateau (late change small next to the early
rise) is reported, not required.

"noise-levels" (experiments.noise_levels) shares the grid and the regime.
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
from memcore.experiments.recipe import chance as chance_of
from memcore.experiments.verdict import combine, unmet
from memcore.metrics import spread, trends
from memcore.spec import RunSpec
from memcore.spec.words import describe_training, setting

# Regime: real data's validation accuracy at least this far above chance, i.e. 3x chance with
# 10 classes: "well above chance" on both offline datasets (mnist1d's MLP reaches .59 on all
# its data after 30 epochs, issue 12, and less on 500 examples).
MIN_LEARNED = 0.2
LEARNED_VAL = 0.1 + MIN_LEARNED  # the validation accuracy that MIN_LEARNED asks for
MIN_FIT = 0.9  # regime: every noisy net has fitted this much of its training labels
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
    # Quick: the regime is "the noisy nets have fitted their labels". Measured on digits (lr 0.1):
    # 100% random labels on 500 examples (width 256, batch 32) reach train accuracy .94 / .98 /
    # 1.0 after 2,560 / 2,880 / 3,200 SGD steps, while all 1,438 examples at 75% noise reach
    # only .92 after 6,000 steps. So 500 training examples (validation data unchanged), batch
    # 32 and 200 epochs (3,200 steps). CSR every 20 epochs: 10 measurements after epoch 0 are
    # enough for a trend; up to 300 probes give a CSR to about +-0.013 (binomial s.e. at 5%).
    # The LASS searches cost far more than the training (measured: one run about 3 minutes
    # on a loaded 2-core CPU, 6 s of it training), so noise-levels, which reads only the
    # final CSR per level, measures every 40 epochs ("level_extra"). 2 members: a spread for
    # the tolerances.
    "quick": {
        "extra": {
            "data.train_size": 500,
            "train.batch_size": 32,
            "train.epochs": 200,
            "metrics.csr_every": 20,
            "metrics.csr_probes": 300,
            "train.members": 2,
        },
        "level_extra": {"metrics.csr_every": 40},
        "levels": (0.0, 0.2, 0.4, 0.6, 0.8),
    },
    "paper": {
        "extra": {"train.epochs": 100, "metrics.csr_every": 5},
        "levels": (0.0, 0.2, 0.4, 0.6, 0.8),
    },
}
COLUMNS = (
    "setting",
    "level",
    "epoch",
    "member",
    "csr",
    "iters",
    "radius",
    "train_acc",
    "val_acc",
)


def specs(dataset: str, scale: str) -> list[RunSpec]:
    ex = GRID[scale]["extra"]
    return [base_spec(dataset, **ex, **noise_changes(k, 1.0)) for k in ("real", "randX", "randY")]


def csr_text(s: RunSpec) -> str:
    m = s.metrics
    return (
        f"CSR every {m.csr_every} epochs on up to {m.csr_probes} {m.csr_set} probes, radius "
        f"{m.csr_radius:g}/255, alpha {m.csr_alpha:g}/255, beta {m.csr_beta:g}/255, "
        f"<= {m.csr_iters} LASS iterations (x/255 = that share of the data's value range)"
    )


def settings(dataset: str, scale: str) -> str:
    s = specs(dataset, scale)[0]
    return f"{describe_training(s)}; {csr_text(s)}; randX and randY at 100%"


def frame(runs: list[RunData]) -> pd.DataFrame:
    """One row per (setting, CSR measurement, member)."""
    return concat_runs(runs, _csr_part, COLUMNS)


def _csr_part(r: RunData) -> pd.DataFrame:
    c = r.frame("csr").assign(setting=setting(r.spec), level=float(r.spec.noise.level))
    for col in ("iters", "radius"):  # absent from records written before they were stored
        if col not in c:
            c[col] = np.nan
    # The regime: training and validation accuracy at each CSR measurement.
    ep = r.frame("epoch")
    acc = ["train_acc", "val_acc"]
    if ep.empty or c.empty:
        return c.assign(**{a: np.nan for a in acc})
    return c.merge(ep[["epoch", "member", *acc]], on=["epoch", "member"], how="left")


def check(df: pd.DataFrame) -> Verdict:
    """Regime, then three parts combined by experiments.verdict.combine (module docstring)."""
    d = df[df["epoch"] > 0]
    m = d.groupby(["setting", "epoch"])["csr"].mean().unstack("setting")
    missing = {"real", "randX", "randY"} - set(m.columns)
    if missing:
        return inconclusive(f"missing settings: {', '.join(sorted(missing))}")
    m = m.dropna()
    if len(m) < 3:
        return inconclusive(f"only {len(m)} CSR measurements after epoch 0; needs 3+")
    if (m.to_numpy() == 0).all():
        return inconclusive("no probe was critical in any run: the radius is too small")
    last = d[d["epoch"] == m.index.max()].groupby("setting")[["train_acc", "val_acc"]].mean()
    stop = unmet(_regime(last, chance_of(df)), final=_acc(last))
    if stop:
        return stop
    late = d[d["epoch"] >= _third(m.index, -1)]
    early = d[d["epoch"] <= _third(m.index, 0)]
    numbers: dict = {"epochs": [float(e) for e in m.index], "final": _acc(last)}
    parts: dict[str, Verdict] = {}
    for s in ("randX", "randY"):
        early_c, late_c = trends.early_late_change(m[s])
        numbers[s] = {
            "final": rnd(float(m[s].iloc[-1])),
            "early_change": rnd(early_c),
            "late_change": rnd(late_c),
        }
        parts[f"{s} above real"] = _greater(
            late[late["setting"] == s]["csr"],
            late[late["setting"] == "real"]["csr"],
            f"late CSR {s}",
            "real",
        )
    parts["rises during training"] = combine(
        {
            s: _greater(
                late[late["setting"] == s]["csr"],
                early[early["setting"] == s]["csr"],
                f"{s} late CSR",
                "early",
            )
            for s in ("randX", "randY")
        }
    )
    numbers["real"] = {"final": rnd(float(m["real"].iloc[-1]))}
    return combine(parts, numbers)


def _regime(last: pd.DataFrame, chance: float) -> list[tuple[bool, str]]:
    """Real data has learned; the 100%-noise nets have fitted most of their labels."""
    out = [
        (
            last.loc["real", "val_acc"] >= chance + MIN_LEARNED,
            f"real data reached only {last.loc['real', 'val_acc']:.0%} validation accuracy "
            f"(regime: >= {chance + MIN_LEARNED:.0%})",
        )
    ]
    for s in last.index:
        if s != "real":
            a = last.loc[s, "train_acc"]
            out.append(
                (
                    a >= MIN_FIT,
                    f"{s} fitted only {a:.0%} of its training labels by the "
                    f"last CSR measurement (regime: >= {MIN_FIT:.0%})",
                )
            )
    return out


def _acc(last: pd.DataFrame) -> dict:
    return {s: {c: rnd(float(v)) for c, v in row.items()} for s, row in last.iterrows()}


def _third(epochs: pd.Index, which: int) -> float:
    """The epoch that ends the first third (which=0) or starts the last third (which=-1)."""
    third = max(1, len(epochs) // 3)
    return float(epochs[third - 1] if which == 0 else epochs[-third])


def _greater(a: pd.Series, b: pd.Series, name_a: str, name_b: str) -> Verdict:
    """mean(a) > mean(b), Welch standard error over the members x measurements (spread)."""
    if a.isna().all() or b.isna().all() or len(a) < 2 or len(b) < 2:
        return inconclusive(f"too few measurements to compare {name_a} with {name_b}")
    diff, se = spread.difference(a.dropna(), b.dropna())
    v = spread.ordering(diff, se, spread.z_for(min(len(a), len(b)) - 1))
    text = (
        f"{name_a} {a.mean():.3f} vs {name_b} {b.mean():.3f} (difference {diff:+.3f} +- "
        f"{se:.3f} s.e.)"
    )
    return Verdict(v, text, {"difference": rnd(diff), "se": rnd(se)})


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
    regime=(
        "The nets have learned and memorized: real data's validation accuracy is at least "
        f"{LEARNED_VAL:.0%} (3x chance with 10 classes) and the 100%-noise nets have fitted at "
        f"least {MIN_FIT:.0%} of their training labels by the last CSR measurement."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    settings=settings,
)
