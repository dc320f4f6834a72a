"""memcore.records: each constructor gives its documented keys in order; `check` accepts exactly
those; every producer's records (engine, sensitivity task, fake runner) pass it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from memcore import records
from memcore.engine import sensitivity_task, trainer
from memcore.spec.presets import preset
from tests import fake_runner as fake

# The keys as records.py's docstring listed them before the constructors existed.
DOCUMENTED = {
    "meta": "n_train n_val n_noisy n_classes classes input_shape device members steps_per_epoch "
    "tracked tracked_noisy tracked_labels",
    "epoch": "epoch step member lr train_loss train_acc clean_loss clean_acc noisy_loss noisy_acc "
    "val_loss val_acc wall",
    "csr": "epoch step member csr iters radius set wall",
    "sharpness": "epoch member sharpness wall",
    "sens": "step gini gini_time mean wall",
    "arrays": "epoch step arrays",
    "checkpoint": "epoch state",
    "done": "wall epochs_run summary",
}

EXAMPLES = [
    records.Meta(
        n_train=4,
        n_val=2,
        n_noisy=1,
        n_classes=2,
        classes=["a", "b"],
        input_shape=[1, 2, 2],
        device="cpu",
        members=1,
        steps_per_epoch=2,
        tracked=[0, 3],
        tracked_noisy=[False, True],
        tracked_labels=[0, 1],
    ),
    records.Epoch(
        epoch=0,
        step=0,
        member=0,
        lr=0.1,
        train_loss=0.7,
        train_acc=0.5,
        clean_loss=0.6,
        clean_acc=0.5,
        noisy_loss=None,
        noisy_acc=None,
        val_loss=None,
        val_acc=None,
        wall=0.1,
    ),
    records.Csr(
        epoch=1, step=2, member=0, csr=0.25, iters=3, radius=0.3 / 255, set="val", wall=0.2
    ),
    records.Sharpness(epoch=1, member=0, sharpness=3.5, wall=0.3),
    records.Sens(step=4, gini=0.2, gini_time=0.1, mean=1.5, wall=0.4),
    records.Arrays(epoch=0.5, step=1, arrays={"loss": np.zeros((1, 2), np.float32)}),
    records.Checkpoint(epoch=1, state={"epoch": 1}),
    records.Done(wall=1.0, epochs_run=1, summary={}),
]


@pytest.mark.parametrize("rec", EXAMPLES, ids=lambda r: r.TYPE)
def test_constructor_gives_the_documented_keys_in_order(rec):
    d = rec.to_dict()
    assert list(d) == ["type", *DOCUMENTED[rec.TYPE].split()]
    assert d["type"] == rec.TYPE and tuple(d) == records.keys(rec.TYPE)
    records.check(d)
    if rec.TYPE in records.SCALAR_TYPES:
        assert json.loads(json.dumps(d)) == d


def test_every_type_has_a_constructor():
    assert set(records.TYPES) == set(DOCUMENTED)
    assert set(records.SCALAR_TYPES) <= set(records.TYPES)


def test_values_pass_through_unconverted():
    arr = np.arange(3)
    rec = records.Arrays(epoch=0, step=0, arrays={"x": arr}).to_dict()
    assert rec["epoch"] == 0 and type(rec["epoch"]) is int and rec["arrays"]["x"] is arr


def test_check_rejects_wrong_records():
    ok = records.Sharpness(epoch=1, member=0, sharpness=3.5, wall=0.3).to_dict()
    with pytest.raises(ValueError, match="unknown"):
        records.check({**ok, "type": "nope"})
    with pytest.raises(ValueError, match="missing"):
        records.check({k: v for k, v in ok.items() if k != "wall"})
    with pytest.raises(ValueError, match="unexpected"):
        records.check({**ok, "extra": 1})
    with pytest.raises(ValueError, match="JSON"):
        records.check({**ok, "sharpness": torch.tensor(1.0)})


def _check_stream(stream) -> list[str]:
    types = []
    for r in stream:
        records.check(r)
        types.append(r["type"])
    return types


def test_engine_records_pass_the_schema(tiny_spec):
    spec = tiny_spec.replace(
        **{
            "train.epochs": 2,
            "metrics.csr_every": 1,
            "metrics.csr_probes": 10,
            "metrics.csr_iters": 2,
            "metrics.sharpness": True,
        }
    )
    types = _check_stream(trainer.train(spec))
    assert {"meta", "epoch", "arrays", "csr", "sharpness", "checkpoint", "done"} == set(types)


def test_sensitivity_records_pass_the_schema():
    spec = preset(
        "sensitivity-2x16",
        **{"data.train_size": 30, "model.width": 4, "train.batch_size": 10, "train.epochs": 1},
    )
    types = _check_stream(sensitivity_task.run(spec))
    assert {"meta", "sens", "arrays", "done"} == set(types)


def test_fake_runner_records_pass_the_schema(tiny_spec, monkeypatch):
    monkeypatch.setenv("MEMCORE_FAKE_EPOCH_S", "0")
    types = _check_stream(fake.run(tiny_spec.replace(**{"train.members": 2})))
    assert {"meta", "epoch", "arrays", "checkpoint", "done"} == set(types)
