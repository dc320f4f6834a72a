"""What docker/entrypoint.sh checks before it starts anything, so that a broken setting stops the
container at once, with the reason in `docker logs`, instead of at a visitor's first click.

`python docker/preflight.py`: prints the demo's limits and exits 0; exits 2 with the reason when
a setting is malformed (memcore.settings.problems: the demo's and every other), or when the run
store cannot be written by this user (a bind-mounted folder owned by someone else, a read-only
mount) while the demo is meant to run jobs: the workers would die in a loop while the app said
it was healthy. A read-only demo (MEMCORE_READONLY=1) may serve a store it cannot write.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: memcore


def store_problem() -> str | None:
    """Why the store at MEMCORE_STORE cannot take new runs, or None when it can."""
    from memcore.store import open_store
    from memcore.store.faults import StoreError

    try:
        store = open_store()
        store.writable("running jobs")
    except (StoreError, OSError) as e:
        return (
            f"the run store cannot be written by uid {os.getuid()}: {e}. Give the folder to that "
            "user (a host folder: `sudo chown -R 10001:10001 DIR`), use a named volume, or set "
            "MEMCORE_READONLY=1 to serve its stored runs only"
        )
    return None


def main() -> int:
    from memcore import demo

    try:
        limits = demo.limits()
    except ValueError as e:
        print(f"invalid demo setting: {e}", file=sys.stderr)
        return 2
    from memcore import settings

    if bad := settings.problems():  # every setting, not only the demo's: a worker would exit 2
        print("invalid setting: " + "; ".join(bad), file=sys.stderr)
        return 2
    print(limits.describe())
    problem = None if limits.readonly else store_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
