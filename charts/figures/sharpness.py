"""Chart of the sharpness figure (PAPER.md 8): the top Hessian eigenvalue at the end of
training against the noise level, randX and randY.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.style import RANDX, RANDY, H, W, empty, legend_toggle, shown, zoom


def chart(df: pd.DataFrame) -> alt.Chart:
    """Top Hessian eigenvalue (log) per noise level: mean line, one point per member."""
    if df.empty:
        return empty("Sharpness vs noise")
    color = alt.Color(
        "panel:N", scale=alt.Scale(domain=["randX", "randY"], range=[RANDX, RANDY]), title="noise"
    )
    y = alt.Y("sharpness:Q", title="top Hessian eigenvalue", scale=alt.Scale(type="log"))
    x = alt.X("level:Q", title="noise level", axis=alt.Axis(format="%"))
    mean = df.groupby(["panel", "level"], as_index=False)["sharpness"].mean()
    toggle = legend_toggle("panel")
    line = (
        alt.Chart(mean)
        .mark_line()
        .encode(x=x, y=y, color=color, opacity=shown(toggle))
        .add_params(zoom(), toggle)
    )
    pts = (
        alt.Chart(df)
        .mark_point()
        .encode(
            x=x,
            y=y,
            color=color,
            opacity=shown(toggle),
            tooltip=[
                "panel",
                "level",
                "member",
                alt.Tooltip("sharpness:Q", format=".3g"),
                alt.Tooltip("final_train_acc:Q", format=".3f"),
            ],
        )
    )
    return (line + pts).properties(width=2 * W, height=H, title="Sharpness vs noise")
