"""`python -m memcore train ...` (run the engine here, print records) and `... bench`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from memcore.commands._spec_args import add_spec_arguments, spec_from_args

SUMMARY_COLS = ("train_acc", "clean_acc", "noisy_acc", "val_acc", "train_loss", "val_loss")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a spec here and print its records")
    add_spec_arguments(p)
    p.add_argument("--json", action="store_true", help="one JSON line per scalar record")
    p.set_defaults(func=run_train)

    b = sub.add_parser("bench", help="engine vs textbook PyTorch loop, time per model-epoch")
    b.add_argument("--quick", action="store_true", help="small sizes (under a minute on CPU)")
    b.add_argument("--json", action="store_true", help="print one machine-readable JSON line")
    b.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    b.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    b.set_defaults(func=run_bench)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _mean(rows: list[dict[str, Any]], col: str) -> float | None:
    vals = [r[col] for r in rows if r.get(col) is not None]
    return sum(vals) / len(vals) if vals else None


def run_train(args: argparse.Namespace) -> int:
    from memcore.engine import trainer as engine

    spec = spec_from_args(args)
    stream = engine.train(spec)  # validates before anything runs
    rows: list[dict[str, Any]] = []
    csr: dict[float, list[float]] = {}
    for rec in stream:
        kind = rec["type"]
        if kind in ("arrays", "checkpoint"):
            continue
        if args.json:
            print(json.dumps(rec), flush=True)
            continue
        if kind == "meta":
            print(
                f"{spec.data.dataset}: {rec['n_train']} train ({rec['n_noisy']} noisy), "
                f"{rec['n_val']} val, {rec['members']} member(s) on {rec['device']}, "
                f"{rec['steps_per_epoch']} steps/epoch",
                flush=True,
            )
        elif kind == "epoch":
            rows.append(rec)
            if rec["member"] == spec.train.members - 1:
                cur = [r for r in rows if r["epoch"] == rec["epoch"]]
                parts = [f"epoch {rec['epoch']:>6.2f}"]
                parts += [f"{c} {_fmt(_mean(cur, c))}" for c in SUMMARY_COLS[:4]]
                print("  ".join(parts) + f"  ({rec['wall']:.1f}s)", flush=True)
        elif kind == "csr":
            csr.setdefault(rec["epoch"], []).append(rec["csr"])
            if rec["member"] == spec.train.members - 1:
                vals = csr[rec["epoch"]]
                print(f"  csr {sum(vals) / len(vals):.3f} ({rec['iters']} LASS iters)", flush=True)
        elif kind == "sharpness":
            print(f"  sharpness member {rec['member']}: {rec['sharpness']:.4g}", flush=True)
        elif kind == "done":
            _summary(rows, rec)
    return 0


def _summary(rows: list[dict[str, Any]], done: dict[str, Any]) -> None:
    """Final table: last evaluation, mean over members, plus best validation accuracy."""
    if not rows:
        return
    last = [r for r in rows if r["epoch"] == rows[-1]["epoch"]]
    print(f"\nsummary after epoch {rows[-1]['epoch']} (mean over {len(last)} member(s)):")
    for c in SUMMARY_COLS:
        print(f"  {c:<12}{_fmt(_mean(last, c)):>8}")
    print(f"  {'best_val_acc':<12}{_fmt(done['summary'].get('best_val_acc')):>8}")
    print(f"  {'wall':<12}{done['wall']:>7.1f}s")


def run_bench(args: argparse.Namespace) -> int:
    import torch

    from memcore.engine import bench

    if args.threads:
        if args.threads < 1:
            raise ValueError(f"--threads={args.threads} is invalid: must be >= 1")
        torch.set_num_threads(args.threads)  # this process only (a CLI choice)
    result = bench.run(quick=args.quick, device=args.device)
    if args.json:
        print(json.dumps(result))
    else:
        print(bench.format_table(result))
    sys.stdout.flush()
    return 0
