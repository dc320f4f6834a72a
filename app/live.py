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

from app import errors, eta, runframes, state
from charts import per_example, sensitivity, training
from memcore.spec import RunSpec
from memcore.spec.words import describe, setting
from memcore.store import StoreError

POLL_S = 1.0
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
            f"The run failed: {errors.message(str(js.error))}\n\nChange the settings and press "
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
            except (ValueError, StoreError) as e:  # not their run (demo); read-only store
                errors.error("Not cancelled", e)
    view = run_view(js.key, state.token(js), state.store_path())
    layout(view, js)


CAPTIONS = {
    "accuracy": "Lines: mean over members; band: min to max. Clean examples learned long before "
    "noisy ones = patterns first, then memorization. Dashed: validation (clean data).",
    "csr": "Share of probe points with an adversarial example within the radius (LASS). "
    "Higher = a more complex decision surface; noise tends to raise it.",
    "easiness": "Per tracked example, the share of members that classify it correctly after one "
    "epoch. Dashed: the binomial reference (every example equally easy). Real data spreads "
    "wider than the reference.",
    "data_map": "Each dot is a tracked example: mean P(its label) over epochs (up) against how "
    "much it varied (right). Noisy examples sit low: hard to learn.",
    "forgetting": "How often an example went from correct to wrong between epochs, as a share "
    "of clean and of noisy examples. Memorized examples are forgotten more often.",
    "gini": "Gini coefficient of the per-example loss-sensitivity over SGD steps: 0 = every "
    "example matters equally, near 1 = a few examples dominate. Real data scores higher.",
    "heatmap": "Cell (i, j): how much inputs of class j move the loss of class i (log colour "
    "scale: yellow = larger, dark purple = smaller). The diagonal dominates; real data has more "
    "mass off it.",
}


@st.cache_data(show_spinner=False, max_entries=64)
def run_view(key: str, token: str, path: str) -> dict:
    """Metrics, Vega-Lite specs and notes of a run at `token`, cached: a finished run reopens
    without rebuilding a chart, a running one rebuilds once per new epoch."""
    spec = state.spec_of(key)
    recs = state.records(key, token)
    has_arrays = any(r.get("type") == "arrays" for r in recs)
    arrays = state.arrays(key, token) if has_arrays else {}
    build = sensitivity_view if spec.task == "sensitivity" else training_view
    view = build(recs, arrays, spec)
    # unvalidated: the chart tests validate every chart; here validation cost a third of the time
    view["charts"] = {name: c.to_dict(validate=False) for name, c in view["charts"].items()}
    return view


def training_view(recs: list[dict], arrays: dict, spec: RunSpec) -> dict:
    """Metrics and Altair charts of a training run (whatever it has data for so far)."""
    kind, n_epochs = setting(spec), spec.train.epochs
    epochs = runframes.scalar(recs, "epoch")
    last = runframes.last_epoch(epochs)
    final = epochs[epochs["epoch"] == last] if last is not None else epochs
    csr = runframes.scalar(recs, "csr")

    def mean(frame, name):
        return float(frame[name].mean()) if name in frame and len(frame) else None

    last_csr = mean(csr[csr["epoch"] == csr["epoch"].max()], "csr") if len(csr) else None
    view: dict = {
        "metrics": {
            "Epoch": f"{last:g} / {n_epochs}" if last is not None else "–",
            "Train accuracy": mean(final, "train_acc"),
            "Validation accuracy": mean(final, "val_acc"),
            "CSR": last_csr,
        },
        "charts": {},
        "notes": [],
        "waiting": None,
        "work_left": eta.work_left(epochs, csr, spec),
    }
    if last is None:
        view["waiting"] = "Waiting for the first evaluation…"
        return view
    c = view["charts"]
    c["accuracy"] = training.accuracy_chart(training.accuracy_frame(epochs), kind, epochs=n_epochs)
    if len(csr):
        c["csr"] = training.csr_chart(csr, kind, epochs=n_epochs)
    elif not spec.metrics.csr_every:  # on but not measured yet: the chart comes with it
        view["notes"].append("No critical sample ratio: set *CSR every* > 0 to measure it.")
    m = runframes.meta(recs)
    easy = runframes.easiness_frames(arrays, m) if arrays else None
    if easy is not None:
        title = "Easiness after epoch 1"
        c["easiness"] = per_example.easiness_chart(*easy, noise_kind=kind, title=title)
    elif spec.train.members < 2:
        view["notes"].append("Easiness needs several members: set *Members* to 2 or more.")
    dm = runframes.data_map_frame(arrays, m) if arrays else None
    if dm is not None:
        c["data_map"] = per_example.data_map_chart(dm, kind)
        c["forgetting"] = per_example.forgetting_chart(dm, kind)
    return view


def sensitivity_view(recs: list[dict], arrays: dict, spec: RunSpec) -> dict:
    """Gini curve and per-class heatmap of a loss-sensitivity run."""
    sens = runframes.scalar(recs, "sens")
    view: dict = {"metrics": {}, "charts": {}, "notes": [], "waiting": None, "work_left": None}
    if sens.empty:
        view["waiting"] = "Waiting for the first loss-sensitivity evaluation…"
        return view
    view["metrics"]["Gini (running mean)"] = float(sens["gini"].iloc[-1])
    view["charts"]["gini"] = sensitivity.gini_chart(sens, setting(spec))
    matrix = runframes.class_matrix(arrays)
    if matrix is not None and matrix.shape[0] > 40:
        view["notes"].append(f"{matrix.shape[0]} classes (unique labels): too many for a heatmap.")
    elif matrix is not None:
        classes = runframes.meta(recs).get("classes")
        if classes is None or len(classes) != matrix.shape[0]:
            classes = None
        view["charts"]["heatmap"] = sensitivity.sensitivity_heatmap(
            sensitivity.class_matrix_frame(matrix, classes)
        )
    return view


def _metric(col, label: str, value) -> None:
    if not isinstance(value, str):
        value = f"{value:.3f}" if value is not None else "–"
    col.metric(label, value)


def _chart(view: dict, name: str) -> None:
    st.vega_lite_chart(view["charts"][name], width="stretch")
    st.caption(CAPTIONS[name])


def layout(view: dict, js) -> None:
    """Metrics row, then charts two by two (easiness full width), then notes."""
    metrics = dict(view["metrics"])
    if "Epoch" in metrics:
        metrics["Duration"] = f"{js.duration:.1f} s" if js.duration else "–"
    for col, (label, value) in zip(st.columns(max(len(metrics), 1)), metrics.items(), strict=False):
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
