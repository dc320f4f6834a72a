"""One run's curves over epochs (several runs compared: charts.compare). Frames shaped like
`records.frame(records, "epoch")` go to `accuracy_frame` first; "csr" records go to `csr_chart`
as they are. Lines are means over the K members; bands span min to max over them.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from charts.style import HEIGHT, REAL, VAL, legend_toggle, noise_color, shown, zoom


def x_epoch(epochs: int | None) -> alt.X:
    """Epoch axis; fixed to [0, epochs] when known so a live chart does not rescale."""
    scale = alt.Scale(domain=[0, epochs]) if epochs else alt.Undefined
    return alt.X("epoch:Q", title="epoch", scale=scale, axis=alt.Axis(tickMinStep=1, format="~g"))


def member_band(df: pd.DataFrame, x: str, value: str, by: list[str]) -> pd.DataFrame:
    """Mean, min, max and std of `value` over members for each (x, *by)."""
    g = df.groupby([x, *by], sort=True)[value]
    out = g.agg(mean="mean", lo="min", hi="max", std="std", members="count").reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


# -- accuracy ---------------------------------------------------------------------------------
ACC_SERIES = {
    "clean_acc": "train (clean)",
    "noisy_acc": "train (noisy)",
    "val_acc": "validation",
}


def accuracy_frame(epochs: pd.DataFrame) -> pd.DataFrame:
    """Epoch records (one row per epoch and member) -> tidy band frame.

    Columns out: epoch, series ('train (clean)' | 'train (noisy)' | 'validation'), mean, lo,
    hi (min and max over members), std, members. Series whose values are all missing (no noisy
    examples) are dropped.
    """
    cols = [c for c in ACC_SERIES if c in epochs.columns]
    if epochs.empty or not cols:
        return pd.DataFrame(columns=["epoch", "series", "mean", "lo", "hi", "std", "members"])
    long = epochs.melt(id_vars=["epoch", "member"], value_vars=cols, var_name="series")
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    long = long.dropna(subset=["value"])
    long["series"] = long["series"].map(ACC_SERIES)
    return member_band(long, "epoch", "value", ["series"])


def accuracy_chart(
    frame: pd.DataFrame, noise_kind: str = "real", title: str = "", epochs: int | None = None
) -> alt.Chart:
    """Training accuracy on clean and noisy examples and validation accuracy over epochs.

    `frame` is `accuracy_frame(...)`. Lines are the mean over members, the band spans min to max.
    `epochs` fixes the x axis to [0, epochs].
    """
    colors = {"train (clean)": REAL, "train (noisy)": noise_color(noise_kind), "validation": VAL}
    dashes = {"train (clean)": [1, 0], "train (noisy)": [1, 0], "validation": [6, 3]}
    domain = [s for s in colors if s in set(frame["series"])] or list(colors)
    scale = alt.Scale(domain=domain, range=[colors[s] for s in domain])
    # one merged legend for band + line; stroke symbols so the faint band does not grey it out
    # two columns: three entries in one row ran past a half-width chart at 1024 px
    legend = alt.Legend(
        orient="bottom", symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=3, columns=2
    )
    color = alt.Color("series:N", title=None, scale=scale, legend=legend)
    dash = alt.StrokeDash(
        "series:N", scale=alt.Scale(domain=domain, range=[dashes[s] for s in domain]), legend=None
    )
    x = x_epoch(epochs)
    tip = [
        alt.Tooltip("series:N"),
        alt.Tooltip("epoch:Q", format=".2f"),
        alt.Tooltip("mean:Q", title="accuracy (mean)", format=".3f"),
        alt.Tooltip("lo:Q", title="min over members", format=".3f"),
        alt.Tooltip("hi:Q", title="max over members", format=".3f"),
        alt.Tooltip("members:Q"),
    ]
    base = alt.Chart(frame)
    toggle = legend_toggle("series")
    band = base.mark_area().encode(
        x=x,
        y=alt.Y("lo:Q"),
        y2="hi:Q",
        color=color,
        opacity=shown(toggle, 0.18),
        tooltip=tip,
    )
    line = base.mark_line(point=alt.OverlayMarkDef(size=25)).encode(
        x=x,
        y=alt.Y("mean:Q", title="accuracy", scale=alt.Scale(domain=[0, 1])),
        color=color,
        strokeDash=dash,
        opacity=shown(toggle),
        tooltip=tip,
    )
    line = line.add_params(zoom(), toggle)
    return (band + line).properties(title=title or "Accuracy", height=HEIGHT)


# -- critical sample ratio --------------------------------------------------------------------
def csr_chart(
    csr: pd.DataFrame, noise_kind: str = "real", title: str = "", epochs: int | None = None
) -> alt.Chart:
    """Critical sample ratio over epochs: mean over members, band min-max.

    `csr` holds "csr" records: epoch, member, csr, iters (LASS iterations), radius, set.
    """
    band = member_band(csr, "epoch", "csr", [])
    if "iters" in csr.columns:
        band = band.merge(csr.groupby("epoch")["iters"].max().reset_index(), on="epoch")
    else:
        band["iters"] = np.nan
    # one series in the run's noise colour, named in a legend (line, points and band alike)
    name = "real data" if noise_kind in ("none", "real") else noise_kind
    band["series"] = f"CSR ({name})"
    color = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(range=[noise_color(noise_kind)]),
        legend=alt.Legend(
            orient="bottom", symbolType="stroke", symbolStrokeWidth=3, symbolOpacity=1
        ),
    )
    tip = [
        alt.Tooltip("epoch:Q", format=".2f"),
        alt.Tooltip("mean:Q", title="CSR (mean)", format=".4f"),
        alt.Tooltip("lo:Q", title="min over members", format=".4f"),
        alt.Tooltip("hi:Q", title="max over members", format=".4f"),
        alt.Tooltip("iters:Q", title="LASS iterations (max)", format=".0f"),
    ]
    base = alt.Chart(band)
    x = x_epoch(epochs)
    toggle = legend_toggle("series")
    area = base.mark_area().encode(
        x=x, y="lo:Q", y2="hi:Q", color=color, opacity=shown(toggle, 0.18), tooltip=tip
    )
    line = base.mark_line(point=True).encode(
        x=x,
        y=alt.Y("mean:Q", title="critical sample ratio", axis=alt.Axis(format=".3f")),
        color=color,
        opacity=shown(toggle),
        tooltip=tip,
    )
    line = line.add_params(zoom(), toggle)
    return (area + line).properties(title=title or "Critical sample ratio", height=HEIGHT)
