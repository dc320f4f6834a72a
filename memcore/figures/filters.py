"""First-layer filters, real vs random labels (PAPER.md 8; ICML Fig 2).

On image data the paper's CNN is trained on real data and on 100% randY, and its first-layer
5x5 filters are compared; on mnist1d (no images) the MLP's first-layer weight vectors (length 40)
are the filters. The store keeps no final weights (only per-epoch checkpoints while a run is
live), so `first_layer(spec)` replays the run in-process (training is deterministic on CPU) and
caches the filters as .npz under cache/figures/filters (env MEMCORE_FIGURES for another folder).

Structure = mean correlation between neighbouring weights of a filter (horizontal and vertical
neighbours for 2D filters, adjacent entries for 1D), after removing each filter's mean: about
-1/(n-1) (near 0) for i.i.d. noise and at initialisation, large for smooth, structured filters.
Claim: real-data filters look structured, randY filters noisy.
Check: d = structure(real) - structure(randY) over all members' filters, with standard error se:
holds when d > 2 se; fails when d + 2 se < MIN_EFFECT (real filters are confidently not more
structured by a meaningful margin); inconclusive otherwise (too noisy to tell).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from memcore.figures.base import (
    Recipe,
    RunData,
    Verdict,
    base_spec,
    describe,
    inconclusive,
    noise_changes,
    rnd,
    setting,
)
from memcore.spec import RunSpec, preset

GRID = {
    "test": {
        "extra": {
            "data.train_size": 128,
            "train.epochs": 2,
            "model.width_mult": 0.04,
            "model.width": 16,
        }
    },
    "quick": {"extra": {"train.epochs": 20, "model.width_mult": 0.08, "model.width": 64}},
    "paper": {"extra": {"train.epochs": 100}},
}
MIN_EFFECT = 0.05  # smallest structure difference that counts as "more structured"
N_SHOW = 16  # filters per member kept for the figure
COLUMNS = ("setting", "member", "filter", "row", "col", "weight")


def _arch(dataset: str) -> str:
    return "mlp" if dataset == "mnist1d" else "cnn"


def specs(dataset: str, scale: str) -> list[RunSpec]:
    ex = {**GRID[scale]["extra"], "metrics.csr_every": 0, "metrics.track_size": 0}
    if _arch(dataset) == "mlp":
        base = {**ex, "model.width_mult": 1.0}
        return [base_spec(dataset, **base, **noise_changes(k, 1.0)) for k in ("real", "randY")]
    ex.pop("model.width", None)
    return [
        preset("cifar-cnn", **ex, **{"data.dataset": dataset}, **noise_changes(k, 1.0))
        for k in ("real", "randY")
    ]


def settings(dataset: str, scale: str) -> str:
    s = specs(dataset, scale)[0]
    what = "first-layer MLP weights (40-long)" if s.model.arch == "mlp" else "first conv layer"
    return f"{describe(s)}; {what}; real vs 100% randY"


def figures_root() -> Path:
    root = os.environ.get("MEMCORE_FIGURES")
    return Path(root) if root else Path(__file__).resolve().parents[2] / "cache" / "figures"


def filters_of(model, input_shape: tuple[int, ...]) -> np.ndarray:
    """First-layer filters: K x F x H x W (CNN: 5x5 per output channel, input channels averaged;
    MLP: one row per hidden unit, reshaped to the input's (C,) H, W or 1 x L)."""
    if hasattr(model, "conv_w"):
        w = model.conv_w[0].detach().cpu().numpy()  # K x out x in x 5 x 5
        return w.mean(axis=2)
    w = model.weights[0].detach().cpu().numpy()  # K x in x out
    w = np.swapaxes(w, 1, 2)  # K x out x in
    shape = input_shape[-2:] if len(input_shape) == 3 else (1, input_shape[-1])
    return w.reshape(w.shape[0], w.shape[1], *shape)


def first_layer(spec: RunSpec, cache: bool = True) -> dict[str, np.ndarray]:
    """{"final": K x F x H x W, "init": the same at initialisation} for `spec`, replayed
    in-process (cached by spec key)."""
    from memcore import engine

    path = figures_root() / "filters" / f"{spec.key}.npz"
    if cache and path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    trainer = engine.Trainer(spec.replace(**{"train.device": "cpu"}))
    shape = tuple(trainer.data.input_shape)
    init = filters_of(trainer.model, shape)
    for _ in trainer.records():
        pass
    out = {"final": filters_of(trainer.model, shape), "init": init}
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **out)
        os.replace(tmp, path)
    return out


def augment(run: RunData) -> RunData:
    """The run with arrays "filters" and "filters_init" (K x F x H x W) from `first_layer`."""
    if "filters" in run.arrays:
        return run
    f = first_layer(run.spec)
    arrays = {**run.arrays, "filters": f["final"], "filters_init": f["init"]}
    return RunData(run.spec, run.records, arrays, run.status)


def structure(f: np.ndarray) -> np.ndarray:
    """Neighbour correlation of each filter (... x H x W -> ...), mean removed per filter."""
    f = f - f.mean(axis=(-2, -1), keepdims=True)
    den = (f**2).sum(axis=(-2, -1))
    num = (f[..., :, 1:] * f[..., :, :-1]).sum(axis=(-2, -1))
    n_pairs = f.shape[-2] * (f.shape[-1] - 1)
    if f.shape[-2] > 1:
        num = num + (f[..., 1:, :] * f[..., :-1, :]).sum(axis=(-2, -1))
        n_pairs += (f.shape[-2] - 1) * f.shape[-1]
    n = f.shape[-2] * f.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (num / n_pairs) / (den / n)


def frame(runs: list[RunData]) -> pd.DataFrame:
    """One row per filter weight: (setting, member, filter, row, col, weight), plus per-filter
    "structure" and "init_structure" columns."""
    parts = []
    for r in runs:
        f = r.arrays.get("filters")
        if f is None:
            continue
        f = np.asarray(f)
        init = r.arrays.get("filters_init")
        s = structure(f)
        s0 = structure(np.asarray(init)) if init is not None else np.full(s.shape, np.nan)
        k, nf, h, w = f.shape
        kk, ff, ii, jj = np.meshgrid(
            np.arange(k), np.arange(nf), np.arange(h), np.arange(w), indexing="ij"
        )
        parts.append(
            pd.DataFrame(
                {
                    "setting": setting(r.spec),
                    "member": kk.ravel(),
                    "filter": ff.ravel(),
                    "row": ii.ravel(),
                    "col": jj.ravel(),
                    "weight": f.ravel(),
                    "structure": np.repeat(s.ravel(), h * w),
                    "init_structure": np.repeat(s0.ravel(), h * w),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=[*COLUMNS, "structure", "init_structure"])
    return pd.concat(parts, ignore_index=True)


def check(df: pd.DataFrame) -> Verdict:
    per = df.groupby(["setting", "member", "filter"])[["structure", "init_structure"]].first()
    have = set(per.index.get_level_values(0))
    if not {"real", "randY"} <= have:
        return inconclusive(f"needs real and randY runs (have {', '.join(sorted(have))})")
    real = per.loc["real", "structure"].to_numpy(float)
    rand = per.loc["randY", "structure"].to_numpy(float)
    real, rand = real[np.isfinite(real)], rand[np.isfinite(rand)]
    if len(real) < 2 or len(rand) < 2:
        return inconclusive("too few filters")
    diff = real.mean() - rand.mean()
    se = float(np.sqrt(real.var(ddof=1) / len(real) + rand.var(ddof=1) / len(rand)))
    init = per["init_structure"].to_numpy(float)
    numbers = {
        "structure_real": rnd(float(real.mean())),
        "structure_randY": rnd(float(rand.mean())),
        "structure_init": rnd(float(np.nanmean(init))) if np.isfinite(init).any() else None,
        "difference": rnd(float(diff)),
        "standard_error": rnd(se),
        "filters": [len(real), len(rand)],
    }
    text = (
        f"neighbour correlation of filter weights: real {real.mean():.3f}, randY "
        f"{rand.mean():.3f} (difference {diff:+.3f} +- {se:.3f})"
    )
    if diff > 2 * se:
        return Verdict("holds", text, numbers)
    if diff + 2 * se < MIN_EFFECT:
        return Verdict("fails", text + f"; real is not more structured by {MIN_EFFECT}", numbers)
    return Verdict("inconclusive", text + "; too noisy to tell", numbers)


RECIPE = Recipe(
    name="filters",
    title="First-layer filters",
    figure="ICML Fig 2",
    claim="First-layer filters learned on real data look structured; on random labels they "
    "look like noise.",
    how_to_read=(
        "Each small square is one first-layer filter (CNN: a 5x5 convolution kernel, averaged "
        "over input channels; mnist1d: one hidden unit's 40 input weights as a strip); blue = "
        "negative, red = positive weight. Smooth blobs and strokes are structure; salt-and-pepper "
        "is noise. The number under the title is the mean correlation between neighbouring "
        "weights (0 for pure noise, as at initialisation)."
    ),
    specs=specs,
    frame=frame,
    check=check,
    columns=COLUMNS,
    settings=settings,
    augment=augment,
)
