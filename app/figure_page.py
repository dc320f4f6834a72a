"""One page per paper figure of memcore.figures.FIGURES (app/main.py makes them
with `page(name)`): controls for dataset and scale, the set-up line, Run sweep (submits the figure's
specs through the jobs API, or with a Dask scheduler address starts a driver that runs them on
that cluster: memcore/sweeps/dask_backend.py), an overall progress bar, the figure drawn from the
runs finished so far (a fragment re-reads the store every couple of seconds while runs are queued
or running), the claim with its verdict, and how to read it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import streamlit as st

from app import errors, figure_knobs, state, views
from charts import figures
from charts.style import VERDICT_LEGEND
from memcore import demo, settings
from memcore.datasets import OFFLINE_DATASETS
from memcore.figures import get, glossary

POLL_S = 2.0
SCALE_HELP = (
    "quick: offline data on a laptop CPU (minutes); paper: the paper's sizes (MNIST / CIFAR-10, "
    "wants a GPU); test: tiny smoke-test sizes (seconds, results not meaningful)"
)
VERDICT_BOX = {"holds": st.success, "fails": st.error, "inconclusive": st.warning}
VERDICT_TEXT = {"holds": "The claim holds", "fails": "The claim does not hold",
                "inconclusive": "Not enough evidence"}  # fmt: skip
SCALE = 1.6  # the poster-sized figure (panels of 280 px) grown to fill a wide page


def url_path(name: str) -> str:
    """The page's URL path: /fig_capacity, /fig_class_sensitivity, ... (links stay valid)."""
    return "fig_" + name.replace("-", "_")


def page(name: str) -> st.Page:
    """The navigation entry of figure `name`: at /url_path(name), titled like 'Noise levels'.
    Its page hash comes from the URL path, so a fresh `page(name)` also serves st.page_link."""
    return st.Page(
        partial(show, name),
        title=name.replace("-", " ").capitalize(),
        icon=":material/insert_chart:",
        url_path=url_path(name),
    )


@st.cache_data(ttl=60, show_spinner=False)
def _missing(dataset: str) -> str | None:
    """A message when the dataset's files are not in the data folder, else None."""
    from memcore.data import files

    for a in files.availability():
        if a.name == dataset and a.status == "missing":
            return (
                f"{dataset} is not in the data folder: put {', '.join(a.files)} into "
                f"`{a.folder}` (or let the workers download it when online); its runs fail "
                "otherwise."
            )
    return None


def controls(name: str, datasets: tuple[str, ...] | None = None) -> tuple[str, str]:
    """Dataset and scale pickers (kept in the URL as ?dataset=..&scale=..)."""
    datasets = datasets or get(name).datasets
    qp = st.query_params
    options = [d for d in (*OFFLINE_DATASETS, *state.dataset_names()) if d in datasets]
    options = list(dict.fromkeys(options))
    ds0 = qp.get("dataset", options[0])
    sc0 = qp.get("scale", "quick")
    c1, c2 = st.columns(2)
    dataset = c1.selectbox(
        "dataset", options, index=options.index(ds0) if ds0 in options else 0, key=f"{name}-ds"
    )
    scales = ["quick", "paper", "test"]
    scale = c2.radio(
        "scale",
        scales,
        index=scales.index(sc0) if sc0 in scales else 0,
        horizontal=True,
        help=SCALE_HELP,
        key=f"{name}-scale",
    )
    st.query_params.update({"dataset": dataset, "scale": scale})
    return dataset, scale


def scaled(spec: Any, factor: float) -> Any:
    """A Vega-Lite spec with every view's width and height times `factor` (data untouched)."""
    if isinstance(spec, list):
        return [scaled(s, factor) for s in spec]
    if not isinstance(spec, dict):
        return spec
    out = {}
    for k, v in spec.items():
        if k in ("width", "height") and isinstance(v, int | float) and not isinstance(v, bool):
            out[k] = round(v * factor)
        elif k in ("data", "datasets"):
            out[k] = v
        else:
            out[k] = scaled(v, factor)
    return out


def verdict_box(name: str, result) -> None:
    """The verdict, once every run has finished; "running" and "not run" say so instead."""
    if result.state == "not run":
        return  # the progress line already asks to press Run sweep
    if result.state == "running":
        p = result.progress
        st.info(
            f"**Running** ({p.done} of {p.total} runs done): the verdict comes when every run "
            "has finished. The figure draws each run's records as they arrive."
        )
        return
    v = result.verdict
    VERDICT_BOX[v.verdict](f"**{VERDICT_TEXT[v.verdict]}** ({v.verdict}). {v.summary}")
    st.dataframe(
        views.verdict_parts(v.to_dict()),
        hide_index=True,
        width="stretch",
        column_config={"found": st.column_config.TextColumn(width="large")},
    )
    st.caption(f"Symbols: {VERDICT_LEGEND}. {views.SYMBOLS_NOTE}")
    for what, o in v.observations.items():  # not the claim: never changes the verdict
        st.caption(f"Observed ({what}): {o.summary}")
    figure_knobs.second_stage(result.figure, v, result.dataset, result.scale)
    rows = glossary.verdict_rows(name, v.to_dict())
    if rows:
        with st.expander("Numbers behind the verdict, each defined"):
            st.dataframe(
                rows,
                hide_index=True,
                width="stretch",
                row_height=60,
                column_config={
                    "number": st.column_config.TextColumn(width="small"),
                    "for": st.column_config.TextColumn(width="small"),
                    "value": st.column_config.TextColumn(width="small"),
                    "definition": st.column_config.TextColumn(width="large"),
                },
            )


def show(name: str) -> None:
    fig = get(name)
    st.title(fig.title)
    st.caption(f"{fig.paper_figure} · Arpit et al., ICML 2017")
    st.info(f"**Claim** ({fig.source_text}). {fig.claim}")
    dataset, scale = controls(name)
    with errors.guarded("Could not build this figure's runs"):
        fig = figure_knobs.controls(fig, dataset, scale)
        st.caption(f"Set-up: {fig.setup_text(dataset, scale)}")
        if dataset not in OFFLINE_DATASETS and (msg := _missing(dataset)):
            st.warning(msg)
        n = len(fig.grid(dataset, scale))
        scheduler = cluster_field(name)
        if st.button(f"Run sweep ({n} runs)", type="primary", key=f"{name}-run"):
            with errors.guarded("Could not submit the sweep"):
                if scheduler and fig.knobs:
                    raise ValueError("changed knobs are not sent to a Dask cluster: reset them")
                if scheduler:
                    run_on_cluster(name, dataset, scale, scheduler)
                else:
                    state.submit_sweep(fig, dataset, scale)
                    state.ensure_workers(force=True)
                st.toast(f"Submitted {n} runs; finished ones are reused.")
        cluster_status(name)
        live(fig, dataset, scale)
    st.markdown(f"**How to read it.** {fig.how_to_read}")


def cluster_field(name: str) -> str:
    """The Dask scheduler address to run the sweep on ("" = this machine's workers); never
    shown in demo or read-only mode, where sweeps use the app's own workers only."""
    if demo.limits().active:
        return ""
    default = settings.get("MEMCORE_DASK_SCHEDULER") or ""
    with st.expander("Advanced", expanded=bool(default)):
        return st.text_input(
            "Dask scheduler (optional)",
            value=default,
            placeholder="tcp://HOST:8786",
            help="Compute this sweep's missing runs on a Dask cluster; results are stored here "
            "and appear below as they finish. Empty: this machine's workers.",
            key=f"{name}-scheduler",
        ).strip()


def run_on_cluster(name: str, dataset: str, scale: str, scheduler: str) -> None:
    """Check the scheduler answers, then start the sweep's driver process (it queues the runs,
    sends each to the cluster and stores the results here); remembered for cluster_status."""
    st.session_state[f"{name}-dask"] = state.start_cluster_sweep(name, dataset, scale, scheduler)


def cluster_status(name: str) -> None:
    """Where the sweep started from this session runs: the cluster and its dashboard link."""
    run = st.session_state.get(f"{name}-dask")
    if not run:
        return
    dash = f" · [Dask dashboard]({run['dashboard']})" if run["dashboard"] else ""
    st.markdown(f"Sweep sent to the Dask cluster at `{run['scheduler']}`{dash}")
    st.caption(f"Driver process {run['pid']}, log `{run['log']}`")


def live(fig, dataset: str, scale: str) -> None:
    """Progress, figure and verdict; polls while any run of the sweep is queued or running."""
    name = fig.name
    prog = state.sweep_progress(fig, dataset, scale)  # the tuned figure (its knobs)
    active = prog.active

    @st.fragment(run_every=POLL_S if active else None)
    def panel() -> None:
        now = state.sweep_progress(fig, dataset, scale)
        still = now.active
        if now.counts.get("missing") == now.total:
            st.info("None of this sweep's runs is stored yet: press **Run sweep**.")
        else:
            st.progress(min(1.0, now.fraction), text=now.text())
        if still and not state.workers_alive():
            st.warning("Runs are queued but no worker is alive: start `python -m memcore worker`.")
        with st.spinner("Reading the stored runs (filters: replaying final weights once) ..."):
            result = state.evaluate_sweep(fig, dataset, scale, partial=still)
        for e in result.errors:
            st.error(f"A run failed: {e}")
        if not result.frame.empty:
            with errors.guarded("Could not draw the figure"):
                spec = scaled(figures.chart(name, result.frame).to_dict(), SCALE)
                st.vega_lite_chart(spec, width="content", theme=None)  # the poster look, larger
        verdict_box(name, result)
        if active and not still:
            st.rerun()  # the sweep ended: redraw once with polling off

    panel()
