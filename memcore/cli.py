"""`python -m memcore COMMAND ...`: one argparse sub-command per verb.

Each module in memcore.commands has `register(subparsers)`, adding its verbs with
`set_defaults(func=...)`; a func returns an exit code. A ValueError (invalid spec, missing
dataset) prints a one-line error and exits with 2, never a traceback; so does an invalid setting
(memcore.settings), checked once before any verb runs.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import memcore.commands
from memcore import settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m memcore", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for mod in sorted(pkgutil.iter_modules(memcore.commands.__path__), key=lambda m: m.name):
        if not mod.name.startswith("_"):
            importlib.import_module(f"memcore.commands.{mod.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if bad := settings.problems():  # once, at start: a worker must not run on a bad setting
        print("\n".join(f"error: {p}" for p in bad), file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
