"""Show one run: status, progress, errors and its charts, redrawn live while it runs.

`show_run(key)` draws a fragment that re-reads the store once a second while the run is queued
or running (`st.fragment(run_every=1s)`) and stops polling when it ends: the fragment triggers
one full rerun, which redefines it with run_every=None. Charts are redrawn whole from stored
records each tick (cheap at these sizes; `add_rows` is being deprecated).
"""

from __future__ import annotations

import altair as alt
import streamlit as st

from app import charts, errors, runframes, state
from memcore.spec import RunSpec

POLL_S = 1.0
ICONS = {
    "queued": ":material/hourglass_top:",
    "running": ":material/directions_run:",
    "done": ":material/check_circle:",
    "failed": ":material/error:",
    "cancelled": ":material/cancel:",
}


def describe(spec: RunSpec) -> str:
    """One line: dataset, noise, model, regularizer, members."""
    n = spec.noise
    noise = "real data" if n.kind == "none" else f"{n.kind} {n.level:g}"
    if n.labels == "unique":
        noise += ", unique labels"
    m = spec.model
    model = f"MLP {m.depth}x{m.width}" if m.arch == "mlp" else f"CNN x{m.width_mult:g}"
    t = spec.train
    reg = "" if t.regularizer == "none" else f" · {t.regularizer} {t.strength:g}"
    task = " · sensitivity task" if spec.task == "sensitivity" else ""
    return f"{spec.data.dataset} · {noise} · {model}{reg} · K={t.members} · lr {t.lr:g}{task}"


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA …"
    if seconds < 90:
        return f"ETA {seconds:.0f} s"
    return f"ETA {seconds / 60:.1f} min"


def chart(c: alt.TopLevelMixin, caption: str) -> None:
    """An Altair chart at full width with a one-line how-to-read caption."""
    st.altair_chart(c, width="stretch")
    st.caption(caption)


def show_run(key: str) -> None:
    """Draw run `key`; poll once a second while it is active."""
    js = state.status(key)
    if js is None:
        st.info("This configuration has not been run yet: press **Run** in the sidebar.")
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
            f"The run failed: {js.error}\n\nChange the settings and press Run to retry; "
            "the details below help when reporting a bug."
        )
        with st.expander("Details (traceback)"):
            st.code(js.traceback or "no traceback stored", language="text")
    elif js.status == "cancelled":
        st.warning(f"Cancelled at epoch {js.epoch:g}. Press Run to resume it.")
    elif js.status == "queued":
        alive = state.workers_alive()
        where = "next in line" if js.queue_position == 0 else f"position {js.queue_position}"
        msg = f"Queued ({where}); waiting for a worker."
        if not alive:
            msg += " No worker is alive: start one with `python -m memcore worker`."
        st.info(msg)
    if js.status in ("queued", "running"):
        epochs = js.epochs or spec.train.epochs
        st.progress(min(1.0, js.fraction), text=f"epoch {js.epoch:g} / {epochs} · {_eta(js.eta)}")
    recs = state.records(js.key, state.token(js))
    arrays = state.arrays(js.key, state.token(js)) if _has_arrays(recs) else {}
    if spec.task == "sensitivity":
        draw_sensitivity(recs, arrays, spec)
    else:
        draw_training(recs, arrays, spec, js)


def _has_arrays(recs: list[dict]) -> bool:
    return any(r.get("type") == "arrays" for r in recs)


def draw_training(recs: list[dict], arrays: dict, spec: RunSpec, js) -> None:
    kind = spec.noise.kind if spec.noise.level > 0 else "none"
    epochs = runframes.scalar(recs, "epoch")
    last = runframes.last_epoch(epochs)
    final = epochs[epochs["epoch"] == last] if last is not None else epochs
    csr = runframes.scalar(recs, "csr")
    cols = st.columns(5)
    cols[0].metric("Epoch", f"{last:g} / {spec.train.epochs}" if last is not None else "–")
    for col, name, label in (
        (cols[1], "train_acc", "Train accuracy"),
        (cols[2], "val_acc", "Validation accuracy"),
    ):
        value = final[name].mean() if name in final and len(final) else None
        col.metric(label, f"{value:.3f}" if value is not None else "–")
    last_csr = csr[csr["epoch"] == csr["epoch"].max()]["csr"].mean() if len(csr) else None
    cols[3].metric("CSR", f"{last_csr:.3f}" if last_csr is not None else "–")
    cols[4].metric("Duration", f"{js.duration:.1f} s" if js.duration else "–")
    if last is None:
        st.info("Waiting for the first evaluation…")
        return
    left, right = st.columns(2)
    with left:
        chart(
            charts.accuracy_chart(charts.accuracy_frame(epochs), kind, epochs=spec.train.epochs),
            "Lines: mean over members; band: min to max. Clean examples learned long before "
            "noisy ones = patterns first, then memorization. Dashed: validation (clean data).",
        )
    with right:
        if len(csr):
            chart(
                charts.csr_chart(csr, kind, epochs=spec.train.epochs),
                "Share of probe points with an adversarial example within the radius (LASS). "
                "Higher = a more complex decision surface; noise tends to raise it.",
            )
        else:
            st.info("No critical sample ratio: set *CSR every* > 0 to measure it.")
    m = runframes.meta(recs)
    easy = runframes.easiness_frames(arrays, m) if arrays else None
    if easy is not None:
        chart(
            charts.easiness_chart(*easy, noise_kind=kind, title="Easiness after epoch 1"),
            "Per tracked example, the share of members that classify it correctly after one "
            "epoch. Dashed: the binomial reference (every example equally easy). Real data "
            "spreads wider than the reference.",
        )
    elif spec.train.members < 2:
        st.caption("Easiness needs several members: set *Members* to 2 or more (e.g. 20).")
    dm = runframes.data_map_frame(arrays, m) if arrays else None
    if dm is not None:
        left, right = st.columns(2)
        with left:
            chart(
                charts.data_map_chart(dm, kind),
                "Each dot is a tracked example: mean P(its label) over epochs (up) against how "
                "much it varied (right). Noisy examples sit low: hard to learn.",
            )
        with right:
            chart(
                charts.forgetting_chart(dm, kind),
                "How often an example went from correct to wrong between epochs, as a share "
                "of clean and of noisy examples. Memorized examples are forgotten more often.",
            )


def draw_sensitivity(recs: list[dict], arrays: dict, spec: RunSpec) -> None:
    kind = spec.noise.kind if spec.noise.level > 0 else "none"
    sens = runframes.scalar(recs, "sens")
    if sens.empty:
        st.info("Waiting for the first loss-sensitivity evaluation…")
        return
    st.metric("Gini (running mean)", f"{sens['gini'].iloc[-1]:.3f}")
    left, right = st.columns(2)
    with left:
        chart(
            charts.gini_chart(sens, kind),
            "Gini coefficient of the per-example loss-sensitivity over SGD steps: 0 = every "
            "example matters equally, near 1 = a few examples dominate. Real data scores higher.",
        )
    matrix = runframes.class_matrix(arrays)
    with right:
        if matrix is not None and matrix.shape[0] > 40:
            st.caption(f"{matrix.shape[0]} classes (unique labels): too many for a heatmap.")
        elif matrix is not None:
            classes = runframes.meta(recs).get("classes")
            if classes is None or len(classes) != matrix.shape[0]:
                classes = None
            chart(
                charts.sensitivity_heatmap(charts.class_matrix_frame(matrix, classes)),
                "Cell (i, j): how much inputs of class j move the loss of class i (log colours). "
                "The diagonal dominates; real data has more mass off it.",
            )
