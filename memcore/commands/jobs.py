"""Job verbs that ask for work: submit, worker, cancel, delete, retry, recompute (--store).

    python -m memcore submit --preset digits-mlp --width 64      # prints the key last
    python -m memcore worker --device cuda:0 --max-jobs 10
    python -m memcore cancel|delete|retry|recompute KEY

KEY may be a unique prefix of a run key (at least 6 characters). With a public demo's settings
on (memcore/demo/), submit, retry and recompute check its caps first, as the app does.
Inspecting runs: memcore/commands/runs.py.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

from memcore import settings
from memcore.commands._spec_args import add_spec_arguments, spec_from_args
from memcore.commands._store_args import add_store_argument, handled, resolve_key


# -- submit / worker --------------------------------------------------------------------------
@handled
def cmd_submit(args: argparse.Namespace) -> int:
    from memcore import demo
    from memcore.jobs import api, pool

    spec = spec_from_args(args)  # ValueError naming the field -> exit 2, nothing queued
    key = demo.submit(spec, args.store, retry=args.retry)  # a demo's caps: ValueError -> exit 2
    st = api.status(key, args.store)
    if args.workers:
        pool.ensure_workers(args.workers, args.store)
    if args.wait and st.status in ("queued", "running"):
        if not args.workers and not pool.workers_alive(args.store):
            print("note: no worker is alive; start one: python -m memcore worker", file=sys.stderr)
        last = None
        while st.status in ("queued", "running"):
            line = f"{st.status} {100 * st.fraction:5.1f}% epoch {st.epoch:g}"
            if line != last:
                print(line, file=sys.stderr, flush=True)
                last = line
            time.sleep(0.25)
            st = api.status(key, args.store)
    if st.status == "failed":
        print(f"failed: {st.error}", file=sys.stderr)
    print(f"{st.status} {key}")
    return 1 if args.wait and st.status != "done" else 0


@handled
def cmd_worker(args: argparse.Namespace) -> int:
    # SIGTERM is caught from the start, not only once serving: a stop during the seconds that
    # importing torch takes on a loaded machine ends the worker cleanly and at once.
    term = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: term.set())
    from memcore.jobs.worker import Worker
    from memcore.store import Store
    from memcore.sweeps import batches

    store = Store(args.store, lease_s=args.lease)
    threads = args.threads or default_threads()
    import torch

    # Small models run at ~80% of matmul peak on one thread, while several OpenMP threads
    # competing with the app (or other workers) for the same cores can be 10x slower.
    torch.set_num_threads(threads)
    worker = Worker(store, device=args.device, parent=args.parent_pid)
    worker.term = term
    hook = batches.serve_hook(worker)  # a sweep's same-shape specs as one run
    code = worker.serve(max_jobs=args.max_jobs, idle_exit=args.idle_exit, before_claim=hook)
    if term.is_set():  # stopped: every write is committed; skip the interpreter's teardown
        sys.stdout.flush()  # (torch's takes seconds) to stay inside a container's stop grace
        sys.stderr.flush()
        os._exit(code)
    return code


def default_threads() -> int:
    """Torch threads per worker: setting MEMCORE_THREADS, else the cores left after one for the
    app, shared among MEMCORE_WORKERS workers (at least 1)."""
    threads = settings.get("MEMCORE_THREADS")
    if threads is not None:
        return max(1, threads)
    workers = max(1, settings.get("MEMCORE_WORKERS"))
    return max(1, ((os.cpu_count() or 1) - 1) // workers)


# -- change -----------------------------------------------------------------------------------
@handled
def cmd_cancel(args: argparse.Namespace) -> int:
    from memcore import demo

    key = resolve_key(args.key, args.store)
    print(f"{demo.cancel(key, args.store)} {key}")
    return 0


@handled
def cmd_delete(args: argparse.Namespace) -> int:
    from memcore import demo

    key = resolve_key(args.key, args.store)
    demo.delete(key, args.store)
    print(f"deleted {key}")
    return 0


@handled
def cmd_retry(args: argparse.Namespace) -> int:
    from memcore import demo

    key = resolve_key(args.key, args.store)
    print(f"{demo.retry(key, args.store)} {key}")
    return 0


@handled
def cmd_recompute(args: argparse.Namespace) -> int:
    """Drop a run's records and files and queue it again (e.g. after a corrupt artifact)."""
    from memcore import demo
    from memcore.jobs import api

    key = resolve_key(args.key, args.store)
    demo.check_manage(key)
    demo.check(api.spec(key, args.store), demo.limits())  # new work: read-only mode and caps
    if not api.mark_recompute(key, args.store):
        print(f"error: run {key[:12]} is running; cancel it first", file=sys.stderr)
        return 1
    print(f"queued {key}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="queue a run for the workers (prints its key last)")
    add_spec_arguments(p)
    add_store_argument(p)
    p.add_argument("--wait", action="store_true", help="block until the run finishes")
    p.add_argument(
        "--retry", action="store_true", help="requeue the run if it failed/was cancelled"
    )
    p.add_argument("--workers", type=int, default=0, help="ensure N workers are alive first")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("worker", help="run queued jobs (a long-lived process)")
    add_store_argument(p)
    p.add_argument("--device", default=None, help="device for specs with train.device=auto")
    p.add_argument("--max-jobs", type=int, default=None, help="exit after N jobs")
    p.add_argument("--idle-exit", type=float, default=None, help="exit after S idle seconds")
    p.add_argument("--lease", type=float, default=None, help="lease seconds (default 30)")
    p.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        help="exit (requeueing the job) when this process is gone (the app that started it)",
    )
    p.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: default_threads())"
    )
    p.set_defaults(func=cmd_worker)

    for name, func, text in (
        ("cancel", cmd_cancel, "cancel a queued or running run"),
        ("delete", cmd_delete, "delete a run and its files"),
        ("retry", cmd_retry, "requeue a failed or cancelled run"),
        ("recompute", cmd_recompute, "drop a run's results and queue it again from scratch"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("key", help="run key (or a unique prefix)")
        add_store_argument(p)
        p.set_defaults(func=func)
