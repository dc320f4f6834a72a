"""Figures of the loss-sensitivity experiments (PAPER.md 4-5, ICML Figs. 5-6): the Gini of the
loss-sensitivity over SGD steps, and the per-class sensitivity heatmaps.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.style import RANDX, RANDY, REAL, H, W, empty

CURVE_SCALE = alt.Scale(domain=["real", "randX 50%", "randX 100%"], range=[REAL, RANDX, RANDY])


def chart(df: pd.DataFrame, variant: str = "gini") -> alt.Chart:
    """Gini of the running-mean loss-sensitivity over SGD steps; 10 classes | unique labels."""
    if df.empty:
        return empty("Loss-sensitivity Gini")
    return (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="SGD steps"),
            y=alt.Y(f"{variant}:Q", title="Gini of loss-sensitivity"),
            color=alt.Color("curve:N", scale=CURVE_SCALE, title="data"),
            tooltip=["panel", "curve", "step", alt.Tooltip(f"{variant}:Q", format=".3f")],
        )
        .properties(width=W, height=H)
        .facet(column=alt.Column("panel:N", title="labels", sort=["class", "unique"]))
        .resolve_scale(x="independent", y="independent")
        .properties(title="Loss-sensitivity Gini")
    )


def class_chart(df: pd.DataFrame) -> alt.Chart:
    """Heatmap of the per-class loss-sensitivity matrix (log colour), real | randX."""
    if df.empty:
        return empty("Per-class loss-sensitivity")
    d = df[df["value"] > 0]
    return (
        alt.Chart(d)
        .mark_rect()
        .encode(
            x=alt.X("input_class:O", title="inputs of class j"),
            y=alt.Y("loss_class:O", title="loss of class i"),
            color=alt.Color(
                "value:Q", scale=alt.Scale(type="log", scheme="viridis"), title="sensitivity"
            ),
            tooltip=["setting", "loss_class", "input_class", alt.Tooltip("value:Q", format=".3g")],
        )
        .properties(width=220, height=220)
        .facet(column=alt.Column("setting:N", title=None, sort=["real", "randX"]))
        .resolve_scale(color="independent")
        .properties(title="Per-class loss-sensitivity")
    )
