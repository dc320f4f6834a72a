"""Chart of the easiness figure (PAPER.md 3, ICML Fig. 1): examples sorted by the fraction
of members that classify them correctly after one epoch, per setting, with the binomial
reference (memcore.metrics.easiness) of randX.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from charts.style import (
    RANDX,
    RANDY,
    REAL,
    REFERENCE,
    SETTINGS,
    H,
    W,
    empty,
    legend_toggle,
    shown,
    zoom,
)
from memcore.metrics.easiness import binomial_reference, sorted_reference


def sorted_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Sorted P(correct) per setting (rank in [0, 1], ascending) plus the Binomial(K, mean p of
    randX)/K reference (memcore.metrics.easiness) as setting 'binomial'."""
    parts = []
    for s, g in df.groupby("setting"):
        p = np.sort(g["p_correct"].to_numpy(float))
        parts.append(
            pd.DataFrame({"setting": s, "rank": (np.arange(len(p)) + 0.5) / len(p), "p_correct": p})
        )
    rx = df[df["setting"] == "randX"]
    if len(rx):
        k = int(rx["members"].iloc[0])
        ref = sorted_reference(binomial_reference(k, float(rx["p_correct"].mean())), len(rx))
        # sorted_reference runs easiest first; this figure sorts ascending
        p = ref["p"].to_numpy()[::-1]
        parts.append(pd.DataFrame({"setting": "binomial", "rank": ref["frac"], "p_correct": p}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def chart(df: pd.DataFrame) -> alt.Chart:
    """Sorted easiness curves per setting with randX's binomial reference dashed."""
    if df.empty:
        return empty("Easiness after one epoch")
    d = sorted_frame(df)
    scale = alt.Scale(domain=[*SETTINGS, "binomial"], range=[REAL, RANDX, RANDY, REFERENCE])
    toggle = legend_toggle("setting")
    return (
        alt.Chart(d)
        .mark_line()
        .encode(
            x=alt.X("rank:Q", title="examples, sorted by P(correct)"),
            y=alt.Y(
                "p_correct:Q", title="fraction of members correct", scale=alt.Scale(domain=[0, 1])
            ),
            color=alt.Color("setting:N", scale=scale),
            strokeDash=alt.condition(
                "datum.setting == 'binomial'", alt.value([4, 3]), alt.value([1, 0])
            ),
            opacity=shown(toggle),
            tooltip=["setting", alt.Tooltip("p_correct:Q", format=".2f")],
        )
        .add_params(zoom(), toggle)
        .properties(width=2 * W, height=H, title="Easiness after one epoch")
    )
