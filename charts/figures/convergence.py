"""Chart of the convergence figure (PAPER.md 2, ICML Fig. 3): epochs to fit the training
set against data size and against width, per setting; censored runs drawn as triangles.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from charts.style import SETTING_SCALE, H, W, empty, legend_toggle, shown, zoom


def chart(df: pd.DataFrame, normalized: bool = True) -> alt.Chart:
    """Epochs to 100% training accuracy (normalized by real data) vs size and vs width."""
    if df.empty:
        return empty("Time to convergence")
    y = "normalized" if normalized else "epochs_to_fit"
    ytitle = "time / real-data time" if normalized else "epochs to 100% train accuracy"
    d = df.assign(reached=np.where(df["censored"], "censored (>=)", "reached"))
    toggle = legend_toggle("setting")  # one legend for both panels: defined on the first
    charts = []
    for panel, xcol, xtitle in (
        ("size", "train_size", "training examples"),
        ("width", "width", "hidden units"),
    ):
        p = d[d["panel"] == panel]
        if p.empty:
            continue
        color = alt.Color("setting:N", scale=SETTING_SCALE)
        x = alt.X(f"{xcol}:Q", scale=alt.Scale(type="log", base=2), title=xtitle)
        mean = p.groupby(["setting", xcol], as_index=False)[y].mean()
        line = (
            alt.Chart(mean)
            .mark_line()
            .encode(x=x, y=alt.Y(f"{y}:Q", title=ytitle), color=color, opacity=shown(toggle))
            .add_params(zoom(f"zoom_{panel}"), *([toggle] if not charts else []))
        )
        pts = (
            alt.Chart(p)
            .mark_point(size=50, filled=False)
            .encode(
                x=x,
                y=f"{y}:Q",
                color=color,
                opacity=shown(toggle),
                shape=alt.Shape(
                    "reached:N",
                    scale=alt.Scale(
                        domain=["reached", "censored (>=)"], range=["circle", "triangle-up"]
                    ),
                ),
                tooltip=[
                    "setting",
                    xcol,
                    "member",
                    alt.Tooltip("epochs_to_fit:Q", format=".0f"),
                    "censored",
                    alt.Tooltip("normalized:Q", format=".2f"),
                ],
            )
        )
        charts.append((line + pts).properties(width=W, height=H, title=f"vs {xtitle}"))
    return alt.hconcat(*charts).properties(title="Time to convergence")
