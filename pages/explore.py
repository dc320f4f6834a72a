"""Explore: pick a configuration in the sidebar, press Run, watch the curves.

The run shown is mirrored in the URL (only fields that differ from RunSpec()), so a link opens
the same form and the same run. A configuration stored before shows at once, without training.
"""

import streamlit as st

from app import errors, forms, live, state
from memcore.data import files as fetch
from memcore.data.registry import OFFLINE_DATASETS

P = "explore"
SHOWN = f"{P}:shown"  # key of the run on screen
APPLIED = f"{P}:applied"  # the URL parameters last loaded or written

ss = st.session_state
st.title("Explore memorization")

# 1. A link (or edited address) with a spec: load it into the form and show its run.
url = forms.spec_params(st.query_params.to_dict())
url_error = None
if url and url != ss.get(APPLIED):
    ss[APPLIED] = url
    try:
        linked = forms.spec_from_params(url)
        state.check_link(linked)  # the demo's caps, unless the run is stored
        forms.load(ss, P, linked)
        ss[SHOWN] = linked.key
    except ValueError as e:
        url_error = str(e)
forms.ensure(ss, P)

with st.sidebar:
    run_clicked = st.button("Run", type="primary", width="stretch", key=f"{P}:run")
    cost_line = st.empty()  # the run's estimated cost, filled once the form is read
    forms.draw_form(P)

if url_error:
    errors.error("The link's settings are invalid (the form shows the defaults)", url_error)

try:
    spec = forms.spec_from_state(ss, P)
    cost_line.caption(f"Estimated cost: {state.estimate(spec).describe()}")
except ValueError as e:
    spec = None
    errors.error("Invalid settings", e)


def _unavailable(name: str) -> str | None:
    """Why `name` cannot be used offline (naming the folder), or None."""
    if name in OFFLINE_DATASETS:
        return None
    row = next((a for a in fetch.availability() if a.name == name), None)
    if row is None or row.status != "missing" or fetch.downloads_allowed():
        return None
    return (
        f"Dataset {name!r} is not available offline. Put {', '.join(row.files)} in "
        f"{row.folder} (or point MEMCORE_DATA at a folder that has them), or choose an offline "
        f"dataset: {' or '.join(OFFLINE_DATASETS)}."
    )


# 2. Run: submit (idempotent: a stored run comes back as is; a failed one is retried).
if run_clicked and spec is not None:
    problem = _unavailable(spec.data.dataset)
    if problem:
        st.error(problem)
    else:
        try:
            ss[SHOWN] = state.submit(spec)
        except ValueError as e:  # demo caps, a full queue
            errors.error("Not submitted", e)
        except Exception as e:  # the store is unreadable or the disk is full
            errors.error("Could not reach the run store", e)

# 3. What to show: the form's own run if stored, else the last one shown.
shown = ss.get(SHOWN)
if spec is not None and state.status(spec.key) is not None:
    shown = ss[SHOWN] = spec.key
if shown is None:
    st.info(
        "Pick settings in the sidebar (or keep the offline default) and press **Run**. "
        "Curves appear after the first epoch, within seconds on the offline datasets."
    )
else:
    shown_spec = state.spec_of(shown)
    if shown_spec is not None:
        params = forms.short_params(shown_spec)
        if params != forms.spec_params(st.query_params.to_dict()):
            st.query_params.from_dict(params)
        ss[APPLIED] = params
    if spec is not None and shown != spec.key:
        st.caption("The sidebar differs from the run shown below: press **Run** to run it.")
    live.show_run(shown)
