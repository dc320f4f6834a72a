"""The demo's caps as one table of rows (`ROWS`), and the check of one spec against them.

Each row names a DemoLimits field (its setting is MEMCORE_DEMO_ + the name in capitals; default
and type: memcore/settings.py), how it reads in the UI, and what it bounds: a spec reading
(`reads(spec)` gives the value, or None when the run does not use that field: e.g. the LASS
iterations bound CSR measurements AND adversarial training, the MLP's width only MLPs), the
cost estimate (`kind="cost"`, memcore.engine.cost on the server's device), or the jobs queued
(`kind="queue"`, checked atomically at enqueue by memcore.demo.verbs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from memcore import settings
from memcore.engine import cost
from memcore.engine.cost import sgd_steps, train_examples
from memcore.spec import RunSpec

READONLY_MESSAGE = "this demo is read-only: it serves stored runs only"
DEVICE_MESSAGE = "this demo trains on the server's device: train.device must be auto"


@dataclass(frozen=True)
class Reading:
    """What a cap reads off a spec: the name shown, the value compared, the text shown."""

    name: str
    value: float
    shown: object = None  # default: the value
    hint: str = ""  # after the message: what to change


def uses_lass(spec: RunSpec) -> bool:
    """CSR measurements and adversarial training both run LASS searches (metrics.csr_*)."""
    return spec.metrics.csr_every > 0 or spec.train.regularizer == "adversarial"


def _field(name: str, when: Callable[[RunSpec], bool] = lambda s: True):
    section, attr = name.split(".")
    return lambda s: Reading(name, getattr(getattr(s, section), attr)) if when(s) else None


def _train_size(spec: RunSpec) -> Reading:
    n = train_examples(spec)
    shown = n if spec.data.train_size else f"0 (all {n:,} {spec.data.dataset} examples)"
    return Reading("data.train_size", n, shown, "; choose data.train_size <= {cap:g}")


def _steps(sens: bool):
    def read(spec: RunSpec) -> Reading | None:
        if (spec.task == "sensitivity") != sens:
            return None
        t, steps = spec.train, sgd_steps(spec)
        shown = f"{steps} (epochs={t.epochs} x ceil({train_examples(spec)} examples / batch_size={t.batch_size}))"  # noqa: E501
        return Reading(
            "SGD steps", steps, shown, "; use fewer epochs or examples, or a larger batch"
        )

    return read


@dataclass(frozen=True)
class Cap:
    """One row: a DemoLimits field, its words in the UI and what it bounds."""

    name: str
    words: str
    reads: Callable[[RunSpec], Reading | None] | None = None  # kind "field"
    kind: str = "field"  # field | cost | queue

    @property
    def var(self) -> str:
        return "MEMCORE_DEMO_" + self.name.upper()


def _mlp(s: RunSpec) -> bool:
    return s.model.arch == "mlp"


def _cnn(s: RunSpec) -> bool:
    return s.model.arch == "cnn"


def _csr(s: RunSpec) -> bool:
    return s.metrics.csr_every > 0


ROWS: tuple[Cap, ...] = (
    Cap("max_width", "width ≤ {:g}", _field("model.width", _mlp)),
    Cap("max_width_mult", "CNN width multiplier ≤ {:g}", _field("model.width_mult", _cnn)),
    Cap("max_depth", "depth ≤ {:g}", _field("model.depth", _mlp)),
    Cap("max_epochs", "epochs ≤ {:g}", _field("train.epochs")),
    Cap("max_members", "members ≤ {:g}", _field("train.members")),
    Cap("max_train_size", "≤ {:g} training examples", _train_size),
    Cap("max_steps", "≤ {:g} SGD steps", _steps(sens=False)),
    Cap("max_sens_steps", "≤ {:g} sensitivity steps", _steps(sens=True)),
    Cap("max_csr_probes", "≤ {:g} CSR probes", _field("metrics.csr_probes", _csr)),
    Cap("max_csr_iters", "≤ {:g} LASS iterations", _field("metrics.csr_iters", uses_lass)),
    Cap("max_track_size", "≤ {:g} tracked examples", _field("metrics.track_size")),
    Cap("max_early_steps", "≤ {:g} early evaluations", _field("metrics.early_steps")),
    Cap("max_seconds", "≤ {:g} s estimated per run", kind="cost"),
    Cap("max_memory_mb", "≤ {:g} MB estimated memory", kind="cost"),
    Cap("max_queued_per_session", "≤ {:g} queued runs per visitor", kind="queue"),
    Cap("max_queued", "≤ {:g} queued runs in all", kind="queue"),
)  # fmt: skip

CAPS: dict[str, str] = {row.name: row.var for row in ROWS}  # DemoLimits field -> its setting


@dataclass(frozen=True)
class DemoLimits:
    """Caps of a demo (one field per row of ROWS); None = no cap. `demo` says whether
    MEMCORE_DEMO turned the caps on."""

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
            row.words.format(getattr(self, row.name))
            for row in ROWS
            if getattr(self, row.name) is not None
        ]
        return "Demo limits: " + (", ".join(caps) or "none") + "."


assert [f.name for f in fields(DemoLimits)][2:] == [row.name for row in ROWS]


def limits(env: Mapping[str, str] | None = None) -> DemoLimits:
    """The demo's caps from the settings (os.environ unless `env` is given). Without
    MEMCORE_DEMO every cap is None; MEMCORE_READONLY applies with or without it; a cap of 0 is
    None (no cap). Raises ValueError naming a malformed variable."""
    demo, readonly = settings.get("MEMCORE_DEMO", env), settings.get("MEMCORE_READONLY", env)
    if not demo:
        return DemoLimits(readonly=readonly)
    caps = {row.name: settings.get(row.var, env) or None for row in ROWS}
    return DemoLimits(demo=True, readonly=readonly, **caps)


def exceeds(name: str, value: object, cap: float, var: str, hint: str = "") -> ValueError:
    value = f"{value:g}" if isinstance(value, float) else value
    return ValueError(f"{name}={value} exceeds this demo's cap of {cap:g} (set by {var}){hint}")


def check(spec: RunSpec, limits: DemoLimits, device: str | None = None) -> None:
    """Raise ValueError if `spec` may not be queued under `limits`: read-only, a device chosen,
    over a field's cap, or over the cost caps on `device` (default: the server's, "auto")."""
    if limits.readonly:
        raise ValueError(READONLY_MESSAGE)
    if not limits.demo:
        return
    if spec.train.device != "auto":
        raise ValueError(f"train.device={spec.train.device!r}: {DEVICE_MESSAGE}")
    for row in ROWS:
        cap = getattr(limits, row.name)
        if row.kind != "field" or cap is None or (got := row.reads(spec)) is None:
            continue
        if got.value > cap:
            shown = got.value if got.shown is None else got.shown
            raise exceeds(got.name, shown, cap, row.var, got.hint.format(cap=cap))
    if limits.max_seconds is None and limits.max_memory_mb is None:
        return
    est = cost.estimate(spec, device or cost.resolve("auto"))
    hint = (
        f" ({est.describe()}); use fewer epochs, members, examples or CSR probes/iterations, "
        "measure CSR less often, or train without adversarial examples"
    )
    if limits.max_seconds is not None and est.seconds > limits.max_seconds:
        shown = f"{est.seconds:.0f} s"
        raise exceeds("estimated time", shown, limits.max_seconds, CAPS["max_seconds"], hint)
    if limits.max_memory_mb is not None and est.memory_bytes > limits.max_memory_mb * 1e6:
        shown = f"{est.memory_bytes / 1e6:.0f} MB"
        var = CAPS["max_memory_mb"]
        raise exceeds("estimated memory", shown, limits.max_memory_mb, var, hint)


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
