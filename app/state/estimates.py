"""The app's estimate of a run's cost (part of app.state, re-exported there): the cost model's
figure on this server's device, and its time as a range calibrated on the runs measured here."""

from __future__ import annotations

import streamlit as st

from app import eta
from app.state import api, device, spec_of, store, store_path
from memcore.engine import cost
from memcore.spec import RunSpec


def estimate(spec: RunSpec) -> cost.Cost:
    """The run's estimated cost on the device its workers would use here (engine.cost)."""
    where = device() if spec.train.device == "auto" else spec.train.device
    return cost.estimate(spec, where)


def estimate_text(spec: RunSpec) -> str:
    """The run's cost with a time range calibrated on this machine's measured runs of the same
    task (app/eta.py: the model alone was 1.3-3.6x below measured durations)."""
    c = estimate(spec)
    time_range = eta.range_text(c.seconds, _ratios(spec.task, store_path(), c.device))
    size = c.describe().split(", about ")[0]  # "≈ 2.1 TFLOP, 310 MB"
    return f"{time_range} on {c.device} · {size}"


@st.cache_data(ttl=30, show_spinner=False)
def _ratios(task: str, path: str, where: str) -> list[float]:
    """measured / estimated seconds of the newest done runs of `task` (app.eta.ratios)."""
    pairs = []
    for row in api.list_runs(store(), status="done", task=task, limit=4 * eta.CALIBRATE_ON):
        spec = spec_of(row["key"])
        if spec is not None and row.get("duration"):
            pairs.append((cost.estimate(spec, where).seconds, float(row["duration"])))
    return eta.ratios(pairs)
