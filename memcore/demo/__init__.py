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
    MEMCORE_DEMO_MAX_CSR_PROBES=1000        metrics.csr_probes
    MEMCORE_DEMO_MAX_CSR_ITERS=100          metrics.csr_iters
    MEMCORE_DEMO_MAX_TRACK_SIZE=2000        metrics.track_size
    MEMCORE_DEMO_MAX_EARLY_STEPS=100        metrics.early_steps
    MEMCORE_DEMO_MAX_SECONDS=600            the run's estimated seconds on the server's device
    MEMCORE_DEMO_MAX_MEMORY_MB=4096         the run's estimated memory (memcore.engine.cost)
    MEMCORE_DEMO_MAX_QUEUED_PER_SESSION=10  queued + running jobs per visitor (demo/visitors.py: the
                                            client's address, else the browser session)
    MEMCORE_DEMO_MAX_QUEUED=50              queued + running jobs in the whole store

(The old names MEMLAB_DEMO, MEMLAB_READONLY and MEMLAB_MAX_* still work for one release.) A cap
set to 0 means "no cap". Caps only guard new work: a run already stored is served as is. `check`
raises a ValueError naming the field, the value, the cap and the variable that sets it, e.g.
"model.width=4096 exceeds this demo's cap of 1024 (set by MEMCORE_DEMO_MAX_WIDTH)". Single-field
caps bound what is easy to name; the cost caps (seconds and memory, from the spec's cost estimate
on the server's device) bound everything together, so no combination of allowed fields (CSR
every epoch, evaluations every step, sharpness, ...) runs for days. A visitor cannot choose the
device: train.device must stay "auto" (the server's device).

Visitors (memcore.demo.visitors) may cancel or delete only the runs their own session created
(`check_manage`); the app passes the visitor to every check, the command line passes none (an
operator: anything goes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields

from memcore import settings
from memcore.demo.visitors import LEDGER, Ledger, Visitor
from memcore.engine import cost
from memcore.engine.cost import sgd_steps, train_examples
from memcore.jobs.control import as_spec
from memcore.spec import RunSpec
from memcore.store import ACTIVE, StoreArg, open_store

__all__ = [
    "CAPS",
    "DemoLimits",
    "Visitor",
    "check",
    "check_manage",
    "check_queue",
    "check_submit",
    "limits",
    "sgd_steps",
    "train_examples",
]

READONLY_MESSAGE = "this demo is read-only: it serves stored runs only"
MANAGE_MESSAGE = "this demo lets a visitor cancel or delete only the runs of their own session"
DEVICE_MESSAGE = "this demo trains on the server's device: train.device must be auto"

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
        "max_csr_probes",
        "max_csr_iters",
        "max_track_size",
        "max_early_steps",
        "max_seconds",
        "max_memory_mb",
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
    "max_csr_probes": "≤ {:g} CSR probes",
    "max_csr_iters": "≤ {:g} CSR iterations",
    "max_track_size": "≤ {:g} tracked examples",
    "max_early_steps": "≤ {:g} early evaluations",
    "max_seconds": "≤ {:g} s estimated per run",
    "max_memory_mb": "≤ {:g} MB estimated memory",
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
    max_csr_probes: int | None = None
    max_csr_iters: int | None = None
    max_track_size: int | None = None
    max_early_steps: int | None = None
    max_seconds: float | None = None
    max_memory_mb: float | None = None
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
    value = f"{value:g}" if isinstance(value, float) else value
    return ValueError(f"{name}={value} exceeds this demo's cap of {cap:g} (set by {var}){hint}")


def _check_fields(spec: RunSpec, lim: DemoLimits) -> None:
    m, t, mx = spec.model, spec.train, spec.metrics
    simple = [
        ("model.width", m.width, "max_width", m.arch == "mlp"),
        ("model.depth", m.depth, "max_depth", m.arch == "mlp"),
        ("model.width_mult", m.width_mult, "max_width_mult", m.arch == "cnn"),
        ("train.epochs", t.epochs, "max_epochs", True),
        ("train.members", t.members, "max_members", True),
        ("metrics.csr_probes", mx.csr_probes, "max_csr_probes", mx.csr_every > 0),
        ("metrics.csr_iters", mx.csr_iters, "max_csr_iters", mx.csr_every > 0),
        ("metrics.track_size", mx.track_size, "max_track_size", True),
        ("metrics.early_steps", mx.early_steps, "max_early_steps", True),
    ]
    for name, value, cap_name, applies in simple:
        cap = getattr(lim, cap_name)
        if applies and cap is not None and value > cap:
            raise _exceeds(name, value, cap, CAPS[cap_name])
    n = train_examples(spec)
    if lim.max_train_size is not None and n > lim.max_train_size:
        shown = n if spec.data.train_size else f"0 (all {n:,} {spec.data.dataset} examples)"
        hint = f"; choose data.train_size <= {lim.max_train_size}"
        cap = lim.max_train_size
        raise _exceeds("data.train_size", shown, cap, CAPS["max_train_size"], hint)
    sens = spec.task == "sensitivity"
    cap_name = "max_sens_steps" if sens else "max_steps"
    cap, steps = getattr(lim, cap_name), sgd_steps(spec)
    if cap is not None and steps > cap:
        shown = f"{steps} (epochs={t.epochs} x ceil({n} examples / batch_size={t.batch_size}))"
        hint = "; use fewer epochs or examples, or a larger batch"
        raise _exceeds("SGD steps", shown, cap, CAPS[cap_name], hint)


def check(spec: RunSpec, limits: DemoLimits, device: str | None = None) -> None:
    """Raise ValueError if `spec` may not be queued under `limits`: read-only, a device chosen,
    over a field's cap, or over the cost caps on `device` (default: the server's, "auto")."""
    if limits.readonly:
        raise ValueError(READONLY_MESSAGE)
    if not limits.demo:
        return
    if spec.train.device != "auto":
        raise ValueError(f"train.device={spec.train.device!r}: {DEVICE_MESSAGE}")
    _check_fields(spec, limits)
    if limits.max_seconds is None and limits.max_memory_mb is None:
        return
    est = cost.estimate(spec, device or cost.resolve("auto"))
    hint = (
        f" ({est.describe()}); use fewer epochs, members, examples or CSR probes/iterations, "
        "or measure CSR less often"
    )
    if limits.max_seconds is not None and est.seconds > limits.max_seconds:
        shown = f"{est.seconds:.0f} s"
        raise _exceeds("estimated time", shown, limits.max_seconds, CAPS["max_seconds"], hint)
    if limits.max_memory_mb is not None and est.memory_bytes > limits.max_memory_mb * 1e6:
        shown = f"{est.memory_bytes / 1e6:.0f} MB"
        var = CAPS["max_memory_mb"]
        raise _exceeds("estimated memory", shown, limits.max_memory_mb, var, hint)


def check_queue(
    limits: DemoLimits, *, active_total: int, active_session: int = 0, adding: int = 1
) -> None:
    """Raise ValueError if `adding` new jobs would pass the queue caps, given the queued +
    running jobs already in the store (`active_total`) and of this visitor (`active_session`)."""
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


def admit(
    specs: Iterable[RunSpec],
    *,
    active_total: Callable[[], int],
    is_active: Callable[[str], bool],
    visitor: Visitor | None = None,
    created: Iterable[str] = (),
    limits: DemoLimits | None = None,
    ledger: Ledger | None = None,
    device: str | None = None,
) -> None:
    """Check new work (specs not stored yet, or retries) against every cap, then count it
    against the visitor; the visitor's session owns the keys in `created` (new to the store).

    `active_total()` counts queued + running jobs in the store; `is_active(key)` says whether one
    run is queued or running. A no-op when the demo is off. `check_submit` calls this."""
    lim = limits if limits is not None else globals()["limits"]()
    specs = list(specs)
    if not lim.active or not specs:
        return
    for spec in specs:
        check(spec, lim, device)
    ledger = ledger if ledger is not None else LEDGER
    mine = ledger.active(visitor, is_active) if visitor is not None else []
    total = active_total() if lim.max_queued else 0
    count = len(mine) if lim.max_queued_per_session and visitor is not None else 0
    check_queue(lim, active_total=total, active_session=count, adding=len(specs))
    if visitor is not None:
        ledger.note(visitor, [s.key for s in specs], created)


def check_submit(
    specs: Iterable[RunSpec | dict | str],
    store: StoreArg = None,
    *,
    retry: bool = False,
    visitor: Visitor | None = None,
) -> None:
    """Raise ValueError if `visitor` (None: an operator) submitting `specs` to `store` would
    break the demo's caps or read-only mode; a no-op unless MEMCORE_DEMO or MEMCORE_READONLY is
    set. Only the runs the submit would ADD count (stored done/queued/running runs are served as
    is; failed or cancelled ones count when `retry`, but a retry never makes the visitor the
    owner of someone else's run). Invalid specs raise ValueError naming the field."""
    lim = limits()
    if not lim.active:
        return
    ix = open_store(store).index
    again = ("failed", "cancelled") if retry else ()
    unique = {x.key: x for x in map(as_spec, specs)}.values()
    status = {x.key: ix.status(x.key) for x in unique}
    admit(
        [x for x in unique if status[x.key] in (None, *again)],
        active_total=lambda: len(ix.queue()) + len(ix.running()),
        is_active=lambda k: ix.status(k) in ACTIVE,
        visitor=visitor,
        created=[k for k, st in status.items() if st is None],
        limits=lim,
    )


def check_manage(
    key: str, visitor: Visitor | None = None, limits: DemoLimits | None = None
) -> None:
    """Raise ValueError if `visitor` may not cancel or delete run `key`: with the demo on (or
    read-only), a visitor may touch only runs their session created. `None` is an operator
    (the CLI, a script): anything goes; so is everyone when the demo is off."""
    lim = limits if limits is not None else globals()["limits"]()
    if lim.active and visitor is not None and not LEDGER.owns(visitor, key):
        raise ValueError(MANAGE_MESSAGE)
