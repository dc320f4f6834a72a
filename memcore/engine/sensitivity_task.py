"""The sensitivity task (spec.task == "sensitivity"): a 2x16 MLP trained by plain SGD whose
unrolled loss-sensitivity (metrics.sensitivity: Unroll, Accumulator) is measured every
metrics.sens_every updates, as records.py records. The trainer of engine.trainer's sibling task;
jobs.runner picks one of the two by spec.task."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from memcore import records
from memcore.metrics.gini import gini
from memcore.metrics.sensitivity import DTYPE, MAX_ELEMENTS, Accumulator, Unroll, init_mlp


def eval_steps(total: int, every: int) -> list[int]:
    """Steps t at which L_t is evaluated: every `every` updates; the last step if none."""
    return [t for t in range(every, total + 1, every)] or [total]


def run(
    spec: Any, *, data: Any = None, should_stop: Callable[[], bool] | None = None
) -> Iterator[dict[str, Any]]:
    """The sensitivity task (spec.task == "sensitivity"): yields records.py records
    "meta", then per evaluation "sens" and "arrays", then "done". Stops quietly (no "done")
    when should_stop() is true. `data`: a memcore.data.loading.Dataset (default: noise.prepare).
    Runs on the CPU whatever train.device: the float64 2x16 net is launch-bound on a GPU.
    Data order: one permutation per epoch from a generator seeded train.seed + 1; the last
    batch of an epoch may be smaller. "arrays" come with every evaluation (running values)."""
    t0 = time.perf_counter()
    if spec.model.arch != "mlp":
        raise ValueError("model.arch must be mlp for the sensitivity task")
    if spec.train.momentum != 0 or spec.train.regularizer != "none":
        raise ValueError(
            "the sensitivity task unrolls plain SGD: set train.momentum=0 and "
            "train.regularizer=none"
        )
    if data is None:
        from memcore.data.noise import prepare

        data = prepare(spec)
    x = data.x_train.reshape(len(data.x_train), -1).to(DTYPE)
    y, y_clean = data.y_train.long(), data.y_clean.long()
    noisy = data.noisy.bool()
    n = x.shape[0]
    if spec.train.batch_size > n:
        raise ValueError(
            f"train.batch_size={spec.train.batch_size} is invalid: larger than the training set "
            f"({n} examples)"
        )
    classes = int(y_clean.max()) + 1
    if classes * x.numel() > MAX_ELEMENTS:
        raise ValueError(
            f"data.train_size={n}: the exact unrolled gradients need {classes} x {n} x "
            f"{x.shape[1]} float64 values, more than {MAX_ELEMENTS:,}; use fewer examples"
        )
    params = init_mlp(
        x.shape[1], spec.model.width, spec.model.depth, data.n_classes, spec.train.seed
    )
    un = Unroll(x, y, y_clean, params, spec.train.lr)
    acc = Accumulator(y_clean, un.n_classes)
    bs = spec.train.batch_size
    steps_per_epoch = math.ceil(n / bs)
    total = steps_per_epoch * spec.train.epochs
    steps = eval_steps(total, spec.metrics.sens_every)
    when = set(steps)
    k = spec.metrics.sens_class_every  # class matrix at evaluations 1, 1 + k, ... and the last
    order = torch.Generator().manual_seed(spec.train.seed + 1)
    yield records.Meta(
        n_train=n,
        n_val=len(data.x_val),
        n_noisy=int(noisy.sum()),
        n_classes=int(data.n_classes),
        classes=[str(c) for c in data.classes],
        input_shape=list(data.x_train.shape[1:]),
        device="cpu",
        members=1,
        steps_per_epoch=steps_per_epoch,
        tracked=[],
        tracked_noisy=[],
        tracked_labels=[],
    ).to_dict()
    gini_ = gini_time = None
    for _ in range(spec.train.epochs):
        perm = torch.randperm(n, generator=order)
        for start in range(0, n, bs):
            if should_stop is not None and should_stop():
                return
            un.sgd_step(perm[start : start + bs])
            if un.step not in when:
                continue
            per_class = acc.evals % k == 0 or un.step == steps[-1]
            acc.add(un.class_gradients(spec.metrics.sens_mode, per_class=per_class))
            gini_, gini_time = gini(acc.sens.numpy()), gini(acc.sens_time.numpy())
            wall = time.perf_counter() - t0
            yield records.Sens(
                step=un.step,
                gini=gini_,
                gini_time=gini_time,
                mean=float(acc.sens.mean()),
                wall=wall,
            ).to_dict()
            yield records.Arrays(
                epoch=un.step / steps_per_epoch,
                step=un.step,
                arrays={
                    "sensitivity": acc.sens.numpy().copy(),
                    "sensitivity_time": acc.sens_time.numpy().copy(),
                    "class_matrix": acc.matrix.numpy().copy(),  # the first evaluation has one
                    "labels": y_clean.numpy().astype(np.int64),
                    "noisy": noisy.numpy().astype(bool),
                },
            ).to_dict()
    loss, accuracy = un.loss_acc()
    yield records.Done(
        wall=time.perf_counter() - t0,
        epochs_run=spec.train.epochs,
        summary={
            "gini": gini_,
            "gini_time": gini_time,
            "evaluations": acc.evals,
            "class_evaluations": acc.class_evals,
            "steps": un.step,
            "train_loss": loss,
            "train_acc": accuracy,
            "sens_mode": spec.metrics.sens_mode,
        },
    ).to_dict()
