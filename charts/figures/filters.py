"""Chart of the first-layer filters (PAPER.md 8, ICML Fig. 7): member 0's filters after training
on real data and on random labels, with their neighbour correlation.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.style import empty


def chart(df: pd.DataFrame, n_show: int = 16) -> alt.Chart:
    """Member 0's first n_show filters per setting, each scaled to its max |weight|."""
    if df.empty:
        return empty("First-layer filters")
    d = df[(df["member"] == 0) & (df["filter"] < n_show)].copy()
    d["scaled"] = d["weight"] / d.groupby(["setting", "filter"])["weight"].transform(
        lambda w: w.abs().max() or 1.0
    )
    strip = d["row"].max() == 0  # 1D filters (mnist1d)
    size = (160, 10) if strip else (44, 44)
    rows = []
    for s in ("real", "randY"):
        g = d[d["setting"] == s]
        if g.empty:
            continue
        st = float(df[df["setting"] == s].groupby(["member", "filter"])["structure"].first().mean())
        rows.append(
            alt.Chart(g)
            .mark_rect()
            .encode(
                x=alt.X("col:O", axis=None),
                y=alt.Y("row:O", axis=None),
                color=alt.Color(
                    "scaled:Q",
                    scale=alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True),
                    legend=None,
                ),
                tooltip=["filter", "row", "col", alt.Tooltip("weight:Q", format=".3f")],
            )
            .properties(width=size[0], height=size[1])
            .facet(
                facet=alt.Facet("filter:O", title=None, header=alt.Header(labels=False)),
                columns=2 if strip else 8,
            )
            .properties(title=f"{s} (neighbour correlation {st:.2f})")
        )
    return alt.vconcat(*rows).properties(title="First-layer filters")
