"""The Runs page's comparison (Streamlit glue): picked runs overlaid on one metric, its state
in the URL so a comparison can be shared, downloads, and a run's name, tags and note.

URL parameters of a comparison: runs (12-character key prefixes, comma-separated), metric,
color, facet, smooth, amount, x, logy, logx. A link sets the widgets once (when the address
changes); every change of a widget writes the address back, so the address bar is always the
comparison on screen.
"""

from __future__ import annotations

import streamlit as st

from app import errors, links, runframes, state, views
from charts import compare, export
from memcore.spec.words import describe

P = "runs"
SHORT = 12  # key characters in a link (what the app and CLI print)
WIDGETS = {  # URL parameter -> widget key
    "metric": f"{P}:metric", "color": f"{P}:color", "facet": f"{P}:facet",
    "smooth": f"{P}:smooth", "x": f"{P}:x",
}  # fmt: skip
AMOUNT = {"EMA": f"{P}:ema", "rolling mean": f"{P}:window"}
EXPORT_W = 900  # pixels: an exported overlay keeps a wide page's aspect, not the default 300


def read_url(keys: list[str]) -> None:
    """Load a comparison link into the widgets, once per new address."""
    ss, url = st.session_state, st.query_params.to_dict()
    if not url or url == ss.get(f"{P}:applied"):
        return
    ss[f"{P}:applied"] = url
    if "runs" in url:
        found = [links.resolve_run(k, keys)[0] for k in url["runs"].split(",")]
        ss[f"{P}:pick"] = [k for k in found if k]
    for name, widget in WIDGETS.items():
        if name in url:
            ss[widget] = url[name]
    smooth = url.get("smooth")
    if smooth in AMOUNT and "amount" in url:
        ss[AMOUNT[smooth]] = float(url["amount"]) if smooth == "EMA" else int(float(url["amount"]))
    for flag in ("logy", "logx"):
        if flag in url:
            ss[f"{P}:{flag}"] = url[flag] == "1"


def write_url(state_: dict[str, str]) -> None:
    """Put the comparison on screen into the address bar (only when it changed)."""
    if state_ != st.query_params.to_dict():
        st.query_params.from_dict(state_)
    st.session_state[f"{P}:applied"] = state_


def default_pick(done) -> list[str]:
    """The newest finished training runs of one dataset (the newest run's), up to 3: a default
    overlay never mixes datasets."""
    train = done[done["task"] == "train"]
    pool = train if len(train) else done
    if not len(pool):
        return []
    dataset = pool["dataset"].iloc[0]
    return list(pool[pool["dataset"] == dataset]["key"][:3])


def run_label(key: str, name: str = "") -> str:
    """A legend label that tells runs apart: the run's name if it has one, else every setting
    that matters; then the key."""
    spec = state.spec_of(key)
    if spec is None:
        return key[:8]
    return f"{name} · {key[:6]}" if name else f"{describe(spec)} · {key[:6]}"


def comparison(view, labels: dict[str, str], names: dict[str, str]) -> None:
    """Pick runs, a metric and how to draw them; the overlay, its notes and downloads."""
    ss = st.session_state
    done = view[view["status"] == "done"]
    if f"{P}:pick" not in ss:
        ss[f"{P}:pick"] = default_pick(done)
    ss[f"{P}:pick"] = [k for k in ss[f"{P}:pick"] if k in labels]
    picked = st.multiselect(
        "Runs to overlay", list(labels), format_func=labels.get, key=f"{P}:pick"
    )
    mixed = view[view["key"].isin(picked)]["dataset"].nunique() > 1
    runs = {
        run_label(k, names.get(k, "")): (spec, state.records(k, state.token(js)))
        for k in picked
        if (js := state.status(k)) is not None and (spec := state.spec_of(k)) is not None
    }
    have = [
        m for m in runframes.METRICS if any(m in runframes.available(r) for _, r in runs.values())
    ]
    url = {"runs": ",".join(k[:SHORT] for k in picked)} if picked else {}
    if not picked:
        st.caption("Pick runs above to overlay their curves.")
    elif not have:
        st.info("The picked runs have no evaluations yet: their curves appear once they do.")
    if mixed:
        st.warning("The picked runs use different datasets: their curves are not comparable.")
    if not have:
        write_url(url)
        return
    if ss.get(f"{P}:metric") not in have:
        ss.pop(f"{P}:metric", None)  # a metric none of the picked runs has
    c1, c2, c3, c4 = st.columns(4)
    metric = c1.selectbox("Metric", have, key=f"{P}:metric")
    color_by = c2.selectbox("Colour by", ["run", *runframes.FIELDS], key=f"{P}:color")
    facet = c3.selectbox("Panels by", ["none", *runframes.FIELDS], key=f"{P}:facet")
    x = c4.selectbox("x axis", list(runframes.X_AXES), format_func=runframes.X_AXES.get,
                     key=f"{P}:x")  # fmt: skip
    c5, c6, c7, c8 = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
    smoothing = c5.selectbox("Smoothing", runframes.SMOOTHING, key=f"{P}:smooth")
    amount = 0.0
    if smoothing == "EMA":
        amount = c6.slider("EMA weight on the past", 0.0, 0.95, 0.6, 0.05, key=AMOUNT["EMA"])
    elif smoothing == "rolling mean":
        amount = c6.slider("Window (evaluations)", 2, 20, 3, key=AMOUNT["rolling mean"])
    log_y = c7.checkbox("Log y", key=f"{P}:logy")
    log_x = c8.checkbox("Log x", key=f"{P}:logx")
    url |= {"metric": metric, "color": color_by, "facet": facet, "x": x, "smooth": smoothing}
    url |= {"amount": f"{amount:g}"} if amount else {}
    url |= {k: "1" for k, on in (("logy", log_y), ("logx", log_x)) if on}
    write_url(url)
    curves, missing = runframes.compare_frame(runs, metric, smoothing, amount, x=x)
    facet_by = None if facet == "none" else facet
    args = (curves, metric, color_by, facet_by, log_y, log_x)
    xs = {"x_field": x, "x_title": runframes.X_AXES[x]}
    overlay = compare.overlay_chart(*args, **xs)
    st.altair_chart(overlay, width="stretch" if facet_by is None else "content")
    smoothed = f"; each member's curve smoothed first ({smoothing}, {amount:g})" if amount else ""
    st.caption(
        "Lines: mean over each run's members; bands: min to max over members" + smoothed + ". "
        "Drag to pan, scroll to zoom, double-click to reset; click a legend entry to show that "
        "series alone (shift-click for more). The address bar holds this comparison: share it."
    )
    if missing:
        sens = [r for r in missing if "sensitivity task" in r]
        why = " Sensitivity-task runs record the loss-sensitivity Gini: pick that metric." * bool(
            sens
        )
        st.caption(f"Not drawn, no {metric}: " + "; ".join(missing) + "." + why)
    title = f"{metric[:1].upper()}{metric[1:]} by {color_by}" + (
        f" (smoothed: {smoothing} {amount:g})" if amount else ""
    )
    wide = compare.overlay_chart(*args, title=title, **xs)
    if facet_by is None:
        wide = wide.properties(width=EXPORT_W)
    downloads(picked, wide)


def downloads(keys: list[str], chart) -> None:
    """Records with each run's configuration (CSV), the chart as PNG and SVG."""
    files = {
        "Records with configuration (CSV)": (
            lambda: views.export_frame(_export_runs(keys)).to_csv(index=False),
            "records.csv",
            "text/csv",
        ),
        "Chart (PNG)": (lambda: export.export_image(chart, "png"), "compare.png", "image/png"),
        "Chart (SVG)": (lambda: export.export_image(chart, "svg"), "compare.svg", "image/svg+xml"),
    }
    for col, (label, (data, name, mime)) in zip(st.columns(3), files.items(), strict=True):
        col.download_button(label, data, file_name=name, mime=mime, on_click="ignore")


def _export_runs(keys: list[str]) -> dict:
    """{key: (spec, records, JobStatus)} of the runs still stored."""
    out = {}
    for k in keys:
        js, spec = state.status(k), state.spec_of(k)
        if js is not None and spec is not None:
            out[k] = (spec, state.records(k, state.token(js)), js)
    return out


def notes_form(key: str, notes: dict) -> None:
    """Name, tags and a note for one run, saved into the store beside it."""
    with st.form(f"{P}:notes:{key}", border=True):
        c1, c2 = st.columns(2)
        name = c1.text_input("Name", notes.get("name", ""), max_chars=120)
        tags = c2.text_input("Tags (comma-separated)", ", ".join(notes.get("tags", [])))
        note = st.text_area("Note", notes.get("note", ""), height=80, max_chars=4000)
        if st.form_submit_button("Save name, tags and note"):
            try:
                state.annotate(key, name=name, tags=tags.split(","), note=note)
                st.toast("Saved")
                st.rerun()
            except (ValueError, KeyError, state.StoreError) as e:  # not theirs (demo); gone
                errors.error("Not saved", e)
