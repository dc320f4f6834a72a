"""Critical sample ratio over training (PAPER.md 6; poster Fig 4.1, ICML Fig 7).

A probe x is critical if LASS finds x^ with |x - x^|_inf <= r and a different predicted class;
CSR = fraction of probe points (validation data) that are critical (metrics.critical). The radius
is the dataset's default (PAPER.md calibration: a few percent of real-data probes critical on
small offline data; the paper's 0.3/255 on MNIST/CIFAR), stated next to the figure.

CSR is measured from initialization (epoch 0: the same untrained function for every setting, as
every setting's members have the same seeds) on the early-dense schedule (metrics.csr_schedule
"early": epochs 0, 1, 2, 4, 8, 16, then every csr_every epochs; memcore.spec.schedule).

Regime (this figure and noise-levels; figures.verdict.learned / fitted): real data has learned
(validation accuracy at the last CSR measurement) and every noisy net has fitted at least MIN_FIT
of its training labels. Below it the check is inconclusive, naming each run short of it.

"critical" (poster Fig 4.1): real, randX 100%, randY 100%. The poster's claims are the parts,
combined by figures.verdict.combine: "randX ends above real", "randY ends above real" (CSR over
the last third of the measurements), "randX rises" and "randY rises" (that late CSR above the same
setting's CSR at epoch 0). Each compares per-member means (one value per member: the members are
the independent samples) by a Welch difference with the t quantile (metrics.spread); an open part
says how many members would decide it at the observed spread (figures.verdict.with_plan).
Observations, never the verdict: when each setting covered MOST of its final change from epoch 0
(metrics.trends.rise_epoch; the poster: randX "very rapidly", randY "eventually"), whether the
curves plateau (late change next to early change), and how close randY ends to randX ("to almost
the same level").

"noise-levels" (figures.noise_levels) shares the grid and the regime.
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
from memcore.figures.verdict import (
    Observation,
    chance,
    combine,
    fitted,
    learned,
    learned_at,
    observe,
    unmet,
    with_plan,
)
from memcore.metrics import spread, trends
from memcore.spec import RunSpec
from memcore.spec.words import describe_training, setting

MIN_FIT = 0.9  # regime: every noisy net has fitted this much of its training labels
MOST = 0.8  # observation: the epoch a setting covered this share of its final change in CSR
GRID = {
    "test": {
        "extra": {
            "data.train_size": 200,
            "train.epochs": 3,
            "metrics.csr_every": 1,
            "metrics.csr_schedule": "early",
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
    # final CSR per level, measures every 40 epochs ("level_extra").
    # Members, from a power calculation (metrics.spread.members_needed, 80% power, 5% level) on
    # the measured key difference, decided before the verdicts: randX's rise from epoch 0 on
    # digits was +0.07 (0.162 -> 0.23, issue 21), and one member's CSR spreads by about 0.03
    # (0.177 vs 0.147 at epoch 0 on digits; binomial s.e. 0.022 at 300 probes): members_needed(
    # 0.07, 0.03) = 5, and 6 for a smaller +0.06 -> 6 members per setting (t(5) = 2.57 s.e.
    # instead of t(1) = 12.7 with the former 2).
    "quick": {
        "extra": {
            "data.train_size": 500,
            "train.batch_size": 32,
            "train.epochs": 200,
            "metrics.csr_every": 20,
            "metrics.csr_schedule": "early",
            "metrics.csr_probes": 300,
            "train.members": 6,
        },
        "level_extra": {"metrics.csr_every": 40},
        "levels": (0.0, 0.2, 0.4, 0.6, 0.8),
    },
    "paper": {
        "extra": {"train.epochs": 100, "metrics.csr_every": 5, "metrics.csr_schedule": "early"},
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
    "classes",
)


def specs(dataset: str, scale: str) -> list[RunSpec]:
    ex = GRID[scale]["extra"]
    return [base_spec(dataset, **ex, **noise_changes(k, 1.0)) for k in ("real", "randX", "randY")]


def csr_text(s: RunSpec) -> str:
    m = s.metrics
    return (
        f"CSR at epochs {_epochs_text(s.csr_epochs)} on up to {m.csr_probes} {m.csr_set} "
        f"probes, radius {m.csr_radius:g}/255, alpha {m.csr_alpha:g}/255, beta {m.csr_beta:g}/255, "
        f"<= {m.csr_iters} LASS iterations (x/255 = that share of the data's value range)"
    )


def _epochs_text(e: tuple[int, ...]) -> str:
    return ", ".join(map(str, e)) if len(e) <= 8 else ", ".join(map(str, e[:7])) + f", ... {e[-1]}"


def setup(dataset: str, scale: str) -> str:
    s = specs(dataset, scale)[0]
    return f"{describe_training(s)}; {csr_text(s)}; randX and randY at 100%"


def frame(runs: list[RunData]) -> pd.DataFrame:
    """One row per (setting, CSR measurement, member)."""
    return concat_runs(runs, _csr_part, COLUMNS)


def _csr_part(r: RunData) -> pd.DataFrame:
    c = r.frame("csr").assign(
        setting=setting(r.spec), level=float(r.spec.noise.level), classes=classes(r.spec)
    )
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
    """Regime, then the poster's four parts, then observations (module docstring)."""
    m = df.groupby(["setting", "epoch"])["csr"].mean().unstack("setting")
    missing = {"real", "randX", "randY"} - set(m.columns)
    if missing:
        return inconclusive(f"missing runs: {', '.join(sorted(missing))}")
    m = m.dropna()
    if 0 not in m.index:
        return inconclusive("no CSR at epoch 0: rising is measured from initialization")
    after = m.index[m.index > 0]
    if len(after) < 3:
        return inconclusive(f"only {len(after)} CSR measurements after epoch 0; needs 3+")
    if (m.to_numpy() == 0).all():
        return inconclusive("no probe was critical in any run: the radius is too small")
    d = df[df["epoch"] > 0]
    last = d[d["epoch"] == after.max()].groupby("setting")[["train_acc", "val_acc"]].mean()
    stop = unmet(_regime(last, chance(df)), final=_acc(last))
    if stop:
        return stop
    late = _per_member(d[d["epoch"] >= _third(after, -1)])
    init = _per_member(df[df["epoch"] == 0])
    members = int(late.notna().sum().min())
    numbers: dict = {"epochs": [float(e) for e in m.index], "final": _acc(last), "members": members}
    for s in ("real", "randX", "randY"):
        numbers[s] = {"initial": rnd(float(m[s].iloc[0])), "final": rnd(float(m[s].iloc[-1]))}
    parts: dict[str, Verdict] = {}
    for s in ("randX", "randY"):
        parts[f"{s} ends above real"] = _greater(late[s], late["real"], f"late CSR {s}", "real")
    for s in ("randX", "randY"):
        parts[f"{s} rises"] = _greater(late[s], init[s], f"{s} late CSR", "epoch 0")
    return observe(combine(parts, numbers), _observed(m))


def _per_member(d: pd.DataFrame) -> pd.DataFrame:
    """Mean CSR per member (rows) and setting (columns): one independent value per member."""
    return d.groupby(["member", "setting"])["csr"].mean().unstack("setting")


def _observed(m: pd.DataFrame) -> dict[str, Observation]:
    """When each setting rose, whether it plateaus, where randY ends next to randX."""
    when = {s: trends.rise_epoch(m[s], MOST) for s in ("real", "randX", "randY")}
    change = {s: trends.early_late_change(m[s][m.index > 0]) for s in ("randX", "randY")}
    x, y = float(m["randX"].iloc[-1]), float(m["randY"].iloc[-1])
    return {
        "when each setting rose": Observation(
            ", ".join(
                f"{s} covered {MOST:.0%} of its change from epoch 0 ({m[s].iloc[0]:.3f} -> "
                f"{m[s].iloc[-1]:.3f}) by epoch {when[s]:g}"
                for s in ("randX", "randY", "real")
            ),
            {"rise_epoch": {s: rnd(v) for s, v in when.items()}},
        ),
        "plateau": Observation(
            "; ".join(
                f"{s}: change over the first third of the measurements after epoch 0 "
                f"{e:+.3f}, over the last third {lt:+.3f}"
                for s, (e, lt) in change.items()
            ),
            {s: {"early_change": rnd(e), "late_change": rnd(lt)} for s, (e, lt) in change.items()},
        ),
        "randY next to randX": Observation(
            f"final CSR randY {y:.3f}, randX {x:.3f} (the poster: randY rises 'to almost the "
            "same level')",
            {"randY_minus_randX": rnd(y - x)},
        ),
    }


def _regime(last: pd.DataFrame, chance_: float) -> list[tuple[bool, str]]:
    """Real data has learned; the 100%-noise nets have fitted most of their labels."""
    out = [learned(last.loc["real", "val_acc"], chance_, "real data's validation accuracy")]
    for s in last.index:
        if s != "real":
            out.append(fitted(last.loc[s, "train_acc"], s, MIN_FIT))
    return out


def _acc(last: pd.DataFrame) -> dict:
    return {s: {c: rnd(float(v)) for c, v in row.items()} for s, row in last.iterrows()}


def _third(epochs: pd.Index, which: int) -> float:
    """The epoch that ends the first third (which=0) or starts the last third (which=-1)."""
    third = max(1, len(epochs) // 3)
    return float(epochs[third - 1] if which == 0 else epochs[-third])


def _greater(a: pd.Series, b: pd.Series, name_a: str, name_b: str) -> Verdict:
    """mean(a) > mean(b) over members (one value each), Welch standard error, t quantile; an
    open result says how many members would decide it (verdict.with_plan)."""
    a, b = a.dropna(), b.dropna()
    if len(a) < 2 or len(b) < 2:
        return inconclusive(f"too few members to compare {name_a} with {name_b} (needs 2+)")
    diff, se = spread.difference(a, b)
    n = min(len(a), len(b))
    v = spread.ordering(diff, se, spread.z_for(n - 1))
    text = (
        f"{name_a} {a.mean():.3f} vs {name_b} {b.mean():.3f} (difference {diff:+.3f} +- "
        f"{se:.3f} s.e. over {n} members)"
    )
    return with_plan(Verdict(v, text, {"difference": rnd(diff), "se": rnd(se)}), diff, se, n, n)


FIGURE = Figure(
    name="critical",
    title="Critical sample ratio over training",
    paper_figure="poster Fig 4.1, ICML Fig 7",
    claim=(
        "As measured by the critical sample ratio, function complexity increases very rapidly "
        "for random inputs (randX), and increases eventually, to almost the same level, for "
        "random labels (randY), ending above real data: CSR rises from initialization for "
        "randX and randY and ends higher than for real data."
    ),
    how_to_read=(
        "y = fraction of validation probes that have a differently classified point within an "
        "L-inf ball of radius r (found by LASS), x = epoch; blue real, green randX, red randY. "
        "Higher means more decision boundaries close to the data. The number of LASS iterations "
        "run is in the tooltip."
    ),
    regime=(
        "The nets have learned and memorized: real data's validation accuracy is at least "
        f"{learned_at(0.1):.0%} with 10 classes (figures.verdict.learned) and the "
        f"100%-noise nets have fitted at least {MIN_FIT:.0%} of their training labels by the "
        "last CSR measurement."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    setup=setup,
    grids=GRID,
    fixed={"levels": "this figure compares 100% noise with real data (noise-levels sweeps levels)"},
)
