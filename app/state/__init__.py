"""The app's handle on the jobs store: cached store, workers, and cached reads of runs.

Everything that talks to memcore.jobs goes through here, so pages stay short and tests can seed
a tmp store (setting MEMCORE_STORE) and start no worker (MEMCORE_WORKERS=0). The public demo's
policy (memcore/demo/) is applied here, before anything is submitted, cancelled or deleted.

Caching: `st.cache_resource` holds the store handle and the "workers started" fact once per
server process (shared by all sessions; the store is thread- and process-safe). Records and
arrays are cached with `st.cache_data` keyed by (run key, a token that changes whenever the run
gains records), so a finished run reopens from memory and a running one is re-read once per new
epoch.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app import errors
from memcore import datasets, demo, settings
from memcore.demo.visitors import UNKNOWN, Visitor, client_address
from memcore.figures.figure import Figure
from memcore.jobs import api, pool
from memcore.spec import RunSpec
from memcore.store import CorruptArtifact, StoreError, open_store
from memcore.sweeps import sweep as figure_sweep

__all__ = ["CorruptArtifact", "StoreError"]  # the errors pages catch, re-exported from here


def store_path() -> str:
    """MEMCORE_STORE as set now ("" = the default store); part of every cache key below."""
    return settings.get("MEMCORE_STORE") or ""


@st.cache_resource(show_spinner=False)
def _store(path: str):
    return open_store(path or None)


def store():
    """The store at MEMCORE_STORE (default <repo>/cache/store), opened once per process."""
    return _store(store_path())


def worker_target() -> int:
    """Workers wanted alive: setting MEMCORE_WORKERS (default 1; 0 = none)."""
    try:
        return max(0, settings.get("MEMCORE_WORKERS"))
    except ValueError:
        return 1


def _app_starts() -> int:
    """Workers the app itself starts: none when a supervisor keeps them alive (Docker)."""
    try:
        supervised = settings.get("MEMCORE_WORKERS_SUPERVISED")
    except ValueError:
        supervised = False
    return 0 if supervised else worker_target()


@st.cache_resource(show_spinner=False)
def _workers_started(n: int, path: str) -> float:
    if n > 0:
        pool.ensure_workers(n, store(), parent=os.getpid())
    return time.time()


def ensure_workers(force: bool = False) -> None:
    """Make sure the configured number of workers is alive (once per process, or now). They
    are tied to this server process: they exit (requeueing their job) when it is gone."""
    n = _app_starts()
    if force and n > 0:
        pool.ensure_workers(n, store(), parent=os.getpid())
    else:
        _workers_started(n, store_path())


def start_session() -> None:
    """Per page run: in a public demo, uncaught errors show no traceback (app.errors)."""
    errors.configure()


def visitor() -> Visitor | None:
    """The demo visitor making this call, read from the Streamlit context of the call itself,
    so a fragment's own rerun (the live panel's Cancel) knows the visitor too. None outside a
    Streamlit app (a script or test calling these functions: an operator); inside the app
    without a session context, an unknown visitor who owns nothing."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return Visitor(UNKNOWN, UNKNOWN) if st.runtime.exists() else None
    try:
        h = st.context.headers
        headers = {k: ",".join(h.get_all(k)) for k in h}
        ip = st.context.ip_address
    except Exception:  # no client information (tests, an old frontend): the session names them
        headers, ip = {}, None
    return Visitor.of(
        ctx.session_id, client_address(headers, ip, settings.get("MEMCORE_DEMO_PROXIES"))
    )


def dataset_owner() -> str | None:
    """Whose imported datasets this visitor sees (and owns when uploading): in a demo their
    client; outside one None (everyone sees every imported dataset)."""
    v = visitor()
    return v.client if settings.get("MEMCORE_DEMO") and v is not None else None


def dataset_names() -> tuple[str, ...]:
    """The datasets this visitor may pick: the built-ins, then the imported ones they see."""
    return datasets.names(dataset_owner())


@st.cache_resource(show_spinner=False)
def device() -> str:
    """Device the workers train on by default ('cuda' when torch sees a GPU, else 'cpu')."""
    from memcore.engine.trainer import resolve_device

    return resolve_device("auto").type


def workers_alive() -> int:
    return len(pool.workers_alive(store()))


def sidebar_status(where, page_s: float | None = None) -> None:
    """Workers alive / wanted, the device, how long the page took to draw (server side) and
    the demo's caps when on, into `where`."""
    try:
        alive = workers_alive()
    except Exception:  # a broken store must not break every page
        alive = 0
    want = worker_target()
    dot = ":green[●]" if alive else (":gray[●]" if want == 0 else ":red[●]")
    text = f"{dot} workers alive: {alive} (wanted {want}) · device: {device()}"
    if page_s is not None:
        text += f" · page drawn in {page_s:.2f} s"
    lim = demo.limits()
    if lim.active:
        text += "  \n" + lim.describe()
    where.caption(text)


# -- runs -------------------------------------------------------------------------------------
def spec_of(key: str) -> RunSpec | None:
    """A stored run's spec, or None when the store has no such run (yet)."""
    try:
        return _spec_of(key, store_path())
    except KeyError:
        return None


@st.cache_data(show_spinner=False, max_entries=256)
def _spec_of(key: str, path: str) -> RunSpec:
    # A spec is immutable per key, so a found one is cached for good. "Not found" raises: Streamlit
    # never caches an exception, so a link to a run submitted later finds it (a cached None
    # said "deleted" until the server restarted).
    return api.spec(key, store())


def status(key: str) -> api.JobStatus | None:
    """The run's current JobStatus, or None when the store has no such run."""
    try:
        return api.status(key, store())
    except KeyError:
        return None


def token(js: api.JobStatus) -> str:
    """Changes whenever the run's visible records may have changed (new epoch, commit, end)."""
    return f"{js.status}:{js.n_records}:{js.epoch}:{js.attempts}:{js.fraction}"


def records(key: str, token: str) -> list[dict]:
    """All records of a run ("arrays" ones without their arrays), cached per token."""
    return _records(key, token, store_path())


@st.cache_data(show_spinner=False, max_entries=64)
def _records(key: str, token: str, path: str) -> list[dict]:
    try:
        return api.records(key, 0, store())
    except KeyError:
        return []


def arrays(key: str, token: str) -> dict[str, np.ndarray]:
    """The run's stacked per-example arrays (cached per token); {} when none yet. A corrupt
    artifact requeues the run for recompute (an explicit call: reading the store changes
    nothing) and raises CorruptArtifact saying so."""
    try:
        return _arrays(key, token, store_path())
    except CorruptArtifact as e:
        what = "requeued for recompute" if api.mark_recompute(key, store()) else "running"
        raise CorruptArtifact(f"{e.args[0].split('; ')[0]}; the run was {what}") from e


@st.cache_data(show_spinner=False, max_entries=16)
def _arrays(key: str, token: str, path: str) -> dict[str, np.ndarray]:
    try:
        out = dict(api.arrays(key, store()))
    except KeyError:
        return {}
    return out if len(out.get("epoch", ())) else {}


def _check_dataset(dataset: str) -> None:
    """A demo visitor trains only on the built-ins and the imported datasets they see."""
    if datasets.REGISTRY[dataset].imported and dataset not in dataset_names():
        raise ValueError(
            f"data.dataset={dataset!r} is not available to you: it is another visitor's upload "
            "or was removed; add your own dataset (Add dataset) or pick one from the list"
        )


def read_only() -> bool:
    """MEMCORE_READONLY: the demo serves stored runs only, Run queues nothing."""
    return demo.limits().readonly


def run_hint() -> str:
    """What a visitor can do about a configuration that is not stored: press Run, or, in a
    read-only demo (Run queues nothing), open a stored run."""
    if read_only():
        return "This demo is read-only: it serves stored runs only (open one from **Runs**)."
    return "Press **Run** in the sidebar."


def check_link(spec: RunSpec) -> None:
    """A shared link's spec: raises ValueError when the demo's caps refuse it and it is not
    stored yet (a stored run is always served, whatever its size)."""
    lim = demo.limits()
    if lim.demo and not lim.readonly and status(spec.key) is None:
        _check_dataset(spec.data.dataset)
        demo.check(spec, lim)


def submit(spec: RunSpec) -> str:
    """Queue the spec (idempotent; a done run is returned as is). Raises ValueError (an invalid
    spec, a dataset this visitor may not use, or over the demo's caps: nothing queued)."""
    _check_dataset(spec.data.dataset)
    key = demo.submit(spec, store(), retry=True, visitor=visitor())  # caps: check and enqueue
    ensure_workers(force=True)
    return key


def annotate(key: str, **notes) -> dict:
    """Name, tag or annotate a run (memcore.jobs.api.annotate); ValueError when this demo
    visitor may not (not their run)."""
    demo.check_manage(key, visitor())
    return api.annotate(key, store(), **notes)


def submit_sweep(fig: Figure | str, dataset: str, scale: str) -> str:
    """Queue a figure's sweep (the runs not stored yet; failed ones again); returns the sweep
    id. Raises ValueError when a run is invalid or over the demo's caps: nothing queued."""
    _check_dataset(dataset)
    specs = figure_sweep.grid(fig, dataset, scale)
    return demo.submit_sweep(specs, store(), retry=True, visitor=visitor())


def cancel(key: str) -> str:
    """Cancel a run; ValueError when this demo visitor may not (not their run)."""
    return demo.cancel(key, store(), visitor())


def delete(key: str) -> bool:
    """Delete a run and its files; ValueError when this demo visitor may not (not their run)."""
    return demo.delete(key, store(), visitor())


def list_runs() -> list[dict[str, Any]]:
    """Rows of every stored run (newest first): key, status, timings, flat spec, summary.*."""
    return api.list_runs(store())


from app.state.estimates import estimate, estimate_text  # noqa: E402
from app.state.sweeps import (  # noqa: E402  (they use store() above)
    evaluate_sweep,
    figures_of,
    start_cluster_sweep,
    sweep_progress,
)

__all__ += [
    "estimate",
    "estimate_text",
    "evaluate_sweep",
    "figures_of",
    "start_cluster_sweep",
    "sweep_progress",
]
