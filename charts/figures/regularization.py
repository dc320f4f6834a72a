"""Chart of the regularization figure (PAPER.md 7, ICML Fig. 10): the memorization /
generalization trade-off per regularizer (memcore.metrics.regularization) and its training
curves.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.style import H, W, empty, legend_toggle, shown, zoom
from memcore.metrics.regularization import tradeoff


def chart(df: pd.DataFrame) -> alt.Chart:
    """Tradeoff (x randY train acc, y best real val acc) per regularizer, and training curves."""
    if df.empty:
        return empty("Regularization vs memorization")
    t = tradeoff(df)
    color = alt.Color("regularizer:N", scale=alt.Scale(scheme="tableau10"))
    toggle = legend_toggle("regularizer")  # one legend for both rows: defined on the first
    trade = (
        alt.Chart(t)
        .mark_line(point=True)
        .encode(
            x=alt.X("randY_train_acc:Q", title="final training accuracy on random labels"),
            y=alt.Y(
                "real_best_val_acc:Q",
                title="best validation accuracy (real data)",
                scale=alt.Scale(zero=False),
            ),
            color=color,
            order="strength:Q",
            opacity=shown(toggle),
            tooltip=[
                "regularizer",
                "strength",
                alt.Tooltip("randY_train_acc:Q", format=".3f"),
                alt.Tooltip("real_best_val_acc:Q", format=".3f"),
            ],
        )
        .add_params(zoom("zoom_tradeoff"), toggle)
        .properties(width=2 * W, height=H + 40, title="Memorization vs generalization")
    )
    curves = (
        alt.Chart(df)
        .mark_line()
        .encode(
            x="epoch:Q",
            y=alt.Y("train_acc:Q", title="training accuracy"),
            color=color,
            detail="strength:N",
            opacity=shown(toggle, 0.8),
            tooltip=["regularizer", "strength", "epoch", alt.Tooltip("train_acc:Q", format=".3f")],
        )
        .add_params(zoom("zoom_curves"))
        .properties(width=W, height=H * 0.8)
        .facet(column=alt.Column("data:N", title="training curves", sort=["randY", "real"]))
    )
    return alt.vconcat(trade, curves).properties(title="Regularization vs memorization")
