"""Per-example training dynamics over an ensemble: easiness, binomial references, forgetting
events and data maps (PAPER.md item 3; ICML Fig 1, poster Fig 3.1; Toneva et al. 2019;
Swayamdipta et al. 2020). Pure numpy/pandas over the engine's stored arrays.

Inputs are the engine's "arrays" rows stacked by the store (jobs.api.arrays): correct bool[R, K, T]
and prob float[R, K, T] (R evaluation rows with their "epoch", K members, T tracked examples),
plus the meta record's tracked_noisy bool[T] and tracked_labels int[T].

- Easiness after epoch e: p_t = fraction of the K members (different init and data order, same
  data) that classify tracked example t correctly, against its TRAINING label, at that row.
  Sorted curve: p in descending order (easiest first), frac = (rank + 0.5) / T.
- Global reference: if every example had the same success probability m = mean p, the K members'
  votes would be Binomial(K, m), so p ~ Binomial(K, m) / K.
- Within-class reference (PAPER.md calibration notes): members share class-level biases, so
  the fair null is one Binomial(K, m_c) / K per class c (m_c = mean p over class c), mixed by the
  class sizes.
- Dispersion D = variance of p across examples / the binomial variance m(1-m)/K: 1 = no more
  spread than chance. Within-class D pools the per-class variances against the per-class
  binomial variances (the within-class reference's D).
- Forgetting events (Toneva 2019): per member and example, the number of transitions
  correct -> incorrect between consecutive rows; "unforgettable" = correct at some row and never
  forgotten. Pass whole-epoch rows after training started (`epoch_rows`), as Toneva counts over
  training.
- Data map (Swayamdipta 2020): per example, confidence = mean over rows of the prob of the
  training label, variability = its (population) std over rows, correctness = fraction of rows
  correct; per member, or averaged over members (default).
Every frame carries noisy (bool) and group ("clean" / "noisy").
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def _group(noisy: np.ndarray) -> np.ndarray:
    return np.where(noisy, "noisy", "clean")


def _noisy(noisy: np.ndarray | None, t: int) -> np.ndarray:
    return np.zeros(t, dtype=bool) if noisy is None else np.asarray(noisy, dtype=bool)


def row_at(epochs: np.ndarray, epoch: float) -> int:
    """Index of the row whose epoch equals `epoch` (ValueError listing the rows if none)."""
    epochs = np.asarray(epochs, dtype=float)
    hit = np.flatnonzero(np.isclose(epochs, epoch, rtol=0, atol=1e-9))
    if hit.size == 0:
        raise ValueError(f"epoch={epoch} is not an evaluated row; rows: {epochs.tolist()}")
    return int(hit[0])


def epoch_rows(epochs: np.ndarray, start: float = 1.0) -> np.ndarray:
    """Boolean mask of whole-epoch rows at or after `start` (drops epoch 0 and early steps)."""
    epochs = np.asarray(epochs, dtype=float)
    return (epochs >= start) & np.isclose(epochs, np.round(epochs))


def p_correct(correct_KxT: np.ndarray) -> np.ndarray:
    """Fraction of members correct per example, float[T]."""
    return np.asarray(correct_KxT, dtype=float).mean(axis=0)


def easiness(
    correct_KxT: np.ndarray, noisy: np.ndarray | None = None, labels: np.ndarray | None = None
) -> pd.DataFrame:
    """Sorted easiness curve: example, p_correct, rank, frac, noisy, group, label."""
    p = p_correct(correct_KxT)
    t = p.size
    order = np.argsort(-p, kind="stable")
    nz = _noisy(noisy, t)[order]
    df = pd.DataFrame(
        {
            "example": order,
            "p_correct": p[order],
            "rank": np.arange(t),
            "frac": (np.arange(t) + 0.5) / max(t, 1),
            "noisy": nz,
            "group": _group(nz),
        }
    )
    if labels is not None:
        df["label"] = np.asarray(labels)[order]
    return df


def histogram(correct_KxT: np.ndarray, noisy: np.ndarray | None = None) -> pd.DataFrame:
    """Counts of each attainable p = k/K (k = 0..K) per group ("all", "clean", "noisy"):
    columns p, count, fraction (of the group), group."""
    correct = np.asarray(correct_KxT, dtype=bool)
    k_members, t = correct.shape
    votes = correct.sum(axis=0)
    nz = _noisy(noisy, t)
    frames = []
    for name, mask in (("all", np.ones(t, bool)), ("clean", ~nz), ("noisy", nz)):
        if name != "all" and not mask.any():
            continue
        counts = np.bincount(votes[mask], minlength=k_members + 1)
        frames.append(
            pd.DataFrame(
                {
                    "p": np.arange(k_members + 1) / k_members,
                    "count": counts,
                    "fraction": counts / max(mask.sum(), 1),
                    "group": name,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def binomial_pmf(members: int, p: float) -> np.ndarray:
    """P(k successes) for k = 0..members under Binomial(members, p), float[members + 1]."""
    k = np.arange(members + 1)
    if p <= 0 or p >= 1:
        return (k == (0 if p <= 0 else members)).astype(float)
    lg = np.vectorize(math.lgamma)
    logc = lg(members + 1) - lg(k + 1) - lg(members - k + 1)
    return np.exp(logc + k * math.log(p) + (members - k) * math.log1p(-p))


def binomial_reference(members: int, p_mean: float) -> pd.DataFrame:
    """Global null: p ~ Binomial(K, p_mean) / K. Columns p, pmf, reference."""
    return pd.DataFrame(
        {
            "p": np.arange(members + 1) / members,
            "pmf": binomial_pmf(members, p_mean),
            "reference": "binomial",
        }
    )


def class_binomial_reference(
    correct_KxT: np.ndarray, labels: np.ndarray, members: int | None = None
) -> pd.DataFrame:
    """Within-class null: one Binomial(K, m_c) / K per class c, m_c = mean p over class c.
    Columns class, n (examples in the class), p_mean, p, pmf."""
    p = p_correct(correct_KxT)
    k_members = members or np.asarray(correct_KxT).shape[0]
    labels = np.asarray(labels)
    frames = []
    for c in np.unique(labels):
        m = float(p[labels == c].mean())
        frames.append(
            pd.DataFrame(
                {
                    "class": c,
                    "n": int((labels == c).sum()),
                    "p_mean": m,
                    "p": np.arange(k_members + 1) / k_members,
                    "pmf": binomial_pmf(k_members, m),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def mixture(class_ref: pd.DataFrame) -> pd.DataFrame:
    """The class references mixed by class size: columns p, pmf, reference="within-class"."""
    sizes = class_ref.groupby("class")["n"].first()
    weight = class_ref["class"].map(sizes / sizes.sum())
    mixed = (class_ref["pmf"] * weight).groupby(class_ref["p"]).sum()
    return pd.DataFrame(
        {"p": mixed.index.to_numpy(), "pmf": mixed.to_numpy(), "reference": "within-class"}
    )


def sorted_reference(pmf: pd.DataFrame, n: int) -> pd.DataFrame:
    """Expected sorted curve of n draws from a reference pmf (columns p, pmf): the quantile
    function at frac = (rank + 0.5) / n, descending like `easiness`. Columns frac, p."""
    p = pmf["p"].to_numpy()
    order = np.argsort(-p)
    cdf = np.cumsum(pmf["pmf"].to_numpy()[order])  # P(value >= p) going down the sorted p
    frac = (np.arange(n) + 0.5) / n
    idx = np.minimum(np.searchsorted(cdf, frac, side="left"), len(p) - 1)
    return pd.DataFrame({"frac": frac, "p": p[order][idx]})


def dispersion(p: np.ndarray, members: int) -> float:
    """Variance of p across examples over the binomial variance m(1-m)/K (m = mean p, K =
    members); 1 when p ~ Binomial(K, m)/K, nan when m is 0 or 1 (every example always or never
    right)."""
    p_mean = float(np.mean(p))
    ref = p_mean * (1 - p_mean) / members
    return float(np.var(p) / ref) if ref > 0 else float("nan")


def within_class_dispersion(p: np.ndarray, labels: np.ndarray, members: int) -> float:
    """Pooled within-class variance of p over the pooled within-class binomial variance:
    sum_c sum_{t in c} (p_t - m_c)^2 / sum_c n_c m_c(1-m_c)/K. 1 under the within-class
    reference; nan when every class is degenerate (m_c in {0, 1})."""
    p, labels = np.asarray(p, dtype=float), np.asarray(labels)
    num = den = 0.0
    for c in np.unique(labels):
        pc = p[labels == c]
        m = float(pc.mean())
        num += float(np.sum((pc - m) ** 2))
        den += len(pc) * m * (1 - m) / members
    return num / den if den > 0 else float("nan")


def forgetting_events(correct_RxKxT: np.ndarray) -> np.ndarray:
    """Correct -> incorrect transitions between consecutive rows, int[K, T]."""
    c = np.asarray(correct_RxKxT, dtype=bool)
    return (c[:-1] & ~c[1:]).sum(axis=0)


def forgetting(correct_RxKxT: np.ndarray, noisy: np.ndarray | None = None) -> pd.DataFrame:
    """Per (member, example): forgetting (events), ever_correct, unforgettable, noisy, group."""
    c = np.asarray(correct_RxKxT, dtype=bool)
    _, k_members, t = c.shape
    events = forgetting_events(c)
    ever = c.any(axis=0)
    nz = np.broadcast_to(_noisy(noisy, t), (k_members, t))
    return pd.DataFrame(
        {
            "member": np.repeat(np.arange(k_members), t),
            "example": np.tile(np.arange(t), k_members),
            "forgetting": events.ravel(),
            "ever_correct": ever.ravel(),
            "unforgettable": (ever & (events == 0)).ravel(),
            "noisy": nz.ravel(),
            "group": _group(nz.ravel()),
        }
    )


def data_map(
    prob_RxKxT: np.ndarray,
    correct_RxKxT: np.ndarray,
    noisy: np.ndarray | None = None,
    per_member: bool = False,
) -> pd.DataFrame:
    """Data-map coordinates per example (and member when per_member): confidence, variability,
    correctness, noisy, group. Averaged over members unless per_member."""
    prob = np.asarray(prob_RxKxT, dtype=float)
    conf = prob.mean(axis=0)  # K x T
    var = prob.std(axis=0)
    corr = np.asarray(correct_RxKxT, dtype=float).mean(axis=0)
    k_members, t = conf.shape
    nz = _noisy(noisy, t)
    if not per_member:
        return pd.DataFrame(
            {
                "example": np.arange(t),
                "confidence": conf.mean(0),
                "variability": var.mean(0),
                "correctness": corr.mean(0),
                "noisy": nz,
                "group": _group(nz),
            }
        )
    nzk = np.tile(nz, k_members)
    return pd.DataFrame(
        {
            "member": np.repeat(np.arange(k_members), t),
            "example": np.tile(np.arange(t), k_members),
            "confidence": conf.ravel(),
            "variability": var.ravel(),
            "correctness": corr.ravel(),
            "noisy": nzk,
            "group": _group(nzk),
        }
    )
