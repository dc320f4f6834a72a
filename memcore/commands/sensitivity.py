"""`python -m memcore sensitivity --dataset digits --noise randX --level 1.0 [--labels unique]
[--json]`: the unrolled loss-sensitivity experiment here (PAPER.md 4-5), default preset
sensitivity-2x16 (1,000 examples, 2x16 MLP, 1 epoch at batch 10, evaluation every 10 steps).

Prints one line per evaluation (Gini of the running-mean sensitivity, and of the
equal-weight-per-time variant), then a summary; with --json, one JSON line per scalar record
("meta", "sens", "done") plus a final {"type": "class_matrix"} line with the per-class matrix.
"""

from __future__ import annotations

import argparse
import json

from memcore.commands._spec_args import add_spec_arguments, spec_from_args
from memcore.spec.words import describe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sensitivity", help="unrolled loss-sensitivity, its Gini and class matrix")
    add_spec_arguments(p, default_preset="sensitivity-2x16")
    p.add_argument("--json", action="store_true", help="one JSON line per record")
    p.set_defaults(func=run_sensitivity)


def run_sensitivity(args: argparse.Namespace) -> int:
    from memcore.engine import sensitivity_task

    spec = spec_from_args(args).replace(task="sensitivity")
    matrix = None
    for rec in sensitivity_task.run(spec):
        kind = rec["type"]
        if kind == "arrays":
            matrix = rec["arrays"]["class_matrix"]
            continue
        if args.json:
            print(json.dumps(rec), flush=True)
        elif kind == "meta":
            print(
                f"{describe(spec)}: {rec['n_train']} examples ({rec['n_noisy']} "
                f"noisy), {rec['steps_per_epoch']} steps/epoch, mode {spec.metrics.sens_mode}",
                flush=True,
            )
        elif kind == "sens":
            print(
                f"step {rec['step']:>6}  gini {rec['gini']:.4f}  gini_time "
                f"{rec['gini_time']:.4f}  mean {rec['mean']:.4g}  ({rec['wall']:.1f}s)",
                flush=True,
            )
        elif kind == "done":
            s = rec["summary"]
            print(
                f"done: gini {s['gini']:.4f}, train_acc {s['train_acc']:.3f}, "
                f"{s['evaluations']} evaluations in {rec['wall']:.1f}s"
            )
    if args.json and matrix is not None:
        print(json.dumps({"type": "class_matrix", "class_matrix": matrix.tolist()}))
    return 0
