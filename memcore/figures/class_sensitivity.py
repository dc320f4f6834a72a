"""The per-class loss-sensitivity matrix (PAPER.md 5; poster Fig 3.3, ICML Fig 4).

The runs are the loss-sensitivity figure's with 10 classes (figures.sensitivity): real data
and 100% randX, each with the scale's seeds. Cell (i, j) = mean over class-j inputs of
|dL^(i)/dx|_1, summarised per seed by metrics.class_matrix.

Regime: the real-data net learns its 10 classes during the run (final training accuracy at least
figures.verdict.learned); below it the check is inconclusive, naming the accuracy.

Claim (poster Fig 3.3): "loss-sensitivity is more highly class-correlated for real data", read as
PAPER.md 5 does: real data has more of the matrix's mass off the diagonal (patterns shared across
classes). Check, compared seed by seed (metrics.spread: paired, t quantile): real data's
off-diagonal share of the total minus random data's. Observation, never the verdict: "diagonal
dominates" (per setting, the log of the diagonal / off-diagonal mean ratio against 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memcore.figures.figure import (
    Figure,
    RunData,
    Verdict,
    concat_runs,
    inconclusive,
    rnd,
)
from memcore.figures.sensitivity import (
    COMPARED,
    GRID,
    MIN_SEEDS,
    learned_condition,
    real_train_acc,
    regime_columns,
    run_spec,
    seeds_for,
)
from memcore.figures.verdict import LEARNED_SHARE, Observation, observe, unmet, with_plan
from memcore.metrics import spread
from memcore.metrics.class_matrix import diagonal_summary
from memcore.spec import RunSpec
from memcore.spec.words import describe_training, setting

COLUMNS = (
    "setting", "level", "seed", "loss_class", "input_class", "value", "train_acc", "n_classes",
)  # fmt: skip


def specs(dataset: str, scale: str, grid: dict | None = None) -> list[RunSpec]:
    seeds = range(seeds_for((grid or GRID[scale])["seeds"], "class"))
    return [run_spec(dataset, scale, k, lv, "class", seed) for k, lv in COMPARED for seed in seeds]


def setup(dataset: str, scale: str) -> str:
    return describe_training(specs(dataset, scale)[0]) + "; real vs 100% randX"


def frame(runs: list[RunData]) -> pd.DataFrame:
    """One row per (setting, loss class i, input class j): the final per-class matrix."""
    return concat_runs(runs, _class_matrix, COLUMNS)


def _class_matrix(r: RunData) -> pd.DataFrame | None:
    m = r.arrays.get("class_matrix")
    if m is None or r.spec.noise.labels != "class" or not len(m):
        return None
    m = np.asarray(m[-1], dtype=float)
    i, j = np.meshgrid(np.arange(m.shape[0]), np.arange(m.shape[1]), indexing="ij")
    return pd.DataFrame(
        {
            "setting": setting(r.spec),
            "level": float(r.spec.noise.level),
            "seed": r.spec.train.seed,
            "loss_class": i.ravel(),
            "input_class": j.ravel(),
            "value": m.ravel(),
            **regime_columns(r),
        }
    )


def check(df: pd.DataFrame) -> Verdict:
    """Regime, then two parts (module docstring) combined by figures.verdict.combine."""
    rows = {}
    for s in ("real", "randX"):
        d = df[(df["setting"] == s) & ((df["level"] == 1.0) | (s == "real"))]
        if d.empty:
            return inconclusive(f"missing the {s} run")
        for seed, g in d.groupby("seed"):
            m = diagonal_summary(g)
            if not np.isfinite(m["total"]) or m["total"] <= 0 or not m["offdiag_cells"]:
                return inconclusive(f"{s} seed {seed}: empty or non-finite class matrix")
            rows[(s, seed)] = m
    stop = unmet([learned_condition(df[df["setting"] == "real"])])
    if stop:
        return stop
    t = pd.DataFrame(rows).T
    numbers: dict = {
        s: {
            "diag_over_offdiag": rnd(float(t.loc[s, "diag_over_offdiag"].mean()), 2),
            "offdiag_share": rnd(float(t.loc[s, "offdiag_share"].mean())),
            "seeds": len(t.loc[s]),
        }
        for s in ("real", "randX")
    }
    numbers["real_train_acc"] = rnd(real_train_acc(df[df["setting"] == "real"]))
    seeds = t.loc["real"].index.intersection(t.loc["randX"].index)
    if len(seeds) < 2:
        return inconclusive(
            f"{len(seeds)} seed(s) with both runs: the per-seed comparison needs {MIN_SEEDS}+",
            **numbers,
        )
    z = spread.z_for(len(seeds) - 1)
    dom = {}
    for s in ("real", "randX"):
        logr = np.log(t.loc[s].loc[seeds, "diag_over_offdiag"].astype(float))
        mean, se = spread.paired(logr, np.zeros(len(logr)))
        text = (
            f"{s}: diagonal / off-diagonal mean x{np.exp(mean):.2f} (log {mean:+.2f} +- {se:.2f})"
        )
        dom[s] = Verdict(
            spread.ordering(mean, se, z), text, {"log_ratio": rnd(mean), "se": rnd(se)}
        )
    a = t.loc["real"].loc[seeds, "offdiag_share"].astype(float)
    b = t.loc["randX"].loc[seeds, "offdiag_share"].astype(float)
    mean, se = spread.paired(a, b)
    shared = Verdict(
        spread.ordering(mean, se, z),
        f"off-diagonal share real {a.mean():.3f} vs randX {b.mean():.3f} (paired difference "
        f"{mean:+.3f} +- {se:.3f} s.e. over {len(seeds)} seeds)",
        {"difference": rnd(mean), "se": rnd(se)},
    )
    seen = {
        "diagonal dominates": Observation(
            "; ".join(f"{s} {v.verdict}: {v.summary}" for s, v in dom.items()),
            {s: v.numbers for s, v in dom.items()},
        )
    }
    n = len(seeds)
    head = with_plan(shared, mean, se, n, n, groups=1)
    return observe(Verdict(head.verdict, head.summary, {**numbers, **head.numbers}), seen)


FIGURE = Figure(
    name="class-sensitivity",
    title="Per-class loss-sensitivity",
    paper_figure="poster Fig 3.3, ICML Fig 4",
    claim=(
        "Loss-sensitivity is more highly class-correlated for real data: the class-by-class "
        "matrix of real data has more of its mass off the diagonal (patterns shared across "
        "classes) than that of random data."
    ),
    how_to_read=(
        "Cell (i, j): how much the loss of class-i examples depends on the inputs of class-j "
        "examples, averaged over training (log colour scale: yellow = larger, dark purple = "
        "smaller). Left real data, right random inputs. A bright diagonal means each class's "
        "loss depends mostly on its own examples; off-diagonal colour means classes share what "
        "is learned."
    ),
    regime=(
        f"The real-data net learns its 10 classes during the run (training accuracy at least "
        f"{LEARNED_SHARE:.0%} of the way from chance to 100%); {MIN_SEEDS} seeds of real and 100% "
        "randX, compared seed by seed."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    setup=setup,
    grids=GRID,
    fixed={"train.members": "the sensitivity task trains one net per seed: set seeds"},
)
