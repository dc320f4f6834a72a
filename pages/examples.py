"""Examples: a run's easiest, hardest and most-forgotten training examples drawn as pictures,
and the critical samples LASS found beside their adversarial points. `?run=<key>` picks the run."""

from __future__ import annotations

import streamlit as st

from app import errors, examples, links, runframes, state
from charts.examples import gallery, is_image
from memcore.metrics import critical
from memcore.spec.words import describe

st.title("Examples")
st.caption(
    "Which training examples does the network find easy, which hard, which does it forget? "
    "Drawn from the run's tracked subset; each caption gives the example's index in the training "
    "set and the label it was trained on (with the true class when noise changed it), the share "
    "of members classifying it correctly (P), and whether its input or label is noise. Clean "
    "examples are drawn in blue, noisy ones in the noise's colour."
)

train = [r for r in state.list_runs() if r.get("task") == "train"]
rows = [r for r in train if (r.get("metrics.track_size") or 0) > 0]  # runs with examples
if not rows:
    st.info(
        "No training run with tracked examples is stored yet. Start one on the **Explore** "
        "page (its runs track examples; a figure sweep's runs mostly do not)."
        if not train
        else f"None of the {len(train)} training runs stored tracked examples "
        "(metrics.track_size = 0, as most figure sweeps' runs): start one on **Explore**."
    )
    st.stop()
keys = [r["key"] for r in rows]
wanted = st.query_params.get("run", "")
found, why = links.resolve_run(wanted, keys)
if why:
    why = why[:1].upper() + why[1:]  # "No training run with key ..."
    st.warning(f"{errors.escape(why)} that tracked examples; showing the newest.")
index = keys.index(found) if found else 0


def name(key: str) -> str:
    spec = state.spec_of(key)
    return f"{describe(spec)} · {key[:6]}" if spec else key[:8]


c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="bottom")
key = c1.selectbox("Run", keys, index=index, format_func=name, key="examples:run")
st.query_params["run"] = key
spec = state.spec_of(key)
js = state.status(key)
if spec is None or js is None:
    st.warning("This run was deleted.")
    st.stop()
recs = state.records(key, state.token(js))
arrays = state.arrays(key, state.token(js)) if any(r["type"] == "arrays" for r in recs) else {}
meta = runframes.meta(recs)
whole = sorted({float(e) for e in arrays.get("epoch", []) if float(e) == int(e) and e >= 1})
if not whole:
    st.info("The run has no per-example evaluation after a whole epoch yet.")
    st.stop()
WHOLE = "whole run"
epoch = c2.selectbox(
    "Rank by",
    [WHOLE, *whole],
    format_func=lambda e: e if e == WHOLE else f"epoch {e:g}",
    key="examples:epoch",
    help="P(correct) and mean P(label) over every whole epoch, or at one epoch (the paper's "
    "easiness: epoch 1).",
)
n = c3.number_input("Per group", 4, 32, 16, step=4, key="examples:n")
table = runframes.example_table(arrays, meta, None if epoch == WHOLE else epoch)
inputs = examples.tracked_inputs(key, tuple(meta.get("tracked") or ()))
if isinstance(inputs, str):
    st.warning(f"The inputs cannot be drawn: {inputs}.")
    st.stop()
if not len(inputs.y_train) or table is None:
    st.info("The run tracked no training examples (metrics.track_size = 0).")
    st.stop()
if list(inputs.y_train) != list(meta.get("tracked_labels") or inputs.y_train):
    st.warning("The dataset's labels differ from those the run recorded: its files changed.")

classes = meta.get("classes") or []
k = spec.train.members
big = is_image(inputs.x) and inputs.x.shape[-1] > 16
size = 96 if big else 80
per_row = 8 if is_image(inputs.x) else 6  # signals draw wider panels
groups = runframes.pick_examples(table, int(n))
when = "over every whole epoch" if epoch == WHOLE else f"at epoch {epoch:g}"
HOW = {
    "easiest": f"Highest P(correct) {when}, then the highest mean P(label)",
    "hardest": f"Lowest P(correct) {when}, then the lowest mean P(label)",
    "most forgotten": "Most correct → wrong flips between whole epochs (mean over members)",
}
for group, rows_ in groups.items():
    st.subheader(group.capitalize())
    st.caption(
        HOW[group]
        + f"; P over {k} member{'s' * (k > 1)}"
        + (" and those epochs." if epoch == WHOLE else ".")
    )
    if rows_.empty:
        st.caption("No tracked example was ever forgotten.")
        continue
    x, panels = examples.example_panels(
        rows_, inputs, classes, spec, forgetting=group == "most forgotten"
    )
    st.altair_chart(gallery(x, panels, columns=per_row, size=size), width="content")

st.subheader("Critical samples")
radius = critical.data_units(spec.metrics.csr_radius)
pairs = examples.critical_panels(arrays, classes, radius, max(int(n) // 2, 4))
if pairs is None:
    why = (
        "set *CSR every* > 0 to search for them"
        if not spec.metrics.csr_every
        else "none stored: the run is older than this view or is not finished, or no probe was "
        "critical for member 0"
    )
    st.caption(f"No critical samples: {why}.")
else:
    csr = runframes.scalar(recs, "csr")
    split = "validation" if len(csr) and csr["set"].iloc[-1] == "val" else "training"
    st.caption(
        f"Probes from the {split} data for which LASS found a point within radius "
        f"{spec.metrics.csr_radius:g}/255 that member 0 classifies "
        "differently: the probe, that adversarial point, and their difference (blue below, red "
        "above; full colour = the radius)."
    )
    st.altair_chart(gallery(*pairs, columns=6 if per_row == 8 else 3, size=size), width="content")
