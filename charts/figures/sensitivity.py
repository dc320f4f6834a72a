"""Charts of the loss-sensitivity figures (PAPER.md 4-5, ICML Figs. 5-6): the Gini of the
loss-sensitivity over SGD steps, and the per-class sensitivity heatmaps.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.style import RANDX, RANDY, REAL, H, W, empty, legend_toggle, shown, zoom

CURVE_SCALE = alt.Scale(domain=["real", "randX 50%", "randX 100%"], range=[REAL, RANDX, RANDY])


def chart(df: pd.DataFrame, variant: str = "gini") -> alt.Chart:
    """Gini of the running-mean loss-sensitivity over SGD steps; 10 classes | unique labels."""
    if df.empty:
        return empty("Loss-sensitivity Gini")
    # Several seeds per curve: the line is their mean, the band spans them.
    keys = ["panel", "curve", "step"]
    d = df.groupby(keys, as_index=False)[variant].agg(["mean", "min", "max", "count"])
    toggle = legend_toggle("curve")
    base = alt.Chart(d).encode(
        x=alt.X("step:Q", title="SGD steps"),
        color=alt.Color("curve:N", scale=CURVE_SCALE, title="data"),
    )
    line = base.mark_line(point=True).encode(
        y=alt.Y("mean:Q", title="Gini of loss-sensitivity (mean over seeds)"),
        opacity=shown(toggle),
        tooltip=[
            "panel", "curve", "step", alt.Tooltip("mean:Q", format=".3f"),
            alt.Tooltip("count:Q", title="seeds"),
        ],
    )  # fmt: skip
    line = line.add_params(zoom(), toggle)
    band = base.mark_area().encode(y="min:Q", y2="max:Q", opacity=shown(toggle, 0.2))
    return (
        alt.layer(band, line)
        .properties(width=W, height=H)
        .facet(column=alt.Column("panel:N", title="labels", sort=["class", "unique"]))
        .resolve_scale(x="independent", y="independent")
        .properties(title="Loss-sensitivity Gini")
    )


def class_chart(df: pd.DataFrame) -> alt.Chart:
    """Heatmap of the per-class loss-sensitivity matrix (log colour), real | randX."""
    if df.empty:
        return empty("Per-class loss-sensitivity")
    # Mean over seeds per cell (the check compares seed by seed; the picture shows the mean).
    d = df.groupby(["setting", "loss_class", "input_class"], as_index=False)["value"].mean()
    d = d[d["value"] > 0]
    return (
        alt.Chart(d)
        .mark_rect()
        .encode(
            x=alt.X("input_class:O", title="inputs of class j"),
            y=alt.Y("loss_class:O", title="loss of class i"),
            color=alt.Color(
                "value:Q", scale=alt.Scale(type="log", scheme="viridis"), title="sensitivity (mean)"
            ),
            tooltip=["setting", "loss_class", "input_class", alt.Tooltip("value:Q", format=".3g")],
        )
        .properties(width=220, height=220)
        .facet(column=alt.Column("setting:N", title=None, sort=["real", "randX"]))
        .resolve_scale(color="independent")
        .properties(title="Per-class loss-sensitivity")
    )
