"""Several runs compared on one metric, like an experiment tracker: one line per run (the mean
over its members) with a band (min to max over members), coloured by the run or by a setting,
optionally one panel per value of another setting, linear or log axes.

The frame is app.runframes.compare_frame's: run, epoch, mean, lo, hi, std, members and one
column per setting ("noise level", "width", "regularizer", ...).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.style import (
    HEIGHT,
    KIND_COLORS,
    SETTING_SCALE,
    legend_toggle,
    level_scale,
    shown,
    zoom,
)

BOUNDED = ("accuracy", "Gini")  # metrics that live in [0, 1]: a fixed axis unless log
PANEL_W, PANEL_H = 320, 220  # one facet panel


def color_scale(frame: pd.DataFrame, by: str) -> alt.Scale:
    """The poster's colours where a setting has them (noise level: blue -> red; noise kind:
    real blue, randX green, randY red); distinct hues for runs and names; a dark-to-light
    ramp for other numbers (its light end cut off so every line stays visible)."""
    values = list(dict.fromkeys(frame[by]))
    if by == "noise level":
        return level_scale(values)
    if by == "noise kind" and set(values) <= set(KIND_COLORS):
        return SETTING_SCALE
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return alt.Scale(scheme={"name": "viridis", "extent": [0.0, 0.85]})
    return alt.Scale(scheme="tableau10")


def overlay_chart(
    frame: pd.DataFrame,
    metric: str,
    color_by: str = "run",
    facet_by: str | None = None,
    log_y: bool = False,
    log_x: bool = False,
    title: str = "",
    x_field: str = "epoch",
    x_title: str = "epoch",
) -> alt.LayerChart | alt.FacetChart:
    """Runs' `metric` over epochs: lines = mean over members, bands = min..max.

    color_by: "run" or a setting column (lines of runs sharing a value share a colour; each run
    stays its own line). facet_by: a setting column or None. Log axes drop the points they cannot
    draw (values or epochs <= 0).
    """
    df = frame.copy()
    if log_y:
        df = df[df["mean"] > 0]
        df["lo"] = df["lo"].where(df["lo"] > 0, df["mean"])
    if log_x:
        df = df[df[x_field] > 0]
    numeric = color_by != "run" and pd.api.types.is_numeric_dtype(df[color_by])
    ctype = "O" if numeric else "N"
    legend = alt.Legend(
        orient="bottom",
        columns=1 if color_by == "run" else 8,
        labelLimit=900,
        symbolType="stroke",
        symbolStrokeWidth=3,
        symbolOpacity=1,
    )
    color = alt.Color(
        f"{color_by}:{ctype}",
        title=color_by,
        scale=color_scale(df, color_by),
        legend=legend,
        sort=sorted(set(df[color_by])) if numeric else None,
    )
    bounded = any(word in metric for word in BOUNDED)
    if log_y:
        yscale = alt.Scale(type="log", nice=False)
    elif bounded:
        yscale = alt.Scale(domain=[0, 1])
    else:
        yscale = alt.Scale(zero=False)
    x = alt.X(
        f"{x_field}:Q",
        title=f"{x_title} (log)" if log_x else x_title,
        scale=alt.Scale(type="log" if log_x else "linear", nice=False),
        axis=alt.Axis(format="~g", tickMinStep=1),
    )
    tip = [
        alt.Tooltip("run:N"),
        *([alt.Tooltip(f"{color_by}:N")] if color_by != "run" else []),
        alt.Tooltip(f"{x_field}:Q", title=x_title, format=",.2~f"),
        alt.Tooltip("mean:Q", title=f"{metric} (mean)", format=".4f"),
        alt.Tooltip("lo:Q", title="min over members", format=".4f"),
        alt.Tooltip("hi:Q", title="max over members", format=".4f"),
        alt.Tooltip("members:Q"),
    ]
    base = alt.Chart(df) if facet_by is None else alt.Chart()
    toggle = legend_toggle(color_by)
    band = base.mark_area().encode(
        x=x,
        y=alt.Y("lo:Q", scale=yscale),
        y2="hi:Q",
        color=color,
        detail="run:N",
        opacity=shown(toggle, 0.15),
    )
    line = base.mark_line(strokeWidth=2).encode(
        x=x,
        y=alt.Y("mean:Q", title=metric + (" (log)" if log_y else ""), scale=yscale),
        color=color,
        detail="run:N",
        opacity=shown(toggle),
    )
    # points carry the tooltips; invisible until hovered, so dense curves stay clean lines
    hover = alt.selection_point(
        on="pointerover", nearest=True, fields=["run", x_field], empty=False
    )
    points = base.mark_point(filled=True, size=40).encode(
        x=x,
        y=alt.Y("mean:Q", scale=yscale),
        color=color,
        opacity=alt.condition(hover, alt.value(1.0), alt.value(0.0)),
        tooltip=tip,
    )
    line = line.add_params(zoom(), toggle)  # faceted too: the panels share one zoom
    layers = (band, line, points.add_params(hover))
    heading = title or f"{metric[:1].upper()}{metric[1:]} by {color_by}"
    if facet_by is None:
        return alt.layer(*layers).properties(title=heading, height=HEIGHT + 60)
    panels = alt.layer(*layers, data=df).properties(width=PANEL_W, height=PANEL_H)
    return panels.facet(
        facet=alt.Facet(f"{facet_by}:N", title=facet_by, sort=sorted(set(df[facet_by]))),
        columns=3,
        title=heading,
    )
