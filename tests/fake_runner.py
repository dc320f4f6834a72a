"""A deterministic stand-in runner with the engine's record shapes, for tests and demos.

`run(spec, resume=None, should_stop=None)` yields meta, per epoch one "epoch" record per member
and an "arrays" record, a "checkpoint" after every epoch but the last, and "done", like
memcore.engine.trainer.train (the same memcore.records constructors), without touching data or
models: a pretend data set of T = 8 training and 8 validation examples of 2 classes, none noisy,
all tracked. Values are a pure function of (spec.train.seed, member, epoch), so a resumed run
yields exactly the records an uninterrupted one does. Each epoch sleeps MEMCORE_FAKE_EPOCH_S
seconds (default 0.02) to look like work; MEMCORE_FAKE_FAIL_AT=E raises at epoch E (error
handling tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from memcore import records, settings
from memcore.spec import RunSpec


def _acc(seed: int, member: int, epoch: int) -> float:
    rng = np.random.default_rng([seed, member, epoch])
    return float(min(1.0, epoch / 10 + rng.uniform(0, 0.05)))


def run(
    spec: RunSpec, *, resume: dict | None = None, should_stop: Callable[[], bool] | None = None
) -> Iterator[dict[str, Any]]:
    stop = should_stop or (lambda: False)
    pause = settings.get("MEMCORE_FAKE_EPOCH_S")
    fail_at = settings.get("MEMCORE_FAKE_FAIL_AT")
    t, K, T = spec.train, spec.train.members, 8
    start = 0 if resume is None else int(resume["epoch"])
    if resume is None:
        yield records.Meta(
            n_train=T,
            n_val=T,
            n_noisy=0,
            n_classes=2,
            classes=["0", "1"],
            input_shape=[1],
            device="cpu",
            members=K,
            steps_per_epoch=1,
            tracked=list(range(T)),
            tracked_noisy=[False] * T,
            tracked_labels=[i % 2 for i in range(T)],
        ).to_dict()
    for epoch in range(start + 1, t.epochs + 1):
        deadline = time.monotonic() + pause
        while time.monotonic() < deadline:  # check often, like the engine's per-step check
            if stop():
                return
            time.sleep(min(0.01, pause))
        if stop():
            return
        if epoch == fail_at:
            raise RuntimeError(f"fake failure at epoch {epoch}")
        for k in range(K):
            acc = _acc(t.seed, k, epoch)
            yield records.Epoch(
                epoch=float(epoch),
                step=epoch,
                member=k,
                lr=t.lr,
                train_loss=1 - acc,
                train_acc=acc,
                clean_loss=1 - acc,
                clean_acc=acc,
                noisy_loss=None,  # no noisy examples
                noisy_acc=None,
                val_loss=1 - acc / 2,
                val_acc=acc / 2,
                wall=0.0,
            ).to_dict()
        rng = np.random.default_rng([t.seed, epoch])
        yield records.Arrays(
            epoch=float(epoch),
            step=epoch,
            arrays={
                "correct": rng.random((K, T)) < epoch / t.epochs,
                "loss": rng.random((K, T)).astype(np.float32),
            },
        ).to_dict()
        if epoch < t.epochs:
            yield records.Checkpoint(epoch=epoch, state={"epoch": epoch}).to_dict()
    yield records.Done(wall=0.0, epochs_run=t.epochs, summary={"epochs": t.epochs}).to_dict()
