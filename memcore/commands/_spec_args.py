"""Spec <-> command-line flags, shared by train, submit, sensitivity and figure.

Every spec field has a flag `--section-field` (e.g. `--noise-level`, `--train-batch-size`);
common ones also have short aliases (`--dataset`, `--noise`, `--level`, `--width`, `--lr` ...).
Flags override `--preset`; unset flags keep the preset's (or the default spec's) value.
"""

from __future__ import annotations

import argparse

from memcore.spec import RunSpec, field_types, from_flat
from memcore.spec.presets import DEFAULT_PRESET, PRESETS, preset

ALIASES = {
    "data.dataset": ["--dataset"],
    "data.train_size": ["--train-size", "--n"],
    "noise.kind": ["--noise"],
    "noise.level": ["--level"],
    "noise.labels": ["--labels"],
    "model.arch": ["--arch"],
    "model.width": ["--width"],
    "model.depth": ["--depth"],
    "train.lr": ["--lr"],
    "train.batch_size": ["--batch-size"],
    "train.epochs": ["--epochs"],
    "train.members": ["--members", "-k"],
    "train.seed": ["--seed"],
    "train.regularizer": ["--regularizer"],
    "train.strength": ["--strength"],
    "train.device": ["--device"],
    "metrics.csr_every": ["--csr-every"],
}


def flag(name: str) -> str:
    return "--" + name.replace(".", "-").replace("_", "-")


def add_spec_arguments(parser: argparse.ArgumentParser, default_preset: str = DEFAULT_PRESET):
    parser.add_argument(
        "--preset",
        default=default_preset,
        choices=sorted(PRESETS),
        help=f"start from a paper preset (default {default_preset})",
    )
    parser.add_argument("--spec-json", help="start from a full spec as JSON (overrides --preset)")
    group = parser.add_argument_group("spec fields (override the preset)")
    for name in field_types():
        opts = [flag(name), *(a for a in ALIASES.get(name, []) if a != flag(name))]
        group.add_argument(*opts, dest=name, default=None, metavar="V", help=name)


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    """The spec the flags describe; raises ValueError naming a bad field."""
    changes = {n: getattr(args, n) for n in field_types() if getattr(args, n, None) is not None}
    if getattr(args, "spec_json", None):
        return from_flat(changes, base=RunSpec.from_json(args.spec_json))
    return preset(args.preset, **changes)
