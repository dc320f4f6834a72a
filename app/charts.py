"""Altair chart builders: tidy pandas DataFrames in, `alt.Chart` out. No Streamlit here.

Palette (the poster's colours, used everywhere so one colour means one thing):
- real data / clean examples: blue   REAL  = #1f77b4
- randX (Gaussian inputs):     green  RANDX = #2ca02c
- randY (random labels):       red    RANDY = #d62728
- validation accuracy:         dark grey, dashed (always clean data)
Noisy training examples take the colour of their noise kind (`noise_color`), so "noisy" is green
in a randX run and red in a randY run, and clean examples are always blue.

Each builder documents the columns it reads. Frames shaped like `records.frame(records, "epoch")`
go to `accuracy_frame` first; per-example frames come from `memcore.metrics.easiness` (or the page).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

REAL = "#1f77b4"
RANDX = "#2ca02c"
RANDY = "#d62728"
VAL = "#444444"
REFERENCE = "#7f7f7f"
KIND_COLORS = {"none": REAL, "real": REAL, "randX": RANDX, "randY": RANDY}

HEIGHT = 330  # whole chart box: Streamlit fits title, axes and legend inside it


def noise_color(kind: str) -> str:
    """Colour of a noise kind ('none'/'real' -> blue, randX -> green, randY -> red)."""
    return KIND_COLORS.get(kind, RANDY)


def _group_scale(noise_kind: str, present=("clean", "noisy")) -> alt.Scale:
    """clean -> blue, noisy -> the noise kind's colour; only groups present get a legend entry."""
    colors = {"clean": REAL, "noisy": noise_color(noise_kind)}
    domain = [g for g in ("clean", "noisy") if g in set(present)] or ["clean"]
    return alt.Scale(domain=domain, range=[colors[g] for g in domain])


def _x_epoch(epochs: int | None) -> alt.X:
    """Epoch axis; fixed to [0, epochs] when known so a live chart does not rescale."""
    scale = alt.Scale(domain=[0, epochs]) if epochs else alt.Undefined
    return alt.X("epoch:Q", title="epoch", scale=scale, axis=alt.Axis(tickMinStep=1, format="~g"))


def _band(df: pd.DataFrame, x: str, value: str, by: list[str]) -> pd.DataFrame:
    """Mean, min, max and std of `value` over members for each (x, *by)."""
    g = df.groupby([x, *by], sort=True)[value]
    out = g.agg(mean="mean", lo="min", hi="max", std="std", members="count").reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


# -- accuracy ---------------------------------------------------------------------------------
ACC_SERIES = {
    "clean_acc": "train (clean)",
    "noisy_acc": "train (noisy)",
    "val_acc": "validation",
}


def accuracy_frame(epochs: pd.DataFrame) -> pd.DataFrame:
    """Epoch records (one row per epoch and member) -> tidy band frame.

    Columns out: epoch, series ('train (clean)' | 'train (noisy)' | 'validation'), mean, lo,
    hi (min and max over members), std, members. Series whose values are all missing (no noisy
    examples) are dropped.
    """
    cols = [c for c in ACC_SERIES if c in epochs.columns]
    if epochs.empty or not cols:
        return pd.DataFrame(columns=["epoch", "series", "mean", "lo", "hi", "std", "members"])
    long = epochs.melt(id_vars=["epoch", "member"], value_vars=cols, var_name="series")
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    long = long.dropna(subset=["value"])
    long["series"] = long["series"].map(ACC_SERIES)
    return _band(long, "epoch", "value", ["series"])


def accuracy_chart(
    frame: pd.DataFrame, noise_kind: str = "none", title: str = "", epochs: int | None = None
) -> alt.Chart:
    """Training accuracy on clean and noisy examples and validation accuracy over epochs.

    `frame` is `accuracy_frame(...)`. Lines are the mean over members, the band spans min to max.
    `epochs` fixes the x axis to [0, epochs].
    """
    colors = {"train (clean)": REAL, "train (noisy)": noise_color(noise_kind), "validation": VAL}
    dashes = {"train (clean)": [1, 0], "train (noisy)": [1, 0], "validation": [6, 3]}
    domain = [s for s in colors if s in set(frame["series"])] or list(colors)
    scale = alt.Scale(domain=domain, range=[colors[s] for s in domain])
    # one merged legend for band + line; stroke symbols so the faint band does not grey it out
    legend = alt.Legend(orient="bottom", symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=3)
    color = alt.Color("series:N", title=None, scale=scale, legend=legend)
    dash = alt.StrokeDash(
        "series:N", scale=alt.Scale(domain=domain, range=[dashes[s] for s in domain]), legend=None
    )
    x = _x_epoch(epochs)
    tip = [
        alt.Tooltip("series:N"),
        alt.Tooltip("epoch:Q", format=".2f"),
        alt.Tooltip("mean:Q", title="accuracy (mean)", format=".3f"),
        alt.Tooltip("lo:Q", title="min over members", format=".3f"),
        alt.Tooltip("hi:Q", title="max over members", format=".3f"),
        alt.Tooltip("members:Q"),
    ]
    base = alt.Chart(frame)
    band = base.mark_area(opacity=0.18).encode(
        x=x,
        y=alt.Y("lo:Q"),
        y2="hi:Q",
        color=color,
        tooltip=tip,
    )
    line = base.mark_line(point=alt.OverlayMarkDef(size=25)).encode(
        x=x,
        y=alt.Y("mean:Q", title="accuracy", scale=alt.Scale(domain=[0, 1])),
        color=color,
        strokeDash=dash,
        tooltip=tip,
    )
    return (band + line).properties(title=title or "Accuracy", height=HEIGHT)


# -- critical sample ratio --------------------------------------------------------------------
def csr_chart(
    csr: pd.DataFrame, noise_kind: str = "none", title: str = "", epochs: int | None = None
) -> alt.Chart:
    """Critical sample ratio over epochs: mean over members, band min-max.

    `csr` holds "csr" records: epoch, member, csr, iters (LASS iterations), radius, set.
    """
    band = _band(csr, "epoch", "csr", [])
    if "iters" in csr.columns:
        band = band.merge(csr.groupby("epoch")["iters"].max().reset_index(), on="epoch")
    else:
        band["iters"] = np.nan
    color = noise_color(noise_kind)
    tip = [
        alt.Tooltip("epoch:Q", format=".2f"),
        alt.Tooltip("mean:Q", title="CSR (mean)", format=".4f"),
        alt.Tooltip("lo:Q", title="min over members", format=".4f"),
        alt.Tooltip("hi:Q", title="max over members", format=".4f"),
        alt.Tooltip("iters:Q", title="LASS iterations (max)"),
    ]
    base = alt.Chart(band)
    x = _x_epoch(epochs)
    area = base.mark_area(opacity=0.18, color=color).encode(x=x, y="lo:Q", y2="hi:Q", tooltip=tip)
    line = base.mark_line(point=True, color=color).encode(
        x=x,
        y=alt.Y("mean:Q", title="critical sample ratio", axis=alt.Axis(format=".3f")),
        tooltip=tip,
    )
    return (area + line).properties(title=title or "Critical sample ratio", height=HEIGHT)


# -- easiness ---------------------------------------------------------------------------------
def easiness_chart(
    easy: pd.DataFrame, reference: pd.DataFrame, noise_kind: str = "none", title: str = ""
) -> alt.HConcatChart:
    """Histogram and sorted curve of per-example P(correct) across members, with references.

    `easy`: one row per tracked example: example, p_correct in [0, 1], group ('clean'|'noisy').
    `reference`: null distributions of p = k/K: columns p_correct (k/K), probability (pmf, sums
    to 1 per reference) and optionally reference (its name, e.g. 'binomial', 'within-class').
    The histogram's bins are centred on k/K; its reference is the pmf times the number of
    examples (expected counts). The sorted curve's reference is the pmf's quantile at each rank.
    """
    n = len(easy)
    ref = reference.copy()
    if "reference" not in ref.columns:
        ref["reference"] = "binomial"
    k = max(int(ref.groupby("reference").size().max()) - 1, 1)
    names = list(dict.fromkeys(ref["reference"]))
    dash = alt.StrokeDash(
        "reference:N",
        title="reference",
        scale=alt.Scale(domain=names, range=[[4, 3], [1, 2], [8, 2]][: len(names)]),
        legend=alt.Legend(orient="bottom"),
    )
    group = alt.Color("group:N", title=None, scale=_group_scale(noise_kind, easy["group"]))
    binning = alt.Bin(step=1 / k, extent=[-0.5 / k, 1 + 0.5 / k])
    hist = (
        alt.Chart(easy)
        .mark_bar(opacity=0.85)
        .encode(
            x=alt.X("p_correct:Q", bin=binning, title="P(correct) across members"),
            y=alt.Y("count():Q", title="examples", stack=True),
            color=group,
            tooltip=[
                alt.Tooltip("group:N"),
                alt.Tooltip("p_correct:Q", bin=binning, title="P(correct) bin"),
                alt.Tooltip("count():Q", title="examples"),
            ],
        )
    )
    ref["expected"] = ref["probability"] * n
    ref_line = (
        alt.Chart(ref)
        .mark_line(color=REFERENCE)
        .encode(
            x="p_correct:Q",
            y="expected:Q",
            strokeDash=dash,
            tooltip=[
                alt.Tooltip("reference:N"),
                alt.Tooltip("p_correct:Q", title="k / K", format=".2f"),
                alt.Tooltip("expected:Q", title="expected examples", format=".1f"),
            ],
        )
    )
    ranked = easy.sort_values("p_correct", ascending=False).reset_index(drop=True)
    ranked["rank"] = (np.arange(n) + 0.5) / max(n, 1)
    ref_sorted = pd.concat(
        [
            pd.DataFrame(
                {"rank": ranked["rank"], "p_correct": _sorted_reference(r, n), "reference": name}
            )
            for name, r in ref.groupby("reference", sort=False)
        ],
        ignore_index=True,
    )
    curve = (
        alt.Chart(ranked)
        .mark_point(filled=True, size=12)
        .encode(
            x=alt.X("rank:Q", title="examples, sorted (fraction)", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("p_correct:Q", title="P(correct)", scale=alt.Scale(domain=[0, 1])),
            color=group,
            tooltip=[
                alt.Tooltip("example:Q"),
                alt.Tooltip("group:N"),
                alt.Tooltip("p_correct:Q", format=".2f"),
            ],
        )
    )
    ref_curve = (
        alt.Chart(ref_sorted)
        .mark_line(color=REFERENCE)
        .encode(
            x="rank:Q",
            y="p_correct:Q",
            strokeDash=dash,
            tooltip=[
                alt.Tooltip("reference:N"),
                alt.Tooltip("p_correct:Q", title="reference quantile", format=".2f"),
            ],
        )
    )
    left = (hist + ref_line).properties(title="Histogram", height=HEIGHT)
    right = (curve + ref_curve).properties(title="Sorted", height=HEIGHT)
    return alt.hconcat(left, right).properties(title=title or "Easiness")


def _sorted_reference(reference: pd.DataFrame, n: int) -> np.ndarray:
    """Descending quantiles of a pmf (p_correct, probability) at n evenly spaced ranks: the
    sorted curve n draws from the reference would give."""
    ref = reference.sort_values("p_correct")
    cdf = np.cumsum(ref["probability"].to_numpy())
    q = 1.0 - (np.arange(n) + 0.5) / max(n, 1)  # descending quantile levels
    idx = np.clip(np.searchsorted(cdf, q - 1e-12), 0, len(ref) - 1)
    return ref["p_correct"].to_numpy()[idx]


# -- loss-sensitivity -------------------------------------------------------------------------
def class_matrix_frame(matrix: np.ndarray, classes: list[str] | None = None) -> pd.DataFrame:
    """C x C matrix (row i: loss of class-i examples; column j: inputs of class j) -> tidy."""
    m = np.asarray(matrix, dtype=float)
    names = list(classes) if classes is not None else [str(i) for i in range(m.shape[0])]
    i, j = np.meshgrid(np.arange(m.shape[0]), np.arange(m.shape[1]), indexing="ij")
    return pd.DataFrame(
        {
            "loss_class": [names[a] for a in i.ravel()],
            "input_class": [names[b] for b in j.ravel()],
            "sensitivity": m.ravel(),
        }
    )


def sensitivity_heatmap(cells: pd.DataFrame, title: str = "") -> alt.Chart:
    """Per-class loss-sensitivity heatmap on a log colour scale (PAPER.md item 5).

    `cells`: loss_class, input_class, sensitivity (>= 0; zeros are floored to the smallest
    positive value so the log scale stays defined).
    """
    df = cells.copy()
    pos = df["sensitivity"][df["sensitivity"] > 0]
    floor = float(pos.min()) if len(pos) else 1e-12
    df["shown"] = df["sensitivity"].clip(lower=floor)
    order = list(dict.fromkeys(df["loss_class"]))
    return (
        alt.Chart(df)
        .mark_rect()
        .encode(
            x=alt.X("input_class:N", title="inputs of class j", sort=order),
            y=alt.Y("loss_class:N", title="loss of class i", sort=order),
            color=alt.Color(
                "shown:Q",
                title="sensitivity",
                scale=alt.Scale(type="log", scheme="viridis"),
            ),
            tooltip=[
                alt.Tooltip("loss_class:N", title="loss of class"),
                alt.Tooltip("input_class:N", title="inputs of class"),
                alt.Tooltip("sensitivity:Q", format=".3e"),
            ],
        )
        .properties(title=title or "Per-class loss-sensitivity (log colour)", height=HEIGHT)
    )


def gini_chart(sens: pd.DataFrame, noise_kind: str = "none", title: str = "") -> alt.Chart:
    """Gini coefficient of the loss-sensitivity over SGD steps ("sens" records: step, gini,
    gini_time). Solid: running mean (the paper's); dashed: equal weight per time."""
    cols = [c for c in ("gini", "gini_time") if c in sens.columns]
    long = sens.melt(id_vars=["step"], value_vars=cols, var_name="variant", value_name="value")
    long["variant"] = long["variant"].map(
        {"gini": "running mean", "gini_time": "equal weight per time"}
    )
    return (
        alt.Chart(long)
        .mark_line(point=True, color=noise_color(noise_kind))
        .encode(
            x=alt.X("step:Q", title="SGD step"),
            y=alt.Y("value:Q", title="Gini coefficient", scale=alt.Scale(domain=[0, 1])),
            strokeDash=alt.StrokeDash(
                "variant:N",
                title=None,
                scale=alt.Scale(
                    domain=["running mean", "equal weight per time"], range=[[1, 0], [5, 3]]
                ),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["variant:N", "step:Q", alt.Tooltip("value:Q", title="Gini", format=".3f")],
        )
        .properties(title=title or "Gini of loss-sensitivity", height=HEIGHT)
    )


# -- per-example training dynamics ------------------------------------------------------------
def data_map_chart(points: pd.DataFrame, noise_kind: str = "none", title: str = "") -> alt.Chart:
    """Data map (Swayamdipta et al. 2020): per example, variability (x) vs confidence (y).

    `points`: example, confidence (mean prob of the training label), variability (its std
    across epochs), group ('clean'|'noisy'); optional forgetting (count).
    """
    tip = [
        alt.Tooltip("example:Q"),
        alt.Tooltip("group:N"),
        alt.Tooltip("confidence:Q", format=".3f"),
        alt.Tooltip("variability:Q", format=".3f"),
    ]
    if "forgetting" in points.columns:
        tip.append(alt.Tooltip("forgetting:Q", title="forgetting events"))
    return (
        alt.Chart(points)
        .mark_circle(size=18, opacity=0.6)
        .encode(
            x=alt.X("variability:Q", title="variability (std of P(label) over epochs)"),
            y=alt.Y(
                "confidence:Q", title="confidence (mean P(label))", scale=alt.Scale(domain=[0, 1])
            ),
            color=alt.Color("group:N", title=None, scale=_group_scale(noise_kind, points["group"])),
            tooltip=tip,
        )
        .properties(title=title or "Data map", height=HEIGHT)
    )


def forgetting_chart(points: pd.DataFrame, noise_kind: str = "none", title: str = "") -> alt.Chart:
    """Share of clean and of noisy examples per forgetting-event count (Toneva et al. 2019).

    `points`: one row per example with forgetting (int count) and group ('clean'|'noisy').
    """
    counts = points.groupby(["group", "forgetting"]).size().rename("examples").reset_index()
    counts["share"] = counts["examples"] / counts.groupby("group")["examples"].transform("sum")
    return (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("forgetting:O", title="forgetting events (correct -> wrong)"),
            xOffset="group:N",
            y=alt.Y("share:Q", title="share of the group", axis=alt.Axis(format="%")),
            color=alt.Color("group:N", title=None, scale=_group_scale(noise_kind, counts["group"])),
            tooltip=[
                "group:N",
                "forgetting:O",
                "examples:Q",
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .properties(title=title or "Forgetting events", height=HEIGHT)
    )


# -- comparing runs ---------------------------------------------------------------------------
def overlay_chart(curves: pd.DataFrame, title: str = "") -> alt.LayerChart:
    """Several runs' curves on one chart: run (label), epoch, metric, value (mean over members).

    Colour = run, dash = metric ('validation' solid, 'train' dashed); points carry tooltips.
    """
    x = _x_epoch(None)
    y = alt.Y("value:Q", title="accuracy", scale=alt.Scale(domain=[0, 1]))
    color = alt.Color(
        "run:N",
        title="run",
        scale=alt.Scale(scheme="tableau10"),  # distinct hues, not the theme's shades of one
        legend=alt.Legend(orient="bottom", columns=1, labelLimit=600),
    )
    tip = [
        "run:N",
        "metric:N",
        alt.Tooltip("epoch:Q", format=".2f"),
        alt.Tooltip("value:Q", format=".3f"),
    ]
    base = alt.Chart(curves)
    # points in their own layer: a point overlay on the line would blank the dash legend
    lines = base.mark_line().encode(
        x=x,
        y=y,
        color=color,
        strokeDash=alt.StrokeDash(
            "metric:N",
            title="metric",
            scale=alt.Scale(domain=["validation", "train"], range=[[1, 0], [5, 3]]),
        ),
        detail="metric:N",
    )
    points = base.mark_point(filled=True, size=20).encode(x=x, y=y, color=color, tooltip=tip)
    return (lines + points).properties(title=title or "Compare runs", height=HEIGHT + 120)


def export_image(chart: alt.TopLevelMixin, fmt: str = "png", scale: float = 2.0) -> bytes:
    """Render a chart to PNG or SVG bytes with vl-convert (no browser needed)."""
    import vl_convert as vlc

    spec = chart.to_json()
    if fmt == "png":
        return vlc.vegalite_to_png(spec, scale=scale)
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec).encode()
    raise ValueError(f"format={fmt!r} is invalid: must be png or svg")
