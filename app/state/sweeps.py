"""The app's door to figure sweeps (part of app.state, re-exported there): progress, the
figure's frame and verdict from the stored runs, a sweep sent to a Dask cluster, and which
figures a stored run belongs to."""

from __future__ import annotations

import streamlit as st

from app.state import store, store_path
from memcore import demo
from memcore.figures import FIGURES
from memcore.figures.figure import SCALES
from memcore.sweeps import sweep as figure_sweep


@st.cache_resource(show_spinner=False)
def _memo(path: str) -> dict:
    """Finished runs already read (key -> RunData); shared by sessions: finished runs are fixed."""
    return {}


def sweep_progress(name: str, dataset: str, scale: str) -> figure_sweep.Progress:
    """How far the figure's sweep is: counts per status over its grid."""
    return figure_sweep.progress(name, dataset, scale, store())


def evaluate_sweep(
    name: str, dataset: str, scale: str, partial: bool = False
) -> figure_sweep.FigureResult:
    """The figure's frame and verdict from the runs stored so far (finished runs read once);
    partial: running runs' records so far are drawn too (memcore.sweeps.sweep.collect)."""
    memo = _memo(store_path())
    return figure_sweep.evaluate(name, dataset, scale, store(), memo=memo, partial=partial)


def start_cluster_sweep(name: str, dataset: str, scale: str, scheduler: str) -> dict:
    """Check the Dask scheduler answers, then start the sweep's driver process (it queues the
    runs, sends each to the cluster and stores the results here): {scheduler, dashboard, pid,
    log}. ValueError in a demo (sweeps run on the app's own workers there)."""
    from memcore.sweeps import dask_backend

    if demo.limits().active:
        raise ValueError("this demo runs sweeps on its own workers only")
    link = dask_backend.check(scheduler)
    proc, log = dask_backend.start_driver(name, dataset, scale, scheduler, store())
    return {"scheduler": scheduler, "dashboard": link, "pid": proc.pid, "log": str(log)}


@st.cache_resource(show_spinner=False)
def _figure_keys() -> dict[str, tuple[str, ...]]:
    # every figure's grid on every dataset and scale: fixed by the code, so built once (~2 s)
    out: dict[str, tuple[str, ...]] = {}
    for name, r in FIGURES.items():
        for dataset in r.datasets:
            for scale in SCALES:
                for key in {s.key for s in r.grid(dataset, scale)}:
                    if name not in out.get(key, ()):
                        out[key] = (*out.get(key, ()), name)
    return out


def figures_of(key: str) -> tuple[str, ...]:
    """The paper figures whose sweep has run `key` (empty: a run of the user's own)."""
    return _figure_keys().get(key, ())
