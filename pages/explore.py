"""Explore: pick a configuration in the sidebar, press Run, watch the curves.

The run shown is mirrored in the URL (only fields that differ from the form's fresh state,
app.links.app_default), so a link opens the same form and the same run, before, during and after
its run. A link with unknown or invalid parameters is kept as the user wrote it (named problems,
a reset button) until they act. The second tab runs and draws the loss-sensitivity views (Gini
curves, class heatmaps) of real data and the form's noise side by side.
"""

from urllib.parse import urlencode

import streamlit as st

from app import datasets_upload, errors, forms, links, live, state, views
from memcore.data import files as fetch
from memcore.datasets import OFFLINE_DATASETS, REGISTRY
from memcore.spec import RunSpec
from memcore.spec.presets import APP_PRESET
from memcore.spec.words import describe

P = "explore"
SHOWN = f"{P}:shown"  # key of the run on screen
APPLIED = f"{P}:applied"  # the URL parameters last loaded or written
LINK_SHOWN = 2000  # characters of a kept link echoed on the page
KEPT = f"{P}:kept"  # (params, problems) of a link with problems, kept in the address bar

ss = st.session_state
st.title("Explore memorization")

# 1. A link (or edited address): load it into the form and show its run. Problems are named and
# the address is left as it is, so the user can fix their own link.
url = st.query_params.to_dict()
if url and url != ss.get(APPLIED):
    ss[APPLIED] = url
    link = links.read_link(url)
    problems = list(link.problems)
    if not problems:
        try:
            state.check_link(link.spec)  # the demo's caps, unless the run is stored
        except ValueError as e:
            problems.append(str(e))
    forms.load(ss, P, link.spec, forms.preset_of(link.spec))
    if problems:
        ss[KEPT] = (url, problems)
        ss.pop(SHOWN, None)
    else:
        ss.pop(KEPT, None)
        ss[SHOWN] = link.spec.key
forms.ensure(ss, P)
if ss.get(KEPT) and ss[KEPT][0] != url:  # the user left the link (edited the address)
    ss.pop(KEPT)


def _reset() -> None:
    """on_click of "Reset to defaults": the offline default, a clean address."""
    st.query_params.clear()
    forms.load(ss, P, links.app_default(), APP_PRESET)
    for k in (KEPT, SHOWN):
        ss.pop(k, None)
    ss[APPLIED] = {}


with st.sidebar:
    run_clicked = st.button("Run", type="primary", width="stretch", key=f"{P}:run")
    cost_line = st.empty()  # the run's estimated cost, filled once the form is read
    forms.draw_form(P)
    datasets_upload.control(P)

if ss.get(KEPT):
    params, problems = ss[KEPT]
    with st.container(border=True):
        # Problems quote the link's own names and values: escaped, so they render as text.
        st.error(
            "This link has problems; the form shows its valid values (the rest are defaults):"
            "\n\n" + "\n".join(f"- {errors.escape(p[:300])}" for p in problems)
        )
        st.markdown("Your link, kept as you wrote it:")
        kept = "?" + urlencode(params)
        if len(kept) > LINK_SHOWN:  # a huge link is cut here too (it stays in the address bar)
            kept = f"{kept[:LINK_SHOWN]}... ({len(kept):,} characters)"
        st.code(kept, language=None, wrap_lines=True)
        st.button("Reset to defaults", key=f"{P}:reset", on_click=_reset)

try:
    spec = forms.spec_from_state(ss, P)
except ValueError as e:
    spec = None
    errors.error("Invalid values", e)
if spec is not None and spec.noise.kind != ss.get(f"{P}:noise.kind", spec.noise.kind):
    # level 0 corrupts nothing: real data whatever the kind (one spec, one key)
    st.sidebar.caption("Noise level 0 is real data: the same run for every noise kind.")


def _unavailable(name: str) -> str | None:
    """Why `name` cannot be used offline (naming the folder), or None."""
    info = REGISTRY.get(name)
    if info is not None and info.removed:
        return f"Dataset {name!r} was removed; add it again (Add dataset) to train on it."
    if info is None or info.offline:
        return None
    row = next((a for a in fetch.availability() if a.name == name), None)
    if row is None or row.status != "missing" or fetch.downloads_allowed():
        return None
    offline = " or ".join(OFFLINE_DATASETS)
    if not errors.details_allowed():  # a public demo: the server's folders are not the visitor's
        return f"Dataset {name!r} is not available on this server; choose {offline}."
    return (
        f"Dataset {name!r} is not available offline. Put {', '.join(row.files)} in "
        f"{row.folder} (or point MEMCORE_DATA at a folder that has them), or choose an offline "
        f"dataset: {offline}."
    )


def _submit(run: RunSpec) -> str | None:
    """Queue `run` (idempotent: a stored run comes back as is; a failed one is retried)."""
    problem = _unavailable(run.data.dataset)
    if problem:
        st.error(problem)
        return None
    try:
        return state.submit(run)
    except ValueError as e:  # demo caps, a full queue
        errors.error("Not submitted", e)
    except Exception as e:  # the store is unreadable or the disk is full
        errors.error("Could not reach the run store", e)
    return None


# 2. Run: the user acted, so the address follows the run from now on.
if run_clicked and spec is not None:
    ss.pop(KEPT, None)
    if key := _submit(spec):
        ss[SHOWN] = key

# 3. What to show: the form's own run if stored, else the last one shown.
shown = ss.get(SHOWN)
if spec is not None and state.status(spec.key) is not None:
    shown = ss[SHOWN] = spec.key


def training_tab() -> None:
    if shown is None:
        if state.read_only():
            st.info(state.run_hint())
            return
        st.info(
            "Pick values in the sidebar (or keep the offline default) and press **Run**. "
            "Curves appear after the first epoch, within seconds on the offline datasets."
        )
        return
    shown_spec = state.spec_of(shown)
    if shown_spec is not None and not ss.get(KEPT):
        params = links.short_params(shown_spec)
        if params != st.query_params.to_dict():
            st.query_params.from_dict(params)
        ss[APPLIED] = params
    if spec is not None and shown != spec.key:
        st.caption(f"The sidebar differs from the run shown below. {state.run_hint()}")
    live.show_run(shown)


def sensitivity_tab() -> None:
    """Loss-sensitivity of real data and of the form's noise, side by side: shown, or one click
    away."""
    if spec is None:
        st.info("Fix the values in the sidebar first.")
        return
    if spec.task == "sensitivity":
        st.info("The form is a loss-sensitivity run: its charts are in the first tab.")
        return
    pair = views.sensitivity_pair(spec)
    st.caption(
        f"Loss-sensitivity (ICML Figs 3-4) of {' and '.join(pair)} side by side, on "
        f"{describe(pair['real'])}: how much each training example's input moves the "
        "loss over one epoch of SGD (Gini of that spread: real data's is higher, a few examples "
        "matter most) and class by class (heatmap). A small 2x16 MLP; seconds on a CPU."
    )
    missing = [s for s in pair.values() if (js := state.status(s.key)) is None or js.is_finished
               and js.status != "done"]  # fmt: skip
    if missing and st.button(
        f"Run loss-sensitivity ({len(missing)} run{'s' * (len(missing) > 1)})",
        key=f"{P}:sens",
        type="primary",
    ):
        for s in missing:
            _submit(s)
    live.show_pair(pair)


run_tab, sens_tab = st.tabs(["Training run", "Loss-sensitivity (Gini, class heatmap)"])
with run_tab:
    training_tab()
with sens_tab:
    sensitivity_tab()

# last: the estimate needs the device (importing torch takes seconds on a fresh server), so the
# run and its charts are on screen first
if spec is not None:
    cost_line.caption(f"Estimated time: {state.estimate_text(spec)}")
