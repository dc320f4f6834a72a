"""Chart of the capacity figure (PAPER.md 1, ICML Fig. 4): best validation accuracy
against width, one line per noise level, randX | randY panels.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.style import H, W, empty, legend_toggle, level_scale, shown, zoom


def chart(df: pd.DataFrame) -> alt.Chart:
    """Best validation accuracy vs hidden units (log), one line per noise level, randX | randY."""
    if df.empty:
        return empty("Capacity vs noise")
    d = df.groupby(["panel", "level", "width"], as_index=False).agg(
        best_val_acc=("best_val_acc", "mean"),
        lo=("best_val_acc", "min"),
        hi=("best_val_acc", "max"),
        members=("member", "count"),
    )
    color = alt.Color("level:O", scale=level_scale(d["level"]), title="noise level")
    x = alt.X("width:Q", scale=alt.Scale(type="log", base=2), title="hidden units per layer")
    toggle = legend_toggle("level")
    base = alt.Chart(d).encode(x=x, color=color, opacity=shown(toggle))
    line = base.mark_line(point=True).encode(
        y=alt.Y("best_val_acc:Q", title="best validation accuracy", scale=alt.Scale(zero=False)),
        tooltip=[
            "panel",
            "level",
            "width",
            alt.Tooltip("best_val_acc:Q", format=".3f"),
            "members",
        ],
    )
    line = line.add_params(zoom(), toggle)
    band = base.mark_errorbar().encode(y=alt.Y("lo:Q", title="best validation accuracy"), y2="hi:Q")
    return (
        (band + line)
        .properties(width=W, height=H)
        .facet(column=alt.Column("panel:N", title=None, sort=["randX", "randY"]))
        .properties(title="Capacity vs noise (mean over members, bars span them)")
    )
