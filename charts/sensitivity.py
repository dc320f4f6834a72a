"""Loss-sensitivity of one run (PAPER.md items 4-5): the Gini coefficient over SGD steps and the
per-class sensitivity matrix as a heatmap on a log colour scale.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from charts.style import (
    HEIGHT,
    REFERENCE,
    legend_toggle,
    noise_color,
    shown,
    zoom,
)


# -- loss-sensitivity -------------------------------------------------------------------------
def class_matrix_frame(matrix: np.ndarray, classes: list[str] | None = None) -> pd.DataFrame:
    """C x C matrix (row i: loss of class-i examples; column j: inputs of class j) -> tidy."""
    m = np.asarray(matrix, dtype=float)
    names = list(classes) if classes is not None else [str(i) for i in range(m.shape[0])]
    i, j = np.meshgrid(np.arange(m.shape[0]), np.arange(m.shape[1]), indexing="ij")
    return pd.DataFrame(
        {
            "loss_class": [names[a] for a in i.ravel()],
            "input_class": [names[b] for b in j.ravel()],
            "sensitivity": m.ravel(),
        }
    )


def sensitivity_heatmap(cells: pd.DataFrame, title: str = "") -> alt.Chart:
    """Per-class loss-sensitivity heatmap on a log colour scale (PAPER.md item 5).

    `cells`: loss_class, input_class, sensitivity (>= 0; zeros are floored to the smallest
    positive value so the log scale stays defined).
    """
    df = cells.copy()
    pos = df["sensitivity"][df["sensitivity"] > 0]
    floor = float(pos.min()) if len(pos) else 1e-12
    df["shown"] = df["sensitivity"].clip(lower=floor)
    order = list(dict.fromkeys(df["loss_class"]))
    return (
        alt.Chart(df)
        .mark_rect()
        .encode(
            x=alt.X("input_class:N", title="inputs of class j", sort=order),
            y=alt.Y("loss_class:N", title="loss of class i", sort=order),
            color=alt.Color(
                "shown:Q",
                title=["sensitivity", "(log; yellow", "= larger)"],  # viridis: bright = large
                scale=alt.Scale(type="log", scheme="viridis"),
            ),
            tooltip=[
                alt.Tooltip("loss_class:N", title="loss of class"),
                alt.Tooltip("input_class:N", title="inputs of class"),
                alt.Tooltip("sensitivity:Q", format=".3e"),
            ],
        )
        .properties(title=title or "Per-class loss-sensitivity (log colour)", height=HEIGHT)
    )


GINI_VARIANTS = {"gini": "running mean", "gini_time": "equal weight per time"}


def gini_chart(
    sens: pd.DataFrame | dict[str, pd.DataFrame], noise_kind: str = "real", title: str = ""
) -> alt.Chart:
    """Gini coefficient of the loss-sensitivity over SGD steps ("sens" records: step, gini,
    gini_time). Solid: running mean (the paper's); dashed: equal weight per time. One run: the
    two variants in two colours (its noise colour, grey). Several runs side by side
    ({setting: sens}, e.g. real and randX): one colour per setting (the poster's), the variants
    dashed apart. The y axis fits the data; zoom/pan and legend toggles as every line chart."""
    runs = sens if isinstance(sens, dict) else {None: sens}
    parts = []
    for setting, df in runs.items():
        cols = [c for c in GINI_VARIANTS if c in df.columns]
        long = df.melt(id_vars=["step"], value_vars=cols, var_name="variant", value_name="value")
        long["variant"] = long["variant"].map(GINI_VARIANTS)
        parts.append(long.assign(setting=setting or "run"))
    long = pd.concat(parts, ignore_index=True)
    variants = list(GINI_VARIANTS.values())
    if isinstance(sens, dict):
        field, names = "setting", list(runs)
        colors = [noise_color(n) for n in names]
    else:
        field, names, colors = "variant", variants, [noise_color(noise_kind), REFERENCE]
    legend = alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=3)
    toggle = legend_toggle(field)
    line = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="SGD step"),
            y=alt.Y("value:Q", title="Gini coefficient", scale=alt.Scale(zero=False)),
            color=alt.Color(
                f"{field}:N", title=None, scale=alt.Scale(domain=names, range=colors), legend=legend
            ),  # fmt: skip
            strokeDash=alt.StrokeDash(
                "variant:N",
                title=None,
                scale=alt.Scale(domain=variants, range=[[1, 0], [5, 3]]),
                legend=alt.Legend(orient="bottom") if field != "variant" else None,
            ),
            opacity=shown(toggle),
            tooltip=[
                *([alt.Tooltip("setting:N")] if field == "setting" else []),
                "variant:N",
                alt.Tooltip("step:Q", format=",.0f"),
                alt.Tooltip("value:Q", title="Gini", format=".3f"),
            ],
        )
        .add_params(zoom(), toggle)
    )
    return line.properties(title=title or "Gini of loss-sensitivity", height=HEIGHT)
