"""The demo's guarded verbs: submit, submit_sweep, retry, cancel and delete, each checking the
caps (or the visitor's ownership) and acting as ONE step under the store's lock.

The spec caps (memcore.demo.caps.check: fields and cost) depend on the spec alone and are
checked first. The queue caps count jobs in the store, so they are checked inside the enqueue's
transaction (jobqueue.Admit): N sessions pressing Run at once see each other's jobs, and at most
the cap is queued. The per-visitor count lives in this process's ledger; `ledger.admitting`
holds it across the transaction and the note, so two tabs of one visitor cannot both pass.
Ownership (cancel, delete) is checked inside the cancel's or delete's own transaction, against
the incarnation of the run the session created (its job's submit time).

`visitor=None` is an operator (the CLI, a script): no quota and no ownership, but read-only
mode and the global caps still hold.
"""

from __future__ import annotations

from collections.abc import Iterable

from memcore.demo import caps, visitors
from memcore.demo.visitors import NO_ADDRESS, NO_ADDRESS_HINT, Ledger, Visitor
from memcore.jobs import api
from memcore.jobs.control import as_spec
from memcore.spec import RunSpec
from memcore.store import ACTIVE, StoreArg, open_store
from memcore.store.index import RunIndex

MANAGE_MESSAGE = "this demo lets a visitor cancel or delete only the runs of their own session"


class _Admission:
    """jobqueue.Admit for one call: the queue caps, read inside the enqueue's transaction; it
    remembers what it admitted, for the ledger."""

    def __init__(self, lim: caps.DemoLimits, visitor: Visitor | None, ledger: Ledger) -> None:
        self.lim, self.visitor, self.ledger = lim, visitor, ledger
        self.adding: list[str] = []
        self.created: list[str] = []
        self.now: float | None = None

    def __call__(self, ix: RunIndex, adding: list[str], created: list[str], now: float) -> None:
        lim, who = self.lim, self.visitor
        total = len(set(ix.queue()) | set(ix.running())) if lim.max_queued else 0
        mine = 0
        if who is not None and lim.max_queued_per_session:
            mine = len(self.ledger.active(who, lambda k: ix.status(k) in ACTIVE))
        try:
            caps.check_queue(lim, active_total=total, active_session=mine, adding=len(adding))
        except ValueError as e:
            shared = who is not None and who.client == NO_ADDRESS
            if shared and caps.CAPS["max_queued_per_session"] in str(e):
                raise ValueError(f"{e} ({NO_ADDRESS_HINT})") from None
            raise
        self.adding, self.created, self.now = adding, created, now


def _ledger() -> Ledger:
    return visitors.LEDGER


def _check_new(
    specs: Iterable[RunSpec | dict | str], ix: RunIndex, lim: caps.DemoLimits, retry: bool
) -> list[RunSpec]:
    """The spec caps for the runs a submit would add (a stored run is served whatever its
    size; a failed or cancelled one is new work when retried); returns those runs."""
    again = ("failed", "cancelled") if retry else ()
    unique = {s.key: s for s in map(as_spec, specs)}.values()
    new = [s for s in unique if ix.status(s.key) in (None, *again)]
    for s in new:
        caps.check(s, lim)
    return new


def _submit(specs, store, retry, visitor, sweep: bool):
    lim = caps.limits()
    if not lim.active:
        fn = api.submit_sweep if sweep else api.submit
        return fn(specs if sweep else specs[0], store, retry=retry)
    s = open_store(store)
    _check_new(specs, s.index, lim, retry)
    ledger = _ledger()
    admit = _Admission(lim, visitor, ledger)
    with ledger.admitting:
        if sweep:
            out = api.submit_sweep(specs, s, retry=retry, admit=admit)
        else:
            out = api.submit(specs[0], s, retry=retry, admit=admit)
        if visitor is not None and admit.adding:
            ledger.note(visitor, admit.adding, admit.created, admit.now)
    return out


def submit(
    spec: RunSpec | dict | str,
    store: StoreArg = None,
    *,
    retry: bool = False,
    visitor: Visitor | None = None,
) -> str:
    """Queue `spec` for `visitor` (None: an operator) unless the store has it; returns its key.
    Raises ValueError (nothing queued) when the spec is invalid or the demo's caps refuse it:
    a field or cost cap, read-only mode, or the queue caps (checked atomically with the
    enqueue). A stored done, queued or running run is returned as is, whatever its size."""
    return _submit([spec], store, retry, visitor, sweep=False)


def submit_sweep(
    specs: list, store: StoreArg = None, *, retry: bool = False, visitor: Visitor | None = None
) -> str:
    """`submit` for a grid of runs all at once (none queued if one is refused); the sweep id."""
    return _submit(list(specs), store, retry, visitor, sweep=True)


def retry(key: str, store: StoreArg = None, visitor: Visitor | None = None) -> str:
    """Requeue a failed or cancelled run under the caps (api.retry's answers otherwise)."""
    st, _ = open_store(store).index.require(key)
    if st == "done" or st in ACTIVE:
        return api.retry(key, store)
    submit(api.spec(key, store), store, retry=True, visitor=visitor)
    return "queued"


def _owner_guard(visitor: Visitor | None):
    lim = caps.limits()
    if not lim.active or visitor is None:
        return None

    def guard(ix: RunIndex, key: str) -> None:
        job = ix.job(key) or {}
        if not _ledger().owns(visitor, key, job.get("submitted")):
            raise ValueError(MANAGE_MESSAGE)

    return guard


def check_manage(key: str, visitor: Visitor | None = None, store: StoreArg = None) -> None:
    """Raise ValueError if `visitor` may not cancel or delete run `key` (demo on, or read-only,
    and not a run their session created); None is an operator: anything goes."""
    guard = _owner_guard(visitor)
    if guard is not None:
        guard(open_store(store).index, key)


def cancel(key: str, store: StoreArg = None, visitor: Visitor | None = None) -> str:
    """Cancel run `key` if `visitor` may (its session created it; None: an operator); the
    check and the cancel are one transaction. ValueError when refused."""
    return api.cancel(key, store, guard=_owner_guard(visitor))


def delete(key: str, store: StoreArg = None, visitor: Visitor | None = None) -> bool:
    """Delete run `key` and its files if `visitor` may (as `cancel`). ValueError when refused."""
    return api.delete(key, store, guard=_owner_guard(visitor))


def check_submit(specs: Iterable[RunSpec | dict | str], store: StoreArg = None) -> None:
    """Check an operator's figure sweep before a backend runs it (the CLI's `figure`: the
    backend submits it itself): the spec caps and read-only mode for the runs it would add,
    and the global queue cap at this moment (an operator's, not a visitor's, so not atomic)."""
    lim = caps.limits()
    if not lim.active:
        return
    ix = open_store(store).index
    new = _check_new(specs, ix, lim, retry=True)
    total = len(set(ix.queue()) | set(ix.running())) if lim.max_queued else 0
    caps.check_queue(lim, active_total=total, adding=len(new))
