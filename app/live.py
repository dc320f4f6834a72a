"""Show one run: status, progress, errors and its charts, redrawn live while it runs.

`show_run(key)` draws a fragment that re-reads the store once a second while the run is queued
or running (`st.fragment(run_every=1s)`) and stops polling when it ends: the fragment triggers
one full rerun, which redefines it with run_every=None. Charts are redrawn whole from stored
records each tick (cheap at these sizes; `add_rows` is being deprecated).
"""

from __future__ import annotations

import dataclasses
import time

import streamlit as st

from app import errors, eta, state, views
from memcore.spec import RunSpec
from memcore.spec.words import describe

POLL_S = 1.0
TILES = 4  # metric tiles per row
ICONS = {
    "queued": ":material/hourglass_top:",
    "running": ":material/directions_run:",
    "done": ":material/check_circle:",
    "failed": ":material/error:",
    "cancelled": ":material/cancel:",
}


def _eta(seconds: float | None) -> str:
    return eta.text(seconds)


def _with_eta(js, spec: RunSpec):
    """`js` with its ETA from the run's records (app/eta.py), counted down since this session
    first saw the last record (the records say when work happened, not what time it is now).
    A sensitivity run (steps of one kind) keeps the store's estimate."""
    if spec.task == "sensitivity" or js.status != "running":
        return js
    left = run_view(js.key, state.token(js), state.store_path()).get("work_left")
    if left is not None:
        token, seen = st.session_state.get(f"eta:{js.key}", (None, 0.0))
        if token != state.token(js):  # a new record: count down from now
            token, seen = st.session_state[f"eta:{js.key}"] = (state.token(js), time.time())
        left = max(0.0, left - (time.time() - seen))
    return dataclasses.replace(js, eta=left)


def show_run(key: str) -> None:
    """Draw run `key`; poll once a second while it is active."""
    js = state.status(key)
    if js is None:
        st.info(f"This configuration has not been run yet. {state.run_hint()}")
        return
    every = POLL_S if js.status in ("queued", "running") else None

    @st.fragment(run_every=every)
    def panel() -> None:
        now = state.status(key)
        if now is None:
            st.warning("This run was deleted.")
            return
        with errors.guarded("Could not draw this run"):
            draw(now)
        if every is not None and now.status not in ("queued", "running"):
            st.rerun()  # the run ended: redraw the page once with polling off

    panel()


def draw(js) -> None:
    """Status line, progress or error, metrics and every chart the run has data for."""
    spec = state.spec_of(js.key)
    if spec is None:
        st.warning("This run was deleted.")
        return
    st.markdown(f"**{ICONS.get(js.status, '')} {js.status}** · {describe(spec)}")
    st.caption(f"run key {js.key[:12]} · attempts {js.attempts}")
    if js.status == "failed":
        st.error(
            f"The run failed: {errors.message(str(js.error))}\n\nChange the values and press "
            "Run to retry."
        )
        errors.traceback_expander(js.traceback)  # not in a public demo: it names server paths
    elif js.status == "cancelled":
        st.warning(f"Cancelled at epoch {js.epoch:g}. Press Run to resume it.")
    elif js.status == "queued":
        alive = state.workers_alive()
        where = "next in line" if js.queue_position == 0 else f"position {js.queue_position}"
        msg = f"Queued ({where}); waiting for a worker."
        if not alive:
            msg += " No worker is alive: start one with `python -m memcore worker`."
        st.info(msg)
    js = _with_eta(js, spec)
    if js.status in ("queued", "running"):
        epochs = js.epochs or spec.train.epochs
        bar, stop = st.columns([6, 1], vertical_alignment="bottom")
        bar.progress(min(1.0, js.fraction), text=f"epoch {js.epoch:g} / {epochs} · {_eta(js.eta)}")
        if stop.button("Cancel", key=f"cancel:{js.key}", help="Stop this run within an epoch"):
            try:
                state.cancel(js.key)
                st.rerun()
            except (ValueError, state.StoreError) as e:  # not their run (demo); read-only store
                errors.error("Not cancelled", e)
    view = run_view(js.key, state.token(js), state.store_path())
    layout(view, js)


@st.cache_data(show_spinner=False, max_entries=64)
def run_view(key: str, token: str, path: str) -> dict:
    """Metrics, Vega-Lite specs and notes of a run at `token`, cached: a finished run reopens
    without rebuilding a chart, a running one rebuilds once per new epoch."""
    spec = state.spec_of(key)
    recs = state.records(key, token)
    has_arrays = any(r.get("type") == "arrays" for r in recs)
    arrays = state.arrays(key, token) if has_arrays else {}
    build = views.sensitivity_view if spec.task == "sensitivity" else views.training_view
    view = build(recs, arrays, spec)
    # unvalidated: the chart tests validate every chart; here validation cost a third of the time
    view["charts"] = {name: c.to_dict(validate=False) for name, c in view["charts"].items()}
    return view


def _metric(col, label: str, value) -> None:
    if not isinstance(value, str):
        value = f"{value:.3f}" if value is not None else "–"
    col.metric(label, value, help=views.METRIC_HELP.get(label))


def _chart(view: dict, name: str) -> None:
    st.vega_lite_chart(view["charts"][name], width="stretch")
    st.caption(views.CAPTIONS[name])


def layout(view: dict, js) -> None:
    """Metrics row, then charts two by two (easiness full width), then notes."""
    metrics = dict(view["metrics"])
    if "Epoch" in metrics:
        metrics["Duration"] = f"{js.duration:.1f} s" if js.duration else "–"
    items = list(metrics.items())
    for start in range(0, len(items), TILES):  # rows of TILES: seven in one row were cut at 1024 px
        row = items[start : start + TILES]
        for col, (label, value) in zip(st.columns(TILES), row, strict=False):
            _metric(col, label, value)
    have = view["charts"]
    rows = [("accuracy", "csr"), ("easiness",), ("data_map", "forgetting"), ("gini", "heatmap")]
    for row in rows:
        names = [n for n in row if n in have]
        if not names:
            continue
        cols = st.columns(len(row)) if len(row) > 1 else [st.container()]
        for col, name in zip(cols, names, strict=False):
            with col:
                _chart(view, name)
    for note in view["notes"]:
        st.caption(note)
    if view["waiting"] and js.status in ("queued", "running"):  # a failed run shows its error
        st.caption(view["waiting"])


def show_pair(pair: dict[str, RunSpec]) -> None:
    """Loss-sensitivity runs side by side ({setting: spec}): one Gini chart with a curve per
    setting, then each run's status and class heatmap in its own column; polls while any runs."""
    keys = {label: s.key for label, s in pair.items()}
    every = POLL_S if any(_active(k) for k in keys.values()) else None

    @st.fragment(run_every=every)
    def panel() -> None:
        now = {label: state.status(k) for label, k in keys.items()}
        recs = {label: state.records(keys[label], state.token(js)) for label, js in now.items()
                if js is not None}  # fmt: skip
        with errors.guarded("Could not draw the loss-sensitivity runs"):
            gini = views.gini_pair(recs, pair)
            if gini is not None:
                st.vega_lite_chart(gini, width="stretch")
                st.caption(views.CAPTIONS["gini"])
            for col, (label, js) in zip(st.columns(len(now)), now.items(), strict=True):
                with col:
                    if js is None:
                        st.caption(f"**{label}**: not run yet.")
                        continue
                    st.markdown(f"**{label}** · {ICONS.get(js.status, '')} {js.status}")
                    view = run_view(js.key, state.token(js), state.store_path())
                    if "heatmap" in view["charts"]:
                        _chart(view, "heatmap")
                    elif js.status == "failed":
                        st.error(f"The run failed: {errors.escape(str(js.error))}")
        if every is not None and not any(_active(k) for k in keys.values()):
            st.rerun()  # every run ended: redraw once with polling off

    panel()


def _active(key: str) -> bool:
    js = state.status(key)
    return js is not None and js.status in ("queued", "running")
