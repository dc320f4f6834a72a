"""What the job verbs share: the --store flag, run keys by prefix, and one-line errors."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path


def add_store_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store", default=None, help="store folder (default $MEMCORE_STORE or cache/store)"
    )


def handled(func):
    """Missing runs and store errors: one line on stderr, exit 1 (ValueError: cli.main, 2). A
    run not found in a damaged index says the index is damaged, not "no run"."""

    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        from memcore.store import StoreError

        try:
            return func(args)
        except (KeyError, StoreError) as e:
            msg = e.args[0] if e.args else str(e)
            if isinstance(e, KeyError):
                msg = _damage(getattr(args, "store", None)) or msg
            print(f"error: {msg}", file=sys.stderr)
            return 1

    return wrapper


def _damage(store) -> str | None:
    """The damaged-index message when SQLite's quick check fails on the store, else None."""
    from memcore.store import default_path
    from memcore.store.cachefile import integrity
    from memcore.store.faults import damaged_message

    path = Path(store or default_path()).resolve()
    try:
        found = integrity(path)
    except Exception:  # the check itself failed (a full disk): no verdict on damage
        return None
    return damaged_message(path, f"is damaged ({found[0]})") if found else None


def resolve_key(prefix: str, store) -> str:
    """A full key from a unique prefix (>= 6 hex characters)."""
    from memcore.store import open_store

    runs = open_store(store).index.runs()
    if prefix in runs:
        return prefix
    hits = [k for k in runs if k.startswith(prefix)] if len(prefix) >= 6 else []
    if len(hits) != 1:
        why = "matches several runs" if hits else "matches no run"
        raise KeyError(f"run key {prefix!r} {why} in the store")
    return hits[0]
