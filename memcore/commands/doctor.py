"""`python -m memcore doctor [--store PATH] [--repair] [--json]`: check the store, or fix it.

Without --repair nothing is changed: the report lists problems (a damaged or empty index, runs
missing from the list of runs, stale queue entries, missing files) and orphan files. --repair
rebuilds the index's lists from what is there, salvages a damaged index (the old one is moved
aside, never deleted) and deletes orphan files. Exit 0 when the store is healthy, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json

from memcore.commands._store_args import add_store_argument, handled


@handled
def cmd_doctor(args: argparse.Namespace) -> int:
    from memcore.store import default_path, doctor

    path = args.store or default_path()
    report = doctor.repair(path) if args.repair else doctor.check(path)
    if args.json:
        doc = {
            "path": str(report.path),
            "runs": report.runs,
            "healthy": report.healthy,
            "problems": report.problems,
            "orphans": [str(p.relative_to(report.path)) for p in report.orphans],
            "fixed": report.fixed,
        }
        print(json.dumps(doc, indent=1))
    else:
        print("\n".join(report.lines()))
        if report.healthy:
            print("healthy")
        elif not args.repair:
            print(f"to fix it: python -m memcore doctor --store {report.path} --repair")
    return 0 if report.healthy else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check the store (index vs runs vs files); --repair fixes")
    add_store_argument(p)
    p.add_argument(
        "--repair",
        action="store_true",
        help="rebuild the index's lists, salvage a damaged index, delete orphan files",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)
