"""Regularization vs memorization (PAPER.md 7; poster Figs 5.1-5.2, ICML Figs 10-11).

One model per regularizer value, trained on real data and on 100% randY. Each regularizer's
values are the members of ONE batched run (`train.member_strengths`), so the sweep is two runs
per regularizer. x = final randY training accuracy (memorization of noise), y = best real-data
validation accuracy (generalization), one curve per regularizer; plus training curves.

Check: a value "caps memorization" when its randY training accuracy is at most halfway between
the unregularized run's and chance (1 / classes). Per regularizer, "val at cap" = the best real
validation accuracy among its capping values (none if no value caps). The claim holds when the
dropout family (dropout, adversarial) reaches the cap with a higher val at cap than weight decay
and input noise each. Inconclusive if the unregularized randY run did not memorize (its training
accuracy is not above chance + MIN_FIT), so capping cannot be measured.
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
from memcore.metrics.regularization import memorization_cap, tradeoff, val_at_cap
from memcore.spec import RunSpec

MIN_FIT = 0.2
VALUES = {
    "dropout": (0.0, 0.2, 0.4, 0.6, 0.8, 0.9),
    "input_dropout": (0.0, 0.2, 0.4, 0.6, 0.8, 0.9),
    "input_noise": (0.0, 0.25, 0.5, 1.0, 2.0, 5.0),
    "hidden_noise": (0.0, 0.05, 0.1, 0.2, 0.3),
    "weight_decay": (0.0, 1e-4, 1e-3, 1e-2, 0.1, 1.0),
    "adversarial": (0.03, 0.1, 0.2, 0.35, 0.5),  # dropout rate; adversarial weight ADV_WEIGHT
}
ADV_WEIGHT = 0.5
GRID = {
    "test": {
        "regs": ("dropout", "weight_decay"),
        "n_values": 3,
        "extra": {"data.train_size": 128, "train.epochs": 4, "model.width": 32},
    },
    "quick": {
        "regs": tuple(VALUES),
        "n_values": 6,
        "extra": {
            "data.train_size": 500,
            "train.epochs": 60,
            "model.width": 256,
            "metrics.csr_iters": 10,
        },
    },
    "paper": {
        "regs": tuple(VALUES),
        "n_values": 6,
        "extra": {"train.epochs": 300, "model.width": 4096},
    },
}
COLUMNS = ("regularizer", "strength", "data", "member", "epoch", "train_acc", "val_acc")


def _values(reg: str, n: int) -> tuple[float, ...]:
    v = VALUES[reg]
    idx = np.unique(np.linspace(0, len(v) - 1, min(n, len(v))).round().astype(int))
    return tuple(v[i] for i in idx)


def specs(dataset: str, scale: str) -> list[RunSpec]:
    g = GRID[scale]
    out = []
    for reg in g["regs"]:
        vals = _values(reg, g["n_values"])
        ch = {
            **g["extra"],
            "train.regularizer": reg,
            "train.members": len(vals),
            "train.member_strengths": vals,
        }
        if reg == "adversarial":
            ch["train.adv_weight"] = ADV_WEIGHT
        for kind in ("real", "randY"):
            out.append(base_spec(dataset, **ch, **noise_changes(kind, 1.0)))
    return out


def settings(dataset: str, scale: str) -> str:
    g = GRID[scale]
    vals = "; ".join(f"{r} {list(_values(r, g['n_values']))}" for r in g["regs"])
    s = specs(dataset, scale)[0]
    adv = (
        f"; adversarial training weight {ADV_WEIGHT} on LASS samples (<= "
        f"{s.metrics.csr_iters} iterations, radius {s.metrics.csr_radius:g}/255)"
    )
    adv = adv if "adversarial" in g["regs"] else ""
    return f"{describe(s)} (one member per value); values: {vals}{adv}"


def frame(runs: list[RunData]) -> pd.DataFrame:
    """Training curves: one row per (regularizer, strength, data, member, epoch)."""
    return concat_runs(runs, _curves, COLUMNS)


def _curves(r: RunData) -> pd.DataFrame | None:
    ep = r.frame("epoch")
    if ep.empty:
        return None
    strengths = np.asarray(r.spec.train.strengths, dtype=float)
    return pd.DataFrame(
        {
            "regularizer": r.spec.train.regularizer,
            "strength": strengths[ep["member"].to_numpy(int)],
            "data": setting(r.spec),
            "member": ep["member"].astype(int),
            "epoch": ep["epoch"].astype(float),
            "train_acc": ep["train_acc"].astype(float),
            "val_acc": ep["val_acc"].astype(float),
        }
    )


def check(df: pd.DataFrame, n_classes: int = 10) -> Verdict:
    t = tradeoff(df)
    if t.empty:
        return inconclusive("needs both the real and the randY run of a regularizer")
    base = t[t["strength"] == 0.0]
    if base.empty:
        return inconclusive("no unregularized value (strength 0) to compare against")
    chance = 1.0 / n_classes
    fit0 = float(base["randY_train_acc"].max())
    val0 = float(base["real_best_val_acc"].max())
    numbers: dict = {
        "unregularized": {"randY_train_acc": rnd(fit0), "real_best_val_acc": rnd(val0)}
    }
    if fit0 < chance + MIN_FIT:
        return inconclusive(
            f"the unregularized net fit only {fit0:.0%} of random labels: no memorization to cap",
            **numbers,
        )
    cap = memorization_cap(fit0, n_classes)
    numbers["cap"] = rnd(cap)
    at_cap = val_at_cap(t, cap)
    numbers["val_at_cap"] = {r: rnd(v) for r, v in at_cap.items()}
    drop = [r for r in ("dropout", "adversarial") if r in at_cap]
    other = [r for r in ("weight_decay", "input_noise") if r in at_cap]
    if not drop or not other:
        return inconclusive(
            "needs dropout (or adversarial) and weight decay (or input noise)", **numbers
        )
    best_drop = max((at_cap[r] for r in drop if at_cap[r] is not None), default=None)
    text = ", ".join(f"{r} {'-' if v is None else f'{v:.3f}'}" for r, v in at_cap.items())
    text = (
        f"best real val acc once randY train acc <= {cap:.2f} (unregularized "
        f"{fit0:.2f}, val {val0:.3f}): {text}"
    )
    if best_drop is None:
        return Verdict("fails", text + "; dropout did not cap memorization", numbers)
    beats = all(at_cap[r] is None or best_drop > at_cap[r] for r in other)
    numbers["dropout_val_loss"] = rnd(val0 - best_drop)
    if beats:
        return Verdict("holds", text, numbers)
    return Verdict("fails", text + "; weight decay or input noise did as well", numbers)


RECIPE = Recipe(
    name="regularization",
    title="Regularization vs memorization",
    figure="poster Figs 5.1-5.2, ICML Figs 10-11",
    claim=(
        "Dropout (best combined with adversarial training) caps the memorization of random "
        "labels with little loss of validation accuracy on real data; weight decay and input "
        "noise cost more validation accuracy for the same cap."
    ),
    how_to_read=(
        "Each point is one regularizer value; x = final training accuracy on 100% random labels "
        "(how much noise the net memorized), y = best validation accuracy of the same setting "
        "trained on real data. A curve that stays high while moving left caps memorization "
        "without hurting generalization. Below: training accuracy over epochs per value, on "
        "random labels and on real data."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    settings=settings,
)
