"""`python -m memcore doctor [--store PATH] [--repair] [--json]`: check the store, or fix it.

Without --repair nothing is changed: the report lists problems (a damaged, empty or missing
index, runs missing from the list of runs or lost entries, stale queue entries), runs whose
records or files are lost or corrupt (chunk counts and sha256 checked; `recompute KEY` fixes
them) and orphan files. --repair rebuilds the index's lists from what is there, salvages a
damaged index (the old one is moved aside, never deleted) and moves files of no known run
aside (never deleted); on a full disk it changes nothing. What each may and may not do:
memcore/store/doctor.py and memcore/store/repair.py. Exit 0 when the store is healthy, else 1.
"""

from __future__ import annotations

import argparse
import json

from memcore.commands._store_args import add_store_argument, handled


@handled
def cmd_doctor(args: argparse.Namespace) -> int:
    from memcore.store import default_path, doctor, repair

    path = args.store or default_path()
    report = repair.repair(path) if args.repair else doctor.check(path)  # StoreError: exit 1
    if args.json:
        doc = {
            "path": str(report.path),
            "runs": report.runs,
            "healthy": report.healthy,
            "blocked": report.blocked,
            "problems": report.problems,
            "recompute": report.recompute,
            "orphans": [str(p.relative_to(report.path)) for p in report.orphans],
            "fixed": report.fixed,
        }
        print(json.dumps(doc, indent=1))
    else:
        print("\n".join(report.lines()))
        if report.healthy:
            print("healthy")
        for line in report.advice():
            print(line)
    return 0 if report.healthy else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check the store (index vs runs vs files); --repair fixes")
    add_store_argument(p)
    p.add_argument(
        "--repair",
        action="store_true",
        help="rebuild the index's lists, salvage a damaged index, move orphan files aside",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)
