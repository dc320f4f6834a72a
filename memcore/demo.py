"""Demo mode: what one visitor of a shared, public explorer may ask for.

A hosted demo (the Docker image, docker/entrypoint.sh) serves strangers from a few CPU cores, so
every submitted run is checked against caps before it is enqueued: the app (app/state.py) and
the CLI (memcore/commands) call `check_submit` before they submit and `check_manage` before
they cancel or delete; memcore.jobs knows nothing of this. The settings are read at call time
(memcore/settings.py), so an operator sets them with `docker run -e ...`:

    MEMCORE_DEMO=1                          caps on (off by default: local users are trusted)
    MEMCORE_READONLY=1                      serve stored runs only; queue nothing (works alone)
    MEMCORE_DEMO_MAX_WIDTH=1024             model.width (MLP hidden units per layer)
    MEMCORE_DEMO_MAX_WIDTH_MULT=2           model.width_mult (CNN channel multiplier)
    MEMCORE_DEMO_MAX_DEPTH=4                model.depth (MLP hidden layers)
    MEMCORE_DEMO_MAX_EPOCHS=50              train.epochs
    MEMCORE_DEMO_MAX_MEMBERS=16             train.members (K models trained together)
    MEMCORE_DEMO_MAX_TRAIN_SIZE=5000        training examples (data.train_size; 0 = the whole split)
    MEMCORE_DEMO_MAX_STEPS=20000            SGD steps = epochs x ceil(examples / batch_size)
    MEMCORE_DEMO_MAX_SENS_STEPS=1000        SGD steps of the unrolled sensitivity task
    MEMCORE_DEMO_MAX_QUEUED_PER_SESSION=10  queued + running jobs one browser session may have
    MEMCORE_DEMO_MAX_QUEUED=50              queued + running jobs in the whole store

(The old names MEMLAB_DEMO, MEMLAB_READONLY and MEMLAB_MAX_* still work for one release.) A cap
set to 0 means "no cap". Caps only guard new work: a run already stored is served as is. `check`
raises a ValueError naming the field, the value, the cap and the variable that sets it, e.g.
"model.width=4096 exceeds this demo's cap of 1024 (set by MEMCORE_DEMO_MAX_WIDTH)".

Visitors may cancel or delete only the runs their own session submitted (`check_manage`);
without a session (the CLI, an operator) anything goes.

Per-session counting: the app calls `set_session(id)` at the top of each script run (a
ContextVar, so concurrent sessions served by different threads never mix); `admit` records the
keys it lets through under that id, in this process, and counts those still active next time.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields

from memcore import settings
from memcore.data.registry import REGISTRY
from memcore.jobs.control import as_spec
from memcore.jobs.store import ACTIVE, StoreArg, open_store
from memcore.spec import RunSpec

READONLY_MESSAGE = "this demo is read-only: it serves stored runs only"
MANAGE_MESSAGE = "this demo lets a visitor cancel or delete only the runs of their own session"

# DemoLimits field -> the setting that sets it (defaults and types: memcore/settings.py)
CAPS: dict[str, str] = {
    name: "MEMCORE_DEMO_" + name.upper()
    for name in (
        "max_width",
        "max_width_mult",
        "max_depth",
        "max_epochs",
        "max_members",
        "max_train_size",
        "max_steps",
        "max_sens_steps",
        "max_queued_per_session",
        "max_queued",
    )
}

# How each cap reads in the UI (visitors see these, not the variable names).
_WORDS = {
    "max_width": "width ≤ {:g}",
    "max_width_mult": "CNN width multiplier ≤ {:g}",
    "max_depth": "depth ≤ {:g}",
    "max_epochs": "epochs ≤ {:g}",
    "max_members": "members ≤ {:g}",
    "max_train_size": "≤ {:g} training examples",
    "max_steps": "≤ {:g} SGD steps",
    "max_sens_steps": "≤ {:g} sensitivity steps",
    "max_queued_per_session": "≤ {:g} queued runs per visitor",
    "max_queued": "≤ {:g} queued runs in all",
}


@dataclass(frozen=True)
class DemoLimits:
    """Caps of a demo; None = no cap. `demo` says whether MEMCORE_DEMO turned the caps on."""

    demo: bool = False
    readonly: bool = False
    max_width: int | None = None
    max_width_mult: float | None = None
    max_depth: int | None = None
    max_epochs: int | None = None
    max_members: int | None = None
    max_train_size: int | None = None
    max_steps: int | None = None
    max_sens_steps: int | None = None
    max_queued_per_session: int | None = None
    max_queued: int | None = None

    @property
    def active(self) -> bool:
        """True when anything is restricted (demo caps or read-only)."""
        return self.demo or self.readonly

    def describe(self) -> str:
        """One line for the UI and logs, e.g. "Demo limits: width <= 1024, depth <= 4, ..."."""
        if not self.active:
            return "demo mode off: no caps"
        if self.readonly:
            return "Read-only demo: it serves stored runs only."
        caps = [
            _WORDS[f.name].format(getattr(self, f.name))
            for f in fields(self)
            if f.name in CAPS and getattr(self, f.name) is not None
        ]
        return "Demo limits: " + (", ".join(caps) or "none") + "."


def limits(env: Mapping[str, str] | None = None) -> DemoLimits:
    """The demo's caps from the settings (os.environ unless `env` is given). Without
    MEMCORE_DEMO every cap is None; MEMCORE_READONLY applies with or without it; a cap of 0 is
    None (no cap). Raises ValueError naming a malformed variable."""
    demo, readonly = settings.get("MEMCORE_DEMO", env), settings.get("MEMCORE_READONLY", env)
    if not demo:
        return DemoLimits(readonly=readonly)
    caps = {name: settings.get(var, env) or None for name, var in CAPS.items()}
    return DemoLimits(demo=True, readonly=readonly, **caps)


def _exceeds(name: str, value: object, cap: float, var: str, hint: str = "") -> ValueError:
    return ValueError(f"{name}={value} exceeds this demo's cap of {cap:g} (set by {var}){hint}")


def train_examples(spec: RunSpec) -> float:
    """Training examples a spec uses: data.train_size, or the whole training split (the default
    split, or what data.val_fraction leaves of the train images)."""
    if spec.data.train_size:
        return spec.data.train_size
    info = REGISTRY.get(spec.data.dataset)  # the registry's sizes: a check never loads data
    default, total = (info.n_train, info.n_images) if info else (math.inf, math.inf)
    vf = spec.data.val_fraction
    return default if vf == 0 else total - math.floor(vf * total)


def sgd_steps(spec: RunSpec) -> float:
    """Upper bound on SGD steps per member: epochs x ceil(examples / batch_size)."""
    return spec.train.epochs * math.ceil(train_examples(spec) / spec.train.batch_size)


def check(spec: RunSpec, limits: DemoLimits) -> None:
    """Raise ValueError if `spec` may not be queued under `limits` (read-only or over a cap)."""
    if limits.readonly:
        raise ValueError(READONLY_MESSAGE)
    if not limits.demo:
        return
    simple = [
        ("model.width", spec.model.width, "max_width", spec.model.arch == "mlp"),
        ("model.depth", spec.model.depth, "max_depth", spec.model.arch == "mlp"),
        ("model.width_mult", spec.model.width_mult, "max_width_mult", spec.model.arch == "cnn"),
        ("train.epochs", spec.train.epochs, "max_epochs", True),
        ("train.members", spec.train.members, "max_members", True),
    ]
    for name, value, cap_name, applies in simple:
        cap = getattr(limits, cap_name)
        if applies and cap is not None and value > cap:
            raise _exceeds(name, value, cap, CAPS[cap_name])
    n = train_examples(spec)
    if limits.max_train_size is not None and n > limits.max_train_size:
        shown = n if spec.data.train_size else f"0 (all {n:,} {spec.data.dataset} examples)"
        hint = f"; choose data.train_size <= {limits.max_train_size}"
        cap = limits.max_train_size
        raise _exceeds("data.train_size", shown, cap, CAPS["max_train_size"], hint)
    sens = spec.task == "sensitivity"
    cap_name = "max_sens_steps" if sens else "max_steps"
    cap, steps = getattr(limits, cap_name), sgd_steps(spec)
    if cap is not None and steps > cap:
        t = spec.train
        shown = f"{steps} (epochs={t.epochs} x ceil({n} examples / batch_size={t.batch_size}))"
        hint = "; use fewer epochs or examples, or a larger batch"
        raise _exceeds("SGD steps", shown, cap, CAPS[cap_name], hint)


def check_queue(
    limits: DemoLimits, *, active_total: int, active_session: int = 0, adding: int = 1
) -> None:
    """Raise ValueError if `adding` new jobs would pass the queue caps, given the queued +
    running jobs already in the store (`active_total`) and of this session (`active_session`)."""
    if limits.readonly and adding:
        raise ValueError(READONLY_MESSAGE)
    for have, cap, var, who in (
        (active_session, limits.max_queued_per_session, CAPS["max_queued_per_session"], "you"),
        (active_total, limits.max_queued, CAPS["max_queued"], "all visitors"),
    ):
        if cap is not None and adding and have + adding > cap:
            raise ValueError(
                f"queued jobs={have} + {adding} new exceeds this demo's cap of {cap:g} (set by "
                f"{var}): {who} already have {have} queued or running; wait for some to finish"
                " or cancel them"
            )


# -- per-session ledger -----------------------------------------------------------------------
_session: contextvars.ContextVar[str | None] = contextvars.ContextVar("memlab", default=None)
_ledger: dict[str, list[str]] = {}
_lock = threading.Lock()


def set_session(session_id: str | None) -> None:
    """Name the visitor session of the current thread/context (the app calls this per run)."""
    _session.set(session_id)


@contextlib.contextmanager
def session(session_id: str | None) -> Iterator[None]:
    """`with session(id):` names the visitor session for the block only (scripts, tests)."""
    token = _session.set(session_id)
    try:
        yield
    finally:
        _session.reset(token)


def session_keys(session_id: str | None = None) -> tuple[str, ...]:
    """Run keys admitted for a session (default: the current one) in this process."""
    sid = session_id if session_id is not None else _session.get()
    with _lock:
        return tuple(_ledger.get(sid, ())) if sid is not None else ()


def admit(
    specs: Iterable[RunSpec],
    *,
    active_total: Callable[[], int],
    is_active: Callable[[str], bool],
    limits: DemoLimits | None = None,
) -> None:
    """Check new specs (not yet stored) against every cap, then note them for this session.

    `active_total()` counts queued + running jobs in the store; `is_active(key)` says whether one
    run is queued or running. Both are only called when a queue cap is set. A no-op when the demo
    is off. `check_submit` calls this with only the specs a submit would add."""
    lim = limits if limits is not None else globals()["limits"]()
    specs = list(specs)
    if not lim.active or not specs:
        return
    for spec in specs:
        check(spec, lim)
    sid = _session.get()
    mine = list(session_keys(sid))
    if lim.max_queued_per_session and sid is not None:
        mine = [k for k in mine if is_active(k)]  # finished runs no longer count (nor are kept)
    total = active_total() if lim.max_queued else 0
    check_queue(lim, active_total=total, active_session=len(mine), adding=len(specs))
    if sid is not None:
        with _lock:
            _ledger[sid] = mine + [s.key for s in specs]


def check_submit(
    specs: Iterable[RunSpec | dict | str], store: StoreArg = None, *, retry: bool = False
) -> None:
    """Raise ValueError if submitting `specs` to `store` would break the demo's caps or
    read-only mode; a no-op unless MEMCORE_DEMO or MEMCORE_READONLY is set. Only the runs the
    submit would ADD count (stored done/queued/running runs are served as is; failed or
    cancelled ones count when `retry`); those are noted for the current session. Invalid specs
    raise ValueError naming the field, as the submit itself would."""
    lim = limits()
    if not lim.active:
        return
    ix = open_store(store).index
    again = ("failed", "cancelled") if retry else ()
    unique = {x.key: x for x in map(as_spec, specs)}.values()
    admit(
        [x for x in unique if ix.status(x.key) in (None, *again)],
        active_total=lambda: len(ix.queue()) + len(ix.running()),
        is_active=lambda k: ix.status(k) in ACTIVE,
        limits=lim,
    )


def check_manage(key: str, limits: DemoLimits | None = None) -> None:
    """Raise ValueError if the current visitor session may not cancel or delete run `key`: with
    the demo on (or read-only), a session may touch only runs it submitted itself. Outside a
    session (the CLI, an operator's script) and with the demo off, anything goes."""
    lim = limits if limits is not None else globals()["limits"]()
    sid = _session.get()
    if lim.active and sid is not None and key not in session_keys(sid):
        raise ValueError(MANAGE_MESSAGE)
