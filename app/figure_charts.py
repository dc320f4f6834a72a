"""Altair builders for the paper-experiment figures: a recipe's tidy frame in, `alt.Chart` out.

One builder per experiment (memcore.experiments); `chart(name, df)` picks it. No Streamlit here, so
the report (experiments.report) renders the same charts to SVG/PNG. Colours follow the poster
(app.charts): real blue, randX green, randY red; noise levels go from blue (real) through
orange to dark red.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from app.charts import KIND_COLORS, RANDX, RANDY, REAL, REFERENCE

W, H = 280, 220
SETTINGS = ["real", "randX", "randY"]
SETTING_SCALE = alt.Scale(domain=SETTINGS, range=[KIND_COLORS[s] for s in SETTINGS])
NOISE_RAMP = ["#fdae61", "#f46d43", "#d73027", "#a50026", "#67001f"]


def level_scale(levels) -> alt.Scale:
    """Colour per noise level: real (0) blue, then orange -> dark red with the level."""
    levels = sorted({float(v) for v in levels})
    noisy = [v for v in levels if v > 0]
    idx = np.linspace(0, len(NOISE_RAMP) - 1, max(len(noisy), 1)).round().astype(int)
    colors = ([REAL] if 0.0 in levels else []) + [NOISE_RAMP[i] for i in idx[: len(noisy)]]
    return alt.Scale(domain=levels, range=colors)


def _empty(title: str) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"x": []})).mark_point().properties(title=title, width=W)


# -- 1. capacity --------------------------------------------------------------------------------
def capacity_chart(df: pd.DataFrame) -> alt.Chart:
    """Best validation accuracy vs hidden units (log), one line per noise level, randX | randY."""
    if df.empty:
        return _empty("Capacity vs noise")
    d = df.groupby(["panel", "level", "width"], as_index=False).agg(
        best_val_acc=("best_val_acc", "mean"),
        lo=("best_val_acc", "min"),
        hi=("best_val_acc", "max"),
        members=("member", "count"),
    )
    color = alt.Color("level:O", scale=level_scale(d["level"]), title="noise level")
    x = alt.X("width:Q", scale=alt.Scale(type="log", base=2), title="hidden units per layer")
    base = alt.Chart(d).encode(x=x, color=color)
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
    band = base.mark_errorbar().encode(y=alt.Y("lo:Q", title="best validation accuracy"), y2="hi:Q")
    return (
        (band + line)
        .properties(width=W, height=H)
        .facet(column=alt.Column("panel:N", title=None, sort=["randX", "randY"]))
        .properties(title="Capacity vs noise (mean over members, bars span them)")
    )


# -- 2. convergence -----------------------------------------------------------------------------
def convergence_chart(df: pd.DataFrame, normalized: bool = True) -> alt.Chart:
    """Epochs to 100% training accuracy (normalized by real data) vs size and vs width."""
    if df.empty:
        return _empty("Time to convergence")
    y = "normalized" if normalized else "epochs_to_fit"
    ytitle = "time / real-data time" if normalized else "epochs to 100% train accuracy"
    d = df.assign(reached=np.where(df["censored"], "censored (>=)", "reached"))
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
        line = alt.Chart(mean).mark_line().encode(x=x, y=alt.Y(f"{y}:Q", title=ytitle), color=color)
        pts = (
            alt.Chart(p)
            .mark_point(size=50, filled=False)
            .encode(
                x=x,
                y=f"{y}:Q",
                color=color,
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


# -- 3. easiness --------------------------------------------------------------------------------
def easiness_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Sorted P(correct) per setting (rank in [0, 1]) plus the Binomial(K, mean p of randX)/K
    reference as setting 'binomial'."""
    from memcore.metrics.easiness import binomial_reference

    parts = []
    for s, g in df.groupby("setting"):
        p = np.sort(g["p_correct"].to_numpy(float))
        parts.append(
            pd.DataFrame({"setting": s, "rank": (np.arange(len(p)) + 0.5) / len(p), "p_correct": p})
        )
    rx = df[df["setting"] == "randX"]
    if len(rx):
        k = int(rx["members"].iloc[0])
        ref = binomial_reference(k, float(rx["p_correct"].mean()))
        q = (np.arange(len(rx)) + 0.5) / len(rx)
        p = ref["p"].to_numpy()[np.searchsorted(np.cumsum(ref["pmf"].to_numpy()), q).clip(0, k)]
        parts.append(pd.DataFrame({"setting": "binomial", "rank": q, "p_correct": p}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def easiness_chart(df: pd.DataFrame) -> alt.Chart:
    if df.empty:
        return _empty("Easiness after one epoch")
    d = easiness_frame(df)
    scale = alt.Scale(domain=[*SETTINGS, "binomial"], range=[REAL, RANDX, RANDY, REFERENCE])
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
            tooltip=["setting", alt.Tooltip("p_correct:Q", format=".2f")],
        )
        .properties(width=2 * W, height=H, title="Easiness after one epoch")
    )


# -- 4-5. loss-sensitivity ----------------------------------------------------------------------
CURVE_SCALE = alt.Scale(domain=["real", "randX 50%", "randX 100%"], range=[REAL, RANDX, RANDY])


def sensitivity_chart(df: pd.DataFrame, variant: str = "gini") -> alt.Chart:
    """Gini of the running-mean loss-sensitivity over SGD steps; 10 classes | unique labels."""
    if df.empty:
        return _empty("Loss-sensitivity Gini")
    return (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="SGD steps"),
            y=alt.Y(f"{variant}:Q", title="Gini of loss-sensitivity"),
            color=alt.Color("curve:N", scale=CURVE_SCALE, title="data"),
            tooltip=["panel", "curve", "step", alt.Tooltip(f"{variant}:Q", format=".3f")],
        )
        .properties(width=W, height=H)
        .facet(column=alt.Column("panel:N", title="labels", sort=["class", "unique"]))
        .resolve_scale(x="independent", y="independent")
        .properties(title="Loss-sensitivity Gini")
    )


def class_sensitivity_chart(df: pd.DataFrame) -> alt.Chart:
    """Heatmap of the per-class loss-sensitivity matrix (log colour), real | randX."""
    if df.empty:
        return _empty("Per-class loss-sensitivity")
    d = df[df["value"] > 0]
    return (
        alt.Chart(d)
        .mark_rect()
        .encode(
            x=alt.X("input_class:O", title="inputs of class j"),
            y=alt.Y("loss_class:O", title="loss of class i"),
            color=alt.Color(
                "value:Q", scale=alt.Scale(type="log", scheme="viridis"), title="sensitivity"
            ),
            tooltip=["setting", "loss_class", "input_class", alt.Tooltip("value:Q", format=".3g")],
        )
        .properties(width=220, height=220)
        .facet(column=alt.Column("setting:N", title=None, sort=["real", "randX"]))
        .resolve_scale(color="independent")
        .properties(title="Per-class loss-sensitivity")
    )


# -- 6. critical sample ratio -------------------------------------------------------------------
def critical_chart(df: pd.DataFrame) -> alt.Chart:
    if df.empty:
        return _empty("Critical sample ratio")
    d = df.groupby(["setting", "epoch"], as_index=False).agg(
        csr=("csr", "mean"), lo=("csr", "min"), hi=("csr", "max"), iters=("iters", "max")
    )
    color = alt.Color("setting:N", scale=SETTING_SCALE)
    base = alt.Chart(d).encode(x=alt.X("epoch:Q", title="epoch"), color=color)
    band = base.mark_area(opacity=0.2).encode(y="lo:Q", y2="hi:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y("csr:Q", title="critical sample ratio"),
        tooltip=["setting", "epoch", alt.Tooltip("csr:Q", format=".3f"), "iters"],
    )
    return (band + line).properties(width=2 * W, height=H, title="Critical sample ratio")


def noise_levels_chart(df: pd.DataFrame) -> alt.Chart:
    """Rows: accuracy (train solid, validation dashed) and CSR; columns: randX | randY."""
    if df.empty:
        return _empty("Accuracy and CSR per noise level")
    d = df.groupby(["panel", "level", "epoch", "metric"], as_index=False)["value"].mean()
    color = alt.Color("level:O", scale=level_scale(d["level"]), title="noise level")
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
                tooltip=["level", "metric", "epoch", alt.Tooltip("value:Q", format=".3f")],
            )
            .properties(width=W, height=H * 0.8, title=f"{panel}: accuracy")
        )
        csr = (
            alt.Chart(p[p["metric"] == "csr"])
            .mark_line(point=True)
            .encode(
                x="epoch:Q",
                y=alt.Y("value:Q", title="critical sample ratio"),
                color=color,
                tooltip=["level", "epoch", alt.Tooltip("value:Q", format=".3f")],
            )
            .properties(width=W, height=H * 0.8, title=f"{panel}: CSR")
        )
        cols.append(alt.vconcat(acc, csr))
    return alt.hconcat(*cols).properties(title="Accuracy and CSR per noise level")


# -- 7. regularization --------------------------------------------------------------------------
def regularization_chart(df: pd.DataFrame) -> alt.Chart:
    """Tradeoff (x randY train acc, y best real val acc) per regularizer, and training curves."""
    from memcore.metrics.regularization import tradeoff

    if df.empty:
        return _empty("Regularization vs memorization")
    t = tradeoff(df)
    color = alt.Color("regularizer:N", scale=alt.Scale(scheme="tableau10"))
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
            tooltip=[
                "regularizer",
                "strength",
                alt.Tooltip("randY_train_acc:Q", format=".3f"),
                alt.Tooltip("real_best_val_acc:Q", format=".3f"),
            ],
        )
        .properties(width=2 * W, height=H + 40, title="Memorization vs generalization")
    )
    curves = (
        alt.Chart(df)
        .mark_line(opacity=0.8)
        .encode(
            x="epoch:Q",
            y=alt.Y("train_acc:Q", title="training accuracy"),
            color=color,
            detail="strength:N",
            tooltip=["regularizer", "strength", "epoch", alt.Tooltip("train_acc:Q", format=".3f")],
        )
        .properties(width=W, height=H * 0.8)
        .facet(column=alt.Column("data:N", title="training curves", sort=["randY", "real"]))
    )
    return alt.vconcat(trade, curves).properties(title="Regularization vs memorization")


# -- 8. sharpness and filters -------------------------------------------------------------------
def sharpness_chart(df: pd.DataFrame) -> alt.Chart:
    if df.empty:
        return _empty("Sharpness vs noise")
    color = alt.Color(
        "panel:N", scale=alt.Scale(domain=["randX", "randY"], range=[RANDX, RANDY]), title="noise"
    )
    y = alt.Y("sharpness:Q", title="top Hessian eigenvalue", scale=alt.Scale(type="log"))
    x = alt.X("level:Q", title="noise level", axis=alt.Axis(format="%"))
    mean = df.groupby(["panel", "level"], as_index=False)["sharpness"].mean()
    line = alt.Chart(mean).mark_line().encode(x=x, y=y, color=color)
    pts = (
        alt.Chart(df)
        .mark_point()
        .encode(
            x=x,
            y=y,
            color=color,
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


def filters_chart(df: pd.DataFrame, n_show: int = 16) -> alt.Chart:
    """Member 0's first n_show filters per setting, each scaled to its max |weight|."""
    if df.empty:
        return _empty("First-layer filters")
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


BUILDERS = {
    "capacity": capacity_chart,
    "convergence": convergence_chart,
    "easiness": easiness_chart,
    "sensitivity": sensitivity_chart,
    "class-sensitivity": class_sensitivity_chart,
    "critical": critical_chart,
    "noise-levels": noise_levels_chart,
    "regularization": regularization_chart,
    "sharpness": sharpness_chart,
    "filters": filters_chart,
}


def chart(name: str, df: pd.DataFrame) -> alt.TopLevelMixin:
    """The figure of experiment `name` from its recipe frame."""
    return BUILDERS[name](df)
