"""Job verbs: submit, worker, status, runs, cancel, delete, retry, recompute, export (--store).

    python -m memcore submit --preset digits-mlp --width 64      # prints the key last
    python -m memcore worker --device cuda:0 --max-jobs 10
    python -m memcore status KEY [--json]     runs [--status done] [--json]
    python -m memcore export KEY --format csv|parquet|json [--out FILE]

KEY may be a unique prefix of a run key (at least 6 characters). With a public demo's settings
on (memcore/demo.py), submit and retry check its caps first, as the app does.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sys
import time

import pandas as pd

from memcore import settings
from memcore.commands._spec_args import add_spec_arguments, spec_from_args
from memcore.records import SCALAR_TYPES, frame


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store", default=None, help="store folder (default $MEMCORE_STORE or cache/store)"
    )


def _handled(func):
    """Missing runs and store errors: one line on stderr, exit 1 (ValueError: cli.main, 2)."""

    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        from memcore.jobs.store import StoreError

        try:
            return func(args)
        except (KeyError, StoreError) as e:
            msg = e.args[0] if e.args else str(e)
            print(f"error: {msg}", file=sys.stderr)
            return 1

    return wrapper


def resolve_key(prefix: str, store) -> str:
    """A full key from a unique prefix (>= 6 hex characters)."""
    from memcore.jobs.store import open_store

    runs = open_store(store).index.runs()
    if prefix in runs:
        return prefix
    hits = [k for k in runs if k.startswith(prefix)] if len(prefix) >= 6 else []
    if len(hits) != 1:
        why = "matches several runs" if hits else "matches no run"
        raise KeyError(f"run key {prefix!r} {why} in the store")
    return hits[0]


# -- submit / worker --------------------------------------------------------------------------
@_handled
def cmd_submit(args: argparse.Namespace) -> int:
    from memcore import demo
    from memcore.jobs import api, pool

    spec = spec_from_args(args)  # ValueError naming the field -> exit 2, nothing queued
    demo.check_submit([spec], args.store, retry=args.retry)  # caps: ValueError -> exit 2
    key = api.submit(spec, args.store, retry=args.retry)
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


def cmd_worker(args: argparse.Namespace) -> int:
    from memcore.jobs.store import Store
    from memcore.jobs.worker import Worker

    store = Store(args.store, lease_s=args.lease)
    threads = args.threads or default_threads()
    import torch

    # Small models run at ~80% of matmul peak on one thread, while several OpenMP threads
    # competing with the app (or other workers) for the same cores can be 10x slower.
    torch.set_num_threads(threads)
    return Worker(store, device=args.device).serve(max_jobs=args.max_jobs, idle_exit=args.idle_exit)


def default_threads() -> int:
    """Torch threads per worker: setting MEMCORE_THREADS, else the cores left after one for the
    app, shared among MEMCORE_WORKERS workers (at least 1)."""
    threads = settings.get("MEMCORE_THREADS")
    if threads is not None:
        return max(1, threads)
    workers = max(1, settings.get("MEMCORE_WORKERS"))
    return max(1, ((os.cpu_count() or 1) - 1) // workers)


# -- inspect ----------------------------------------------------------------------------------
def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


@_handled
def cmd_status(args: argparse.Namespace) -> int:
    from memcore.jobs import api

    key = resolve_key(args.key, args.store)
    st = api.status(key, args.store)
    if args.json:
        print(json.dumps(dataclasses.asdict(st), indent=2, default=str))
        return 0
    spec = api.spec(key, args.store)
    eta = f", about {st.eta:.0f}s left" if st.eta is not None else ""
    pos = (
        f" (position {st.queue_position + 1} in the queue)" if st.queue_position is not None else ""
    )
    print(f"run       {key}")
    print(
        f"task      {spec.task} on {spec.data.dataset}, {spec.model.arch} width {spec.model.width}"
    )
    stalled = " (its worker stopped: resumes when a worker is alive)" if st.stalled else ""
    print(f"status    {st.status}{pos}{stalled}")
    print(f"progress  {100 * st.fraction:.1f}% (epoch {st.epoch:g} of {st.epochs}){eta}")
    print(f"records   {st.n_records} committed; attempts {st.attempts}; worker {st.worker or '-'}")
    dur = f"{st.duration:.1f}s" if st.duration is not None else "-"
    print(f"times     submitted {_when(st.submitted)}, finished {_when(st.finished)}, ran {dur}")
    for k, v in (st.summary or {}).items():
        if isinstance(v, int | float) and not isinstance(v, bool):
            print(f"summary   {k} = {v:.4g}")
    if st.error:
        print(f"error     {st.error}")
    return 0


COLUMNS = {
    "key": "key",
    "status": "status",
    "task": "task",
    "data.dataset": "dataset",
    "noise.kind": "noise",
    "noise.level": "level",
    "model.width": "width",
    "train.epochs": "epochs",
    "train.members": "K",
    "fraction": "done%",
    "summary.final_train_acc": "train_acc",
    "summary.final_val_acc": "val_acc",
    "duration": "secs",
}


@_handled
def cmd_runs(args: argparse.Namespace) -> int:
    from memcore.jobs import api

    rows = api.list_runs(args.store, status=args.status, dataset=args.dataset, limit=args.limit)
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
        return 0
    if not rows:
        print("no runs")
        return 0
    df = pd.DataFrame(rows).reindex(columns=list(COLUMNS)).rename(columns=COLUMNS)
    df["key"] = df["key"].str[:12]
    df["done%"] = (100 * df["done%"]).round(0)
    df = df.round(3).astype(object).where(df.notna(), "-")
    print(df.to_string(index=False, float_format=lambda v: f"{v:.3g}", na_rep="-"))
    return 0


# -- change -----------------------------------------------------------------------------------
@_handled
def cmd_cancel(args: argparse.Namespace) -> int:
    from memcore import demo
    from memcore.jobs import api

    key = resolve_key(args.key, args.store)
    demo.check_manage(key)
    print(f"{api.cancel(key, args.store)} {key}")
    return 0


@_handled
def cmd_delete(args: argparse.Namespace) -> int:
    from memcore import demo
    from memcore.jobs import api

    key = resolve_key(args.key, args.store)
    demo.check_manage(key)
    api.delete(key, args.store)
    print(f"deleted {key}")
    return 0


@_handled
def cmd_retry(args: argparse.Namespace) -> int:
    from memcore import demo
    from memcore.jobs import api

    key = resolve_key(args.key, args.store)
    demo.check_submit([api.spec(key, args.store)], args.store, retry=True)
    print(f"{api.retry(key, args.store)} {key}")
    return 0


@_handled
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


def export_frame(records: list[dict]) -> pd.DataFrame:
    """One tidy table of the scalar records (epoch, csr, sharpness, sens) with a type column."""
    parts = [
        frame(records, t).assign(type=t)
        for t in SCALAR_TYPES
        if t not in ("meta", "done") and any(r["type"] == t for r in records)
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["type"])


@_handled
def cmd_export(args: argparse.Namespace) -> int:
    from memcore.jobs import api

    key = resolve_key(args.key, args.store)
    recs = api.records(key, 0, args.store)
    if args.format == "json":
        doc = {
            "key": key,
            "spec": api.spec(key, args.store).to_dict(),
            "status": dataclasses.asdict(api.status(key, args.store)),
            "records": recs,
        }
        text = json.dumps(doc, indent=1, default=str)
        if args.out:
            with open(args.out, "w") as f:
                f.write(text)
        else:
            print(text)
    else:
        df = export_frame(recs)
        df.insert(0, "key", key)
        if args.format == "csv":
            df.to_csv(args.out or sys.stdout, index=False)
        else:
            out = args.out or f"{key[:12]}.parquet"
            df.to_parquet(out, index=False)
    if args.out or args.format == "parquet":
        print(f"wrote {args.out or f'{key[:12]}.parquet'}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="queue a run for the workers (prints its key last)")
    add_spec_arguments(p)
    _store_arg(p)
    p.add_argument("--wait", action="store_true", help="block until the run finishes")
    p.add_argument(
        "--retry", action="store_true", help="requeue the run if it failed/was cancelled"
    )
    p.add_argument("--workers", type=int, default=0, help="ensure N workers are alive first")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("worker", help="run queued jobs (a long-lived process)")
    _store_arg(p)
    p.add_argument("--device", default=None, help="device for specs with train.device=auto")
    p.add_argument("--max-jobs", type=int, default=None, help="exit after N jobs")
    p.add_argument("--idle-exit", type=float, default=None, help="exit after S idle seconds")
    p.add_argument("--lease", type=float, default=None, help="lease seconds (default 30)")
    p.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: default_threads())"
    )
    p.set_defaults(func=cmd_worker)

    for name, func, text in (
        ("status", cmd_status, "show a run's status and progress"),
        ("cancel", cmd_cancel, "cancel a queued or running run"),
        ("delete", cmd_delete, "delete a run and its files"),
        ("retry", cmd_retry, "requeue a failed or cancelled run"),
        ("recompute", cmd_recompute, "drop a run's results and queue it again from scratch"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("key", help="run key (or a unique prefix)")
        _store_arg(p)
        if name == "status":
            p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)

    p = sub.add_parser("runs", help="list runs in the store")
    _store_arg(p)
    p.add_argument("--status", choices=["queued", "running", "done", "failed", "cancelled"])
    p.add_argument("--dataset", default=None)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("export", help="export a run's records as csv, parquet or json")
    p.add_argument("key", help="run key (or a unique prefix)")
    _store_arg(p)
    p.add_argument("--format", choices=["csv", "parquet", "json"], default="csv")
    p.add_argument("--out", default=None, help="output file (default stdout; parquet: KEY.parquet)")
    p.set_defaults(func=cmd_export)
