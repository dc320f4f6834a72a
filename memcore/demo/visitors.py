"""Who a demo visitor is, which runs they own and how many they have queued.

A `Visitor` has two names. `session` is the browser session (Streamlit's session id): a visitor
may cancel or delete only runs their own session created. `client` names the person across
reloads, for the per-visitor queue quota: the client's address when the app knows it
(`client_address`: the connection's address, or with MEMCORE_DEMO_PROXIES=N the N-th address
from the right of X-Forwarded-For, as set by N trusted reverse proxies). When it does not
(Streamlit gives no address for a loopback client: a visitor on the server itself, or every
visitor behind a reverse proxy on the same host that MEMCORE_DEMO_PROXIES does not name), all
such visitors share ONE quota (`NO_ADDRESS`): falling back to the browser session would give a
fresh quota on every reload. A reload gives a new session (the runs it queued stay counted
against the address) but no ownership of the old session's runs.

The app passes the visitor explicitly to every check (memcore.demo), taken from the Streamlit
context of the call itself, so a fragment's own rerun (a new thread that never ran the page's
top) knows the visitor as well as a full run does. `None` is an operator (the command line, a
script): no quota, anything goes.

The ledger lives in this process (one app server); it is thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

UNKNOWN = "?"  # inside the app but without a session: owns nothing (fail closed)
NO_ADDRESS = "no known address"  # the one quota of every visitor whose address is unknown
NO_ADDRESS_HINT = (
    "visitors without a known address share one quota (behind a reverse proxy, set "
    "MEMCORE_DEMO_PROXIES to the number of proxies so each visitor is counted apart)"
)


@dataclass(frozen=True)
class Visitor:
    """A demo visitor: `session` owns runs, `client` carries the quota (address or session)."""

    session: str
    client: str

    @classmethod
    def of(cls, session: str, address: str | None = None) -> Visitor:
        return cls(session, f"address {address}" if address else NO_ADDRESS)


def client_address(headers: Mapping[str, str], remote: str | None, proxies: int) -> str | None:
    """The visitor's address: `remote` (the connection's) with no trusted proxy; with `proxies`
    = N trusted reverse proxies in front of the app, the N-th entry from the right of the
    X-Forwarded-For header (entries further left are whatever the client chose to send). None
    when the header has fewer entries than that (then the session names the visitor)."""
    if proxies <= 0:
        return remote or None
    text = ",".join(v for k, v in headers.items() if k.lower() == "x-forwarded-for")
    hops = [h.strip() for h in text.split(",") if h.strip()]
    return hops[-proxies] if len(hops) >= proxies else None


class Ledger:
    """Runs each session owns and each client has queued (keys), in this process.

    A session owns one incarnation of a run: the key with its job's submit time, so a run
    deleted and submitted again by someone else is not still "theirs". `admitting` is held by
    the demo's submit verb around check, enqueue and note (memcore/demo/verbs.py)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.admitting = threading.Lock()
        self._owned: dict[str, dict[str, float | None]] = {}
        self._queued: dict[str, list[str]] = {}

    def owns(self, visitor: Visitor, key: str, submitted: float | None = None) -> bool:
        """Whether the visitor's session created run `key` (the incarnation submitted at
        `submitted`, when given)."""
        with self._lock:
            mine = self._owned.get(visitor.session, {})
            if visitor.session == UNKNOWN or key not in mine:
                return False
            return submitted is None or mine[key] is None or mine[key] == submitted

    def owned(self, session: str) -> frozenset[str]:
        with self._lock:
            return frozenset(self._owned.get(session, ()))

    def active(self, visitor: Visitor, is_active: Callable[[str], bool]) -> list[str]:
        """The client's queued keys still queued or running (finished ones are dropped)."""
        with self._lock:
            keys = list(self._queued.get(visitor.client, ()))
        alive = [k for k in keys if is_active(k)]
        with self._lock:
            self._queued[visitor.client] = alive + [
                k for k in self._queued.get(visitor.client, ()) if k not in keys
            ]
        return alive

    def note(
        self,
        visitor: Visitor,
        queued: Iterable[str],
        created: Iterable[str],
        submitted: float | None = None,
    ) -> None:
        """Count `queued` keys against the client; the session owns the `created` ones (runs
        new to the store, submitted at `submitted`; not retries of someone else's run)."""
        with self._lock:
            mine = self._queued.setdefault(visitor.client, [])
            mine.extend(k for k in queued if k not in mine)
            owned = self._owned.setdefault(visitor.session, {})
            owned.update(dict.fromkeys(created, submitted))


LEDGER = Ledger()
