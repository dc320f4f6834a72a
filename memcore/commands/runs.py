"""Inspect runs: status, runs (a table of the store), export (all take --store).

    python -m memcore status KEY [--json]     runs [--status done] [--json]
    python -m memcore export KEY --format csv|parquet|json [--out FILE]

KEY may be a unique prefix of a run key (at least 6 characters).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import pandas as pd

from memcore.commands._store_args import add_store_argument, handled, resolve_key
from memcore.records import SCALAR_TYPES, frame


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


@handled
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


@handled
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


def export_frame(records: list[dict]) -> pd.DataFrame:
    """One tidy table of the scalar records (epoch, csr, sharpness, sens) with a type column."""
    parts = [
        frame(records, t).assign(type=t)
        for t in SCALAR_TYPES
        if t not in ("meta", "done") and any(r["type"] == t for r in records)
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["type"])


@handled
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
    p = sub.add_parser("status", help="show a run's status and progress")
    p.add_argument("key", help="run key (or a unique prefix)")
    add_store_argument(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("runs", help="list runs in the store")
    add_store_argument(p)
    p.add_argument("--status", choices=["queued", "running", "done", "failed", "cancelled"])
    p.add_argument("--dataset", default=None)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("export", help="export a run's records as csv, parquet or json")
    p.add_argument("key", help="run key (or a unique prefix)")
    add_store_argument(p)
    p.add_argument("--format", choices=["csv", "parquet", "json"], default="csv")
    p.add_argument("--out", default=None, help="output file (default stdout; parquet: KEY.parquet)")
    p.set_defaults(func=cmd_export)
