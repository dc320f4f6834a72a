"""Reproduction report: every paper claim with its verdict on the stored runs, links to each
figure's page, a button that queues every sweep, and the report as a standalone file."""

import pandas as pd
import streamlit as st

from app import errors, figure_page, state
from charts import report as rep
from memcore.figures import FIGURES

st.title("Reproduction report")
st.caption(
    "Each row is one claim of Arpit et al. (ICML 2017) checked on the runs stored so far. "
    "Verdicts say what these runs show, not what the paper says."
)
dataset, scale = figure_page.controls("report", state.dataset_names())

total = sum(len(r.grid(dataset, scale)) for r in FIGURES.values() if dataset in r.datasets)
if st.button(f"Run every sweep ({total} runs; finished ones are reused)", type="primary"):
    with errors.guarded("Could not submit the sweeps"):
        for r in FIGURES.values():
            if dataset in r.datasets:
                state.submit_sweep(r, dataset, scale)
        state.ensure_workers(force=True)
        st.toast("Submitted; each figure's page shows its progress.")

results = []
with errors.guarded("Could not read the stored runs"):
    for name, r in FIGURES.items():
        if dataset in r.datasets:
            results.append(state.evaluate_sweep(name, dataset, scale))

rows = [
    {
        "figure": res.figure.title,
        "paper figure": res.figure.paper_figure,
        "verdict": res.state,
        "summary": res.verdict.summary if res.state not in ("not run", "running") else "",
        "runs done": f"{res.progress.done}/{res.progress.total}",
        "wall s": round(res.wall),
    }
    for res in results
]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

st.subheader("Figure pages")
cols = st.columns(2)
for i, res in enumerate(results):
    with cols[i % 2]:
        st.page_link(
            figure_page.page(res.figure.name),
            label=f"{res.figure.title}: {res.state}",
            icon=":material/insert_chart:",
        )

st.subheader("Export")
st.caption("A standalone file with every figure embedded (HTML: SVG; Markdown: PNG).")
fmt = st.radio("format", ["html", "md"], horizontal=True)
if st.button("Build report file"):
    with errors.guarded("Could not build the report"), st.spinner("Rendering figures ..."):
        st.session_state["report_file"] = (fmt, rep.render(results, fmt=fmt))
if "report_file" in st.session_state:
    f, text = st.session_state["report_file"]
    st.download_button(
        f"Download report.{f}",
        text,
        file_name=f"report-{dataset}-{scale}.{f}",
        mime="text/html" if f == "html" else "text/markdown",
    )
