"""Charts of the critical-sample-ratio figures (PAPER.md 6, ICML Figs. 8-9): CSR over epochs
per setting, and accuracy with CSR per noise level.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.style import SETTING_SCALE, H, W, empty, legend_toggle, level_scale, shown, zoom


def chart(df: pd.DataFrame) -> alt.Chart:
    """Critical sample ratio over epochs per setting: mean over members, band min-max."""
    if df.empty:
        return empty("Critical sample ratio")
    d = df.groupby(["setting", "epoch"], as_index=False).agg(
        csr=("csr", "mean"), lo=("csr", "min"), hi=("csr", "max"), iters=("iters", "max")
    )
    color = alt.Color("setting:N", scale=SETTING_SCALE)
    toggle = legend_toggle("setting")
    base = alt.Chart(d).encode(x=alt.X("epoch:Q", title="epoch"), color=color)
    band = base.mark_area().encode(y="lo:Q", y2="hi:Q", opacity=shown(toggle, 0.2))
    line = base.mark_line(point=True).encode(
        y=alt.Y("csr:Q", title="critical sample ratio"),
        opacity=shown(toggle),
        tooltip=["setting", "epoch", alt.Tooltip("csr:Q", format=".3f"), "iters"],
    )
    line = line.add_params(zoom(), toggle)
    return (band + line).properties(width=2 * W, height=H, title="Critical sample ratio")


def levels_chart(df: pd.DataFrame) -> alt.Chart:
    """Rows: accuracy (train solid, validation dashed) and CSR; columns: randX | randY."""
    if df.empty:
        return empty("Accuracy and CSR per noise level")
    d = df.groupby(["panel", "level", "epoch", "metric"], as_index=False)["value"].mean()
    color = alt.Color("level:O", scale=level_scale(d["level"]), title="noise level")
    toggle = legend_toggle("level")  # one legend for all four panels: defined on the first
    cols = []
    for panel in ("randX", "randY"):
        p = d[d["panel"] == panel]
        acc = (
            alt.Chart(p[p["metric"] != "csr"])
            .mark_line()
            .encode(
                x=alt.X("epoch:Q"),
                y=alt.Y("value:Q", title="accuracy"),
                color=color,
                strokeDash=alt.StrokeDash(
                    "metric:N",
                    scale=alt.Scale(domain=["train_acc", "val_acc"], range=[[1, 0], [5, 3]]),
                ),
                opacity=shown(toggle),
                tooltip=["level", "metric", "epoch", alt.Tooltip("value:Q", format=".3f")],
            )
            .add_params(zoom(f"zoom_{panel}_acc"), *([toggle] if not cols else []))
            .properties(width=W, height=H * 0.8, title=f"{panel}: accuracy")
        )
        csr = (
            alt.Chart(p[p["metric"] == "csr"])
            .mark_line(point=True)
            .encode(
                x="epoch:Q",
                y=alt.Y("value:Q", title="critical sample ratio"),
                color=color,
                opacity=shown(toggle),
                tooltip=["level", "epoch", alt.Tooltip("value:Q", format=".3f")],
            )
            .add_params(zoom(f"zoom_{panel}_csr"))
            .properties(width=W, height=H * 0.8, title=f"{panel}: CSR")
        )
        cols.append(alt.vconcat(acc, csr))
    return alt.hconcat(*cols).properties(title="Accuracy and CSR per noise level")
