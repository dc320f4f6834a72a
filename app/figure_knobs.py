"""A figure page's knobs (memcore.figures.knobs): members or seeds, epochs, training-set size,
batch size, learning rate, widths, levels, sizes, each prefilled with the figure's default and
kept in the URL (as on Explore: ?train.members=8&widths=8,64,512), so a changed figure is a
shareable link. Only values that differ from the defaults go into the URL; a bad value shows the
knobs module's message (naming the knob) and the figure's defaults are used.
"""

from __future__ import annotations

import streamlit as st

from memcore.figures import knobs
from memcore.figures.figure import Figure
from memcore.figures.verdict import Verdict

LABELS = {
    "train.members": "members per run",
    "train.epochs": "epochs",
    "data.train_size": "training examples",
    "train.batch_size": "batch size",
    "train.lr": "learning rate",
    "widths": "widths",
    "levels": "noise levels",
    "sizes": "dataset sizes",
    "seeds": "seeds",
}


def url_knobs(fig: Figure) -> dict[str, str]:
    """The figure's knobs present in the page URL (text values)."""
    qp = st.query_params
    return {n: qp[n] for n in knobs.offered(fig) if n in qp and qp[n] != ""}


def controls(fig: Figure, dataset: str, scale: str) -> Figure:
    """The knob fields (an expander) and the figure tuned by them; the URL keeps what changed."""
    base = knobs.defaults(fig, dataset, scale)
    for name, v in st.session_state.pop(f"{fig.name}-knob-pending", {}).items():
        st.session_state[f"{fig.name}-knob-{name}"] = v  # before the field is drawn
    given = url_knobs(fig)
    with st.expander("Figure knobs", expanded=bool(given)):
        cols = st.columns(3)
        values: dict[str, str] = {}
        for i, name in enumerate(base):
            default = knobs.text(base[name])
            values[name] = (
                cols[i % 3]
                .text_input(
                    LABELS.get(name, name),
                    value=given.get(name, default),
                    key=f"{fig.name}-knob-{name}",
                    help=f"`{name}`; the figure's default: {default}",
                )
                .strip()
            )
    changed = {n: v for n, v in values.items() if v and v != knobs.text(base[n])}
    for name in knobs.offered(fig):
        if name in st.query_params and name not in changed:
            del st.query_params[name]
    try:
        tuned = knobs.tune(fig, changed)
    except ValueError as e:
        st.error(f"{e}. Using the figure's defaults.")
        return fig
    st.query_params.update(changed)
    return tuned


def second_stage(fig: Figure, verdict: Verdict, dataset: str, scale: str) -> None:
    """When an open verdict says how many members (seeds) would decide it, offer that one
    second stage (knobs.second_stage): the same figure with that count; the stored runs are
    reused (extra members train as a run of their own)."""
    stage = knobs.second_stage(fig, verdict, dataset, scale)
    if stage is None:
        return
    name, need = stage
    st.info(
        f"At the spread measured now, about **{need} {LABELS[name]}** would decide this claim "
        "(a power calculation, decided before looking again: one second stage, not more)."
    )
    if st.button(f"Set {LABELS[name]} to {need}", key=f"{fig.name}-second-stage"):
        st.session_state[f"{fig.name}-knob-pending"] = {name: str(need)}
        st.rerun()
