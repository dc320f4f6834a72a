"""What a paper figure is: a grid of run specs, a tidy frame of their results, a claim check.

A `Figure` names one experiment of PAPER.md ("The experiments" 1-8). `specs(dataset, scale)`
gives its grid of `RunSpec`s; `frame(runs)` turns the stored results of those specs (`RunData`:
spec + records + stacked arrays) into one tidy DataFrame; `check(df)` returns a `Verdict`:
"holds", "fails" or "inconclusive" (runs missing, too few or too noisy, or the regime the claim is
about not reached), with a one-line summary, the numbers behind it and one sub-verdict per part
of the claim (figures.verdict). Checks read only the DataFrame, so they are tested on
hand-made frames.
Figures compose the paper's definitions from memcore.metrics; they compute none themselves.

Scales: "test" (seconds, for the test suite), "quick" (offline data on a 2-core CPU, minutes),
"paper" (PAPER.md's sizes: MNIST / CIFAR-10 on a GPU).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from memcore import records as rec
from memcore.datasets import REGISTRY, names
from memcore.figures.knobs import GRID_KNOBS
from memcore.figures.verdict import VERDICTS, Verdict, chance, inconclusive, rnd
from memcore.spec import MetricsSpec, RunSpec
from memcore.spec.fields import fail
from memcore.spec.presets import preset
from memcore.spec.words import setting

SCALES = ("test", "quick", "paper")
SOURCES = ("poster", "ICML paper", "workshop paper")  # whose claim a figure's headline reads


@dataclass
class RunData:
    """One stored run as the figures see it: its spec, its records, its stacked arrays
    (name -> array with a leading row axis, plus "epoch"/"step" row indices), and its status.

    A frame's "member" is the model's seed (train.seed + its index in the run): member k of a
    K-member run is the model a 1-member run with seed + k trains (DESIGN "Specs and keys"), so
    a second stage's extra members (`Figure.grid`) pool with the stored ones and pair by seed."""

    spec: RunSpec
    records: list[dict[str, Any]] = field(default_factory=list)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    status: str = "done"

    def frame(self, type_: str) -> pd.DataFrame:
        df = rec.frame(self.records, type_)
        if "member" in df:
            df["member"] = df["member"].astype(int) + self.spec.train.seed
        return df


@dataclass(frozen=True)
class Figure:
    """One paper figure (see the module docstring)."""

    name: str
    title: str
    paper_figure: str  # the paper's figure, e.g. "poster Fig 1, ICML Fig 5"
    claim: str  # the claim as its source states it (the headline verdict reads it)
    how_to_read: str
    specs: Callable[..., list[RunSpec]]  # (dataset, scale[, grid entry with knobs])
    frame: Callable[[list[RunData]], pd.DataFrame]
    check: Callable[[pd.DataFrame], Verdict]
    columns: tuple[str, ...]  # columns `frame` always returns
    # The regime the claim is about (e.g. "the noisy runs have fitted their training labels"):
    # the check's preconditions test it; the page shows it next to the claim.
    regime: str = ""
    # The set-up line shown next to the figure: (dataset, scale) -> text (setup_text adds knobs).
    setup: Callable[[str, str], str] = lambda dataset, scale: ""  # noqa: E731
    only_datasets: tuple[str, ...] = ()  # () = every dataset, imported ones included
    # Adds what the store does not keep to a finished run (e.g. replayed final weights).
    augment: Callable[[RunData], RunData] | None = None
    # Whose claim the headline verdict reads: the poster's unless the poster does not state it
    # (then the ICML paper's or the ICLR 2017 workshop paper's), named on the page and report.
    source: str = "poster"
    # The knobs (figures.knobs): the figure's grid table (scale -> entry), the knobs it
    # refuses (name -> why), and the user's changes applied by `grid` ((name, value) pairs).
    grids: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    fixed: dict[str, str] = field(default_factory=dict, compare=False)
    knobs: tuple[tuple[str, Any], ...] = ()

    def setup_text(self, dataset: str, scale: str) -> str:
        """The figure's set-up line, with what the knobs changed from the figure's defaults."""
        from memcore.figures.knobs import changes

        changed = changes(self, dataset, scale)
        return self.setup(dataset, scale) + (f"; {changed}" if changed else "")

    @property
    def source_text(self) -> str:
        """ "the poster's claim", "the workshop paper's claim", ..."""
        return f"the {self.source}'s claim"

    @property
    def datasets(self) -> tuple[str, ...]:
        """The datasets it runs on now (the registry's, read at each call)."""
        return self.only_datasets or names()

    def grid(self, dataset: str, scale: str) -> list[RunSpec]:
        """The specs, deduplicated by key (figures may name the same spec twice). On an
        imported dataset they are fitted to its size (`fit_to_data`); then the user's knobs
        apply: grid knobs replace the scale's grid entries, spec knobs are set on every spec
        (figures.knobs)."""
        if scale not in SCALES:
            raise ValueError(f"scale={scale!r} is invalid: must be one of {', '.join(SCALES)}")
        if dataset not in self.datasets:
            raise ValueError(
                f"dataset={dataset!r} is invalid for {self.name}: use {', '.join(self.datasets)}"
            )
        on_grid = {k: v for k, v in self.knobs if k in GRID_KNOBS}
        on_spec = {k: v for k, v in self.knobs if k not in GRID_KNOBS}
        if on_grid:
            specs = self.specs(dataset, scale, {**self.grids[scale], **on_grid})  # type: ignore[call-arg]
        else:
            specs = self.specs(dataset, scale)
        seen: dict[str, RunSpec] = {}
        for s in specs:
            s = fit_to_data(s, quick=scale == "quick")
            for part in _with_knobs(s, on_spec):
                seen.setdefault(part.key, part)
        return list(seen.values())

    def evaluate(self, runs: list[RunData]) -> tuple[pd.DataFrame, Verdict]:
        """Frame of the finished runs and the verdict; an empty frame is inconclusive. The
        frame's attrs["n_classes"] is the runs' dataset's class count (for `chance`)."""
        done = [r for r in runs if r.status == "done"]
        if self.augment is not None:
            done = [self.augment(r) for r in done]
        df = self.frame(done) if done else pd.DataFrame(columns=list(self.columns))
        if df.empty:
            return df, inconclusive("no finished runs yet")
        classes = {len(REGISTRY[r.spec.data.dataset].classes) for r in done}
        if len(classes) == 1:
            df.attrs["n_classes"] = classes.pop()
        return df, self.check(df)


def _with_knobs(spec: RunSpec, knobs: dict[str, Any]) -> list[RunSpec]:
    """`spec` with the spec knobs set. More members than the figure's own K come as two runs:
    the figure's K-member run (stored after a first look, so reused) and a run of the extra
    members seeded from seed + K; their frames pool by member seed (RunData)."""
    k, more = spec.train.members, knobs.get("train.members", 0)
    if more <= k:
        return [spec.replace(**knobs)] if knobs else [spec]
    base = spec.replace(**{**knobs, "train.members": k})
    extra = base.replace(**{"train.members": more - k, "train.seed": spec.train.seed + k})
    return [base, extra]


def concat_runs(
    runs: Iterable[RunData],
    part: Callable[[RunData], pd.DataFrame | None],
    columns: Iterable[str],
) -> pd.DataFrame:
    """A figure's frame: each run's part (None or empty: the run is skipped) stacked, in the
    order of `columns`; an empty frame with those columns when no run has a part."""
    cols = list(columns)
    parts = [p for r in runs if (p := part(r)) is not None and not p.empty]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


# -- spec helpers -------------------------------------------------------------------------------
CSR_FIELDS = ("csr_set", "csr_probes", "csr_radius", "csr_alpha", "csr_beta", "csr_iters",
              "csr_min_new")  # fmt: skip


def base_spec(dataset: str, **changes: Any) -> RunSpec:
    """The dataset's preset (lr 0.1 on offline data) with CSR, sharpness and tracking off.

    A run that never searches adversarial samples (no CSR, no adversarial training) gets the
    CSR fields at MetricsSpec's defaults: they do not change its results, so a new CSR
    calibration of the presets must not change its key and throw its cached results away."""
    if dataset not in REGISTRY:  # before the lookup: a name typed on the command line
        fail("dataset", dataset, "must be one of " + ", ".join(names()))
    off = {"metrics.csr_every": 0, "metrics.track_size": 0, "data.dataset": dataset}
    spec = preset(REGISTRY[dataset].preset, **{**off, **changes})
    if spec.metrics.csr_every == 0 and spec.train.regularizer != "adversarial":
        default = MetricsSpec()
        spec = spec.replace(**{f"metrics.{f}": getattr(default, f) for f in CSR_FIELDS})
    return spec


# Quick scale on an imported dataset: at most this many training examples, and each run's SGD
# steps those its figure was calibrated for on digits (the figures' quick grids were measured
# there: PAPER.md calibration notes), whatever the dataset's size.
QUICK_MAX_TRAIN = 2000
CALIBRATED_ON = "digits"


def _steps(n: int, batch: int, epochs: int) -> int:
    return epochs * -(-n // batch)


def fit_to_data(spec: RunSpec, quick: bool = False) -> RunSpec:
    """A figure's spec fitted to an imported dataset's size (built-in datasets: unchanged).

    data.train_size is capped at the training split (and at QUICK_MAX_TRAIN when `quick`, the
    quick scale); when `quick` a run of more than one epoch gets the epochs that give the SGD
    steps it had on CALIBRATED_ON (one-epoch runs, like easiness, stay one epoch: that is their
    meaning).
    """
    info = REGISTRY[spec.data.dataset]
    if not info.imported:
        return spec
    d, t = spec.data, spec.train
    cap = min(info.n_train, QUICK_MAX_TRAIN) if quick else info.n_train
    n = min(d.train_size or info.n_train, cap)
    changes: dict[str, Any] = {"data.train_size": n if n < info.n_train else 0}
    if quick and t.epochs > 1:
        steps = _steps(d.train_size or REGISTRY[CALIBRATED_ON].n_train, t.batch_size, t.epochs)
        changes["train.epochs"] = max(1, round(steps / _steps(n, t.batch_size, 1)))
    return spec.replace(**changes)


def noise_changes(kind: str, level: float) -> dict[str, Any]:
    """Spec changes for a noise setting; level 0 (or kind 'real') is clean data."""
    if kind in ("real", "none") or level == 0:
        return {"noise.kind": "none", "noise.level": 0.0}
    return {"noise.kind": kind, "noise.level": float(level)}


def classes(spec: RunSpec) -> int:
    """The number of classes of the spec's dataset (the registry's)."""
    return len(REGISTRY[spec.data.dataset].classes)


def panels(spec: RunSpec) -> tuple[str, ...]:
    """The noise panels ("randX", "randY") a run's curve is drawn in: real data (level 0) is the
    first curve of both, a noisy run is in its own kind's."""
    kind = setting(spec)
    return ("randX", "randY") if kind == "real" else (kind,)


__all__ = [
    "SCALES", "SOURCES", "VERDICTS", "Figure", "RunData", "Verdict", "base_spec", "chance",
    "classes", "concat_runs", "fit_to_data", "inconclusive", "noise_changes", "panels", "rnd",
]  # fmt: skip
