"""Runs: every stored run in a table (named, tagged, grouped by the paper figure whose sweep
made it); filter, compare curves (the comparison lives in the URL), name and annotate, cancel or
delete, export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app import errors, links, live, state, tracker
from memcore.spec.words import describe

PAGES = Path(__file__).resolve().parent
EXPLORE, EXAMPLES = PAGES / "explore.py", PAGES / "examples.py"
OWN = "(own runs)"
st.title("Runs")

try:
    rows = state.list_runs()
except Exception as e:  # an unreadable store must not crash the page
    errors.error("Could not read the run store", e)
    st.stop()

if not rows:
    st.info("No runs stored yet. Start one on the **Explore** page.")
    st.stop()


def table(rows: list[dict]) -> pd.DataFrame:
    """One row per run with the columns a person compares runs by; own runs first, then each
    figure's sweep together (newest first within a group)."""
    df = pd.DataFrame(rows)

    def col(name: str) -> pd.Series:
        return df[name] if name in df else pd.Series([None] * len(df))

    reg = col("train.regularizer").where(
        col("train.regularizer") == "none",
        col("train.regularizer") + " " + col("train.strength").astype(str),
    )
    figure = df["key"].map(lambda k: ", ".join(state.figures_of(k)) or OWN)
    out = pd.DataFrame(
        {
            "name": col("name").fillna(""),
            "tags": col("tags").map(lambda t: ", ".join(t) if isinstance(t, list) else ""),
            "figure": figure,
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
    order = out["figure"].ne(OWN).astype(int)  # stable: newest first within each group
    return out.assign(_o=order).sort_values(["_o", "figure"], kind="stable").drop(columns="_o")


df = table(rows)
tag_options = sorted({t for r in rows for t in (r.get("tags") or [])})
c1, c2, c3, c4, c5 = st.columns(5)
picks = {
    "status": c1.multiselect("Status", sorted(df["status"].unique()), key="runs:status"),
    "dataset": c2.multiselect(
        "Dataset", sorted(df["dataset"].dropna().unique()), key="runs:dataset"
    ),
    "noise": c3.multiselect("Noise", sorted(df["noise"].dropna().unique()), key="runs:noise"),
    "figure": c4.multiselect("Figure", sorted(df["figure"].unique()), key="runs:figure"),
}
tags = c5.multiselect("Tags", tag_options, key="runs:tags")
keep = pd.Series(True, index=df.index)
for column, chosen in picks.items():
    if chosen:
        keep &= df[column].isin(chosen)
if tags:
    keep &= df["tags"].map(lambda t: bool(set(t.split(", ")) & set(tags)))
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
        "key": st.column_config.TextColumn(width="small"),
    },
)
st.caption(
    f"{len(view)} of {len(df)} runs; own runs first, then each figure's sweep. Accuracies and "
    "CSR: mean over members at the end."
)

names = dict(zip(df["key"], df["name"], strict=True))
labels = {
    r.key: f"{r.name + ' · ' if r.name else ''}{r.key[:8]} · {r.status} · {r.dataset} · "
    f"{r.noise} {r.level:g} · w{r.width}"
    for r in view.itertuples()
}

st.subheader("Compare")
tracker.read_url(list(df["key"]))
tracker.comparison(view, labels, names)

st.subheader("One run")
one = st.selectbox("Run", list(labels), format_func=labels.get, key="runs:one")
if one:
    spec = state.spec_of(one)
    if spec is not None:
        st.page_link(
            EXPLORE,
            label=f"Open in Explore: {describe(spec)}",
            icon=":material/open_in_new:",
            query_params=links.short_params(spec),
        )
        if spec.task == "train":
            st.page_link(
                EXAMPLES,
                label="Its examples: easiest, hardest, most forgotten, critical samples",
                icon=":material/image:",
                query_params={"run": one[:12]},
            )
    row = next(r for r in rows if r["key"] == one)
    tracker.notes_form(one, {k: row.get(k) or "" for k in ("name", "tags", "note")})
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
