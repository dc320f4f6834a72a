"""Per-example training dynamics over an ensemble: easiness (P(correct) across members, with its
null references), data maps and forgetting events. The frames come from app.runframes, which
takes the definitions from memcore.metrics.easiness; so do the reference curves drawn here.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from charts.style import HEIGHT, REFERENCE, group_scale, legend_toggle, shown, zoom
from memcore.metrics import easiness

SORTED_POINTS = 200  # at most this many points per sorted curve (the spec stays small)


# -- easiness ---------------------------------------------------------------------------------
def easiness_chart(
    easy: pd.DataFrame, reference: pd.DataFrame, noise_kind: str = "real", title: str = ""
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
    group = alt.Color("group:N", title=None, scale=group_scale(noise_kind, easy["group"]))
    # Legends are shared by both panels: each toggle is defined once, on the left panel.
    groups, refs = legend_toggle("group"), legend_toggle("reference", "shown_reference")
    # Counted here, not by Vega-Lite's bin (whose "nice" extent put k/K on a bin edge, half a
    # bin off the reference): one bar per k/K, centred on it; a few rows instead of n.
    scale = alt.Scale(domain=[-0.5 / k, 1 + 0.5 / k], nice=False, zero=False)
    x = alt.X(
        "lo:Q",
        title="P(correct) across members",
        scale=scale,
        axis=alt.Axis(values=ticks(k), format=".2~f"),
    )
    hist = (
        alt.Chart(histogram(easy, k))
        .mark_bar()
        .encode(
            x=x,
            x2="hi:Q",
            y=alt.Y("top:Q", title="examples"),
            y2="bottom:Q",
            color=group,
            opacity=shown(groups, 0.85),
            tooltip=[
                alt.Tooltip("group:N"),
                alt.Tooltip("p_correct:Q", title="k / K", format=".2f"),
                alt.Tooltip("examples:Q"),
            ],
        )
        # every parameter of a layered panel on one layer: Altair lifts a layer's parameters
        # onto all of its views, so parameters on two layers became duplicate Vega signals
        .add_params(groups, refs, zoom("zoom_histogram"))
    )
    ref["expected"] = ref["probability"] * n
    ref_line = (
        alt.Chart(ref)
        .mark_line(color=REFERENCE)
        .encode(
            x=alt.X("p_correct:Q", scale=scale),
            y="expected:Q",
            strokeDash=dash,
            opacity=shown(refs),
            tooltip=[
                alt.Tooltip("reference:N"),
                alt.Tooltip("p_correct:Q", title="k / K", format=".2f"),
                alt.Tooltip("expected:Q", title="expected examples", format=".1f"),
            ],
        )
    )
    ranked = easy.sort_values("p_correct", ascending=False).reset_index(drop=True)
    ranked["rank"] = (np.arange(n) + 0.5) / max(n, 1)
    step = -(-n // SORTED_POINTS)  # the curves' shape, not every example (spec size)
    ranked = ranked.iloc[::step]
    ref_sorted = (
        reference_curves(ref, n).groupby("reference", sort=False).nth(slice(None, None, step))
    )
    curve = (
        alt.Chart(ranked)
        .mark_point(filled=True, size=12)
        .encode(
            x=alt.X("rank:Q", title="examples, sorted (fraction)", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("p_correct:Q", title="P(correct)", scale=alt.Scale(domain=[0, 1])),
            color=group,
            opacity=shown(groups),
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
            opacity=shown(refs),
            tooltip=[
                alt.Tooltip("reference:N"),
                alt.Tooltip("p_correct:Q", title="reference quantile", format=".2f"),
            ],
        )
        .add_params(zoom("zoom_sorted"))
    )
    left = (hist + ref_line).properties(title="Histogram", height=HEIGHT)
    right = (curve + ref_curve).properties(title="Sorted", height=HEIGHT)
    return alt.hconcat(left, right).properties(title=title or "Easiness")


def ticks(k: int, most: int = 11) -> list[float]:
    """Axis ticks on the bars' centres k/K: every one, or every few so at most `most` show."""
    step = -(-k // (most - 1))
    return [i / k for i in range(0, k + 1, step)] + ([1.0] if k % step else [])


def histogram(easy: pd.DataFrame, k: int) -> pd.DataFrame:
    """Examples per (group, k/K): columns group, p_correct, examples, the bar's edges lo, hi
    (k/K -+ half a bin) and its stacked extent bottom..top (groups stacked in name order)."""
    counts = easy.groupby(["p_correct", "group"]).size().rename("examples").reset_index()
    top = counts.groupby("p_correct")["examples"].cumsum()  # groups stacked per bar
    return counts.assign(
        lo=counts["p_correct"] - 0.5 / k,
        hi=counts["p_correct"] + 0.5 / k,
        bottom=top - counts["examples"],
        top=top,
    )


def reference_curves(reference: pd.DataFrame, n: int) -> pd.DataFrame:
    """The sorted curve n draws from each reference would give (memcore.metrics.easiness.
    sorted_reference): columns rank ((i + 0.5) / n), p_correct (descending), reference.

    `reference`: p_correct (k/K), probability (pmf) and reference (its name)."""
    parts = [
        easiness.sorted_reference(r.rename(columns={"p_correct": "p", "probability": "pmf"}), n)
        .rename(columns={"frac": "rank", "p": "p_correct"})
        .assign(reference=name)
        for name, r in reference.groupby("reference", sort=False)
    ]
    return pd.concat(parts, ignore_index=True)


# -- per-example training dynamics ------------------------------------------------------------
def data_map_chart(points: pd.DataFrame, noise_kind: str = "real", title: str = "") -> alt.Chart:
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
    shown = points.round({"confidence": 4, "variability": 4})  # a third of the spec's bytes
    return (
        alt.Chart(shown)
        .mark_circle(size=18, opacity=0.6)
        .encode(
            x=alt.X("variability:Q", title="variability (std of P(label) over epochs)"),
            y=alt.Y(
                "confidence:Q", title="confidence (mean P(label))", scale=alt.Scale(domain=[0, 1])
            ),
            color=alt.Color("group:N", title=None, scale=group_scale(noise_kind, shown["group"])),
            tooltip=tip,
        )
        .properties(title=title or "Data map", height=HEIGHT)
    )


def forgetting_chart(points: pd.DataFrame, noise_kind: str = "real", title: str = "") -> alt.Chart:
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
            color=alt.Color("group:N", title=None, scale=group_scale(noise_kind, counts["group"])),
            tooltip=[
                "group:N",
                "forgetting:O",
                "examples:Q",
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .properties(title=title or "Forgetting events", height=HEIGHT)
    )
