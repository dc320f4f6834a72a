"""Runs: every stored run in a table; filter, compare curves, cancel/delete, export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app import errors, links, live, runframes, state, views
from charts import compare, export

PAGES = Path(state.__file__).resolve().parents[1] / "pages"
EXPLORE, EXAMPLES = PAGES / "explore.py", PAGES / "examples.py"
st.title("Runs")

try:
    rows = state.list_runs()
except Exception as e:  # an unreadable store must not crash the page
    st.error(f"Could not read the run store: {e}")
    st.stop()

if not rows:
    st.info("No runs stored yet. Start one on the **Explore** page.")
    st.stop()


def table(rows: list[dict]) -> pd.DataFrame:
    """One row per run with the columns a person compares runs by."""
    df = pd.DataFrame(rows)

    def col(name: str) -> pd.Series:
        return df[name] if name in df else pd.Series([None] * len(df))

    reg = col("train.regularizer").where(
        col("train.regularizer") == "none",
        col("train.regularizer") + " " + col("train.strength").astype(str),
    )
    return pd.DataFrame(
        {
            "status": df["status"],
            "dataset": col("data.dataset"),
            "task": col("task"),
            "noise": col("noise.kind"),
            "level": col("noise.level"),
            "width": col("model.width"),
            "depth": col("model.depth"),
            "regularizer": reg,
            "members": col("train.members"),
            "epochs": col("train.epochs"),
            "train acc": col("summary.final_train_acc"),
            "val acc": col("summary.final_val_acc"),
            "CSR": col("summary.final_csr"),
            "duration (s)": col("duration"),
            "submitted": pd.to_datetime(col("submitted"), unit="s").dt.strftime("%m-%d %H:%M"),
            "key": df["key"],
        }
    )


def export_csv(keys: list[str]) -> str:
    """Scalar records (epoch, csr, sharpness, sens, done) of the runs, one CSV with key+type."""
    parts = []
    for k in keys:
        js = state.status(k)
        recs = state.records(k, state.token(js)) if js else []
        recs = [r for r in recs if r["type"] not in ("meta", "arrays")]
        parts.append(pd.DataFrame(recs).assign(key=k))
    return pd.concat(parts, ignore_index=True).to_csv(index=False) if parts else ""


df = table(rows)
c1, c2, c3 = st.columns(3)
statuses = c1.multiselect("Status", sorted(df["status"].unique()), key="runs:status")
dsets = c2.multiselect("Dataset", sorted(df["dataset"].dropna().unique()), key="runs:dataset")
kinds = c3.multiselect("Noise", sorted(df["noise"].dropna().unique()), key="runs:noise")
keep = pd.Series(True, index=df.index)
for column, chosen in (("status", statuses), ("dataset", dsets), ("noise", kinds)):
    if chosen:
        keep &= df[column].isin(chosen)
view = df[keep]
st.dataframe(
    view,
    hide_index=True,
    column_config={
        "level": st.column_config.NumberColumn(format="%.2f"),
        "train acc": st.column_config.ProgressColumn(min_value=0, max_value=1, format="%.3f"),
        "val acc": st.column_config.ProgressColumn(min_value=0, max_value=1, format="%.3f"),
        "CSR": st.column_config.NumberColumn(format="%.4f"),
        "duration (s)": st.column_config.NumberColumn(format="%.1f"),
    },
)
st.caption(f"{len(view)} of {len(df)} runs. Accuracies and CSR: mean over members at the end.")

labels = {
    r.key: f"{r.key[:8]} · {r.status} · {r.dataset} · {r.noise} {r.level:g} · w{r.width}"
    for r in view.itertuples()
}


def full_label(key: str) -> str:
    """A legend label that tells runs apart: every setting that matters, then the key."""
    spec = state.spec_of(key)
    return f"{views.describe(spec)} · {key[:6]}" if spec is not None else key[:8]


st.subheader("Compare")
done = view[view["status"] == "done"]
# training runs first: a default overlay of only sensitivity runs would have no accuracy
default = list(done[done["task"] == "train"]["key"][:3]) or list(done["key"][:3])
picked = st.multiselect(
    "Runs to overlay", list(labels), default=default, format_func=labels.get, key="runs:pick"
)
runs = {
    full_label(k): (spec, state.records(k, state.token(js)))
    for k in picked
    if (js := state.status(k)) is not None and (spec := state.spec_of(k)) is not None
}
have = [m for m in runframes.METRICS if any(m in runframes.available(r) for _, r in runs.values())]
if not picked:
    st.caption("Pick runs above to overlay their curves.")
elif not have:
    st.info("The picked runs have no evaluations yet: their curves appear once they do.")
if have:
    if st.session_state.get("runs:metric") not in have:
        st.session_state.pop("runs:metric", None)  # a metric none of the picked runs has
    c1, c2, c3 = st.columns(3)
    metric = c1.selectbox("Metric", have, key="runs:metric")
    color_by = c2.selectbox("Colour by", ["run", *runframes.SETTINGS], key="runs:color")
    facet = c3.selectbox("Panels by", ["none", *runframes.SETTINGS], key="runs:facet")
    c4, c5, c6, c7 = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
    smoothing = c4.selectbox("Smoothing", runframes.SMOOTHING, key="runs:smooth")
    amount = 0.0
    if smoothing == "EMA":
        amount = c5.slider("EMA weight on the past", 0.0, 0.95, 0.6, 0.05, key="runs:ema")
    elif smoothing == "rolling mean":
        amount = c5.slider("Window (evaluations)", 2, 20, 3, key="runs:window")
    log_y = c6.checkbox("Log y", key="runs:logy")
    log_x = c7.checkbox("Log epochs", key="runs:logx")
    curves, missing = runframes.compare_frame(runs, metric, smoothing, amount)
    overlay = compare.overlay_chart(
        curves, metric, color_by, None if facet == "none" else facet, log_y, log_x
    )
    st.altair_chart(overlay, width="stretch" if facet == "none" else "content")
    st.caption(
        "Lines: mean over each run's members; bands: min to max over members"
        + (f"; each member's curve smoothed first ({smoothing})." if amount else ".")
    )
    if missing:
        sens = [r for r in missing if "sensitivity task" in r]
        why = (
            " Sensitivity-task runs record the loss-sensitivity Gini: pick that metric."
            if sens
            else ""
        )
        st.caption(f"Not drawn, no {metric}: " + "; ".join(missing) + "." + why)
    b1, b2, b3 = st.columns(3)
    b1.download_button(
        "Records (CSV)",
        lambda: export_csv(picked),
        file_name="records.csv",
        mime="text/csv",
        on_click="ignore",
    )
    b2.download_button(
        "Chart (PNG)",
        lambda: export.export_image(overlay, "png"),
        file_name="compare.png",
        mime="image/png",
        on_click="ignore",
    )
    b3.download_button(
        "Chart (SVG)",
        lambda: export.export_image(overlay, "svg"),
        file_name="compare.svg",
        mime="image/svg+xml",
        on_click="ignore",
    )


st.subheader("One run")
one = st.selectbox("Run", list(labels), format_func=labels.get, key="runs:one")
if one:
    spec = state.spec_of(one)
    if spec is not None:
        st.page_link(
            EXPLORE,
            label=f"Open in Explore: {views.describe(spec)}",
            icon=":material/open_in_new:",
            query_params=links.short_params(spec),
        )
        if spec.task == "train":
            st.page_link(
                EXAMPLES,
                label="Its examples: easiest, hardest, most forgotten, critical samples",
                icon=":material/image:",
                query_params={"run": one},
            )
    a, b, _ = st.columns([1, 1, 4])
    try:
        if a.button("Cancel", key="runs:cancel", help="Stop a queued or running run"):
            st.toast(f"{one[:8]}: {state.cancel(one)}")
            st.rerun()
        if b.button("Delete", key="runs:delete", help="Remove the run and its files"):
            state.delete(one)
            st.toast(f"Deleted {one[:8]}")
            st.rerun()
    except (ValueError, state.StoreError) as e:  # not their run (demo); a read-only or full store
        errors.error("Not done", e)
    live.show_run(one)
