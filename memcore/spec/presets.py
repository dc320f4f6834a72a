"""Named run presets: the offline defaults and the paper's configurations.

`preset(name, **changes)` is the RunSpec of PRESETS[name] with dotted-name changes on top. Each
dataset's preset for the figures is its registry entry's `preset` (memcore.datasets).
"""

from __future__ import annotations

from typing import Any

from memcore.datasets import offline_csr
from memcore.spec import RunSpec, from_flat
from memcore.spec.fields import fail

PRESETS: dict[str, dict[str, Any]] = {
    # The offline default: real 8x8 digits, a small MLP, quick to train on a laptop.
    "digits-mlp": {
        "data.dataset": "digits",
        "model.width": 256,
        "train.lr": 0.1,
        "train.batch_size": 64,
        "train.epochs": 30,
        "metrics.csr_every": 5,
        **offline_csr("digits"),
    },
    # The app's first run: the offline default as an ensemble of 4, so the first run already
    # draws the easiness histogram (K >= 2) with a spread worth reading.
    "digits-mlp-k4": {
        "data.dataset": "digits",
        "model.width": 256,
        "train.lr": 0.1,
        "train.batch_size": 64,
        "train.epochs": 30,
        "train.members": 4,
        "metrics.csr_every": 5,
        **offline_csr("digits"),
    },
    "mnist1d-mlp": {
        "data.dataset": "mnist1d",
        "model.width": 256,
        "train.lr": 0.1,
        "train.batch_size": 64,
        "train.epochs": 30,
        "metrics.csr_every": 5,
        **offline_csr("mnist1d"),
    },
    # The paper's MNIST MLP (ICML Figs 5-9): 784-4096-4096-10, SGD lr 0.01.
    "mnist-mlp": {
        "data.dataset": "mnist",
        "model.width": 4096,
        "train.lr": 0.01,
        "train.batch_size": 128,
        "train.epochs": 100,
        "metrics.csr_every": 5,
    },
    # The paper's CIFAR-10 CNN: momentum 0.9, lr 0.01 halved every 15 epochs.
    "cifar-cnn": {
        "data.dataset": "cifar10",
        "model.arch": "cnn",
        "train.lr": 0.01,
        "train.momentum": 0.9,
        "train.schedule": "step",
        "train.step_epochs": 15,
        "train.gamma": 0.5,
        "train.batch_size": 128,
        "train.epochs": 100,
        "metrics.csr_every": 5,
    },
    # Loss-sensitivity (ICML Figs 3-4): 2x16 MLP on 1,000 examples, unrolled SGD.
    "sensitivity-2x16": {
        "task": "sensitivity",
        "data.dataset": "digits",
        "data.train_size": 1000,
        "model.width": 16,
        "model.depth": 2,
        "train.lr": 0.1,
        "train.batch_size": 10,
        "train.epochs": 1,
        "metrics.track_size": 0,
        "metrics.sens_every": 10,
    },
}
DEFAULT_PRESET = "digits-mlp"
APP_PRESET = "digits-mlp-k4"  # the dashboard's default run (the CLI keeps DEFAULT_PRESET)


def preset(name: str, **changes: Any) -> RunSpec:
    """A named preset (PRESETS) with dotted-name changes on top."""
    if name not in PRESETS:
        fail("preset", name, "must be one of " + ", ".join(PRESETS))
    return from_flat({**PRESETS[name], **changes})
