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
    un, data = setup(spec, data)
    x, y_clean, noisy = un.x, un.classes, data.noisy.bool()
    n = x.shape[0]
    acc = Accumulator(y_clean, un.n_classes)
    bs = spec.train.batch_size
    steps_per_epoch = math.ceil(n / bs)
    total = steps_per_epoch * spec.train.epochs
    steps = eval_steps(total, spec.metrics.sens_every)
    when = set(steps)
    k = spec.metrics.sens_class_every  # class matrix at evaluations 1, 1 + k, ... and the last
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
    for batch in batches(n, bs, spec.train.epochs, spec.train.seed):
        if should_stop is not None and should_stop():
            return
        un.sgd_step(batch)
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


def setup(spec: Any, data: Any = None) -> tuple[Unroll, Any]:
    """The task's checked inputs: an Unroll at theta_0 (init seeded train.seed) on the spec's
    training data (default noise.prepare(spec)), and the data. Raises ValueError naming the
    setting that cannot run."""
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
    return Unroll(x, y, y_clean, params, spec.train.lr), data


def batches(n: int, batch_size: int, epochs: int, seed: int) -> Iterator[torch.Tensor]:
    """The data order: one permutation of the n examples per epoch, from a generator seeded
    seed + 1, cut into batches (the last of an epoch may be smaller)."""
    order = torch.Generator().manual_seed(seed + 1)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=order)
        yield from (perm[i : i + batch_size] for i in range(0, n, batch_size))
