"""memcore.spec.fields: every spec field carries its metadata, validation reads it, and moving the
checks into metadata changed no key and no error message."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from memcore.spec import RunSpec, field_meta, field_types
from memcore.spec.fields import fail, spec_field, validate_fields
from memcore.spec.presets import PRESETS, preset

# Keys pinned at CODE_VERSION 5 (metrics.csr_schedule added, mnist1d's CSR radius 2 -> 0.1/255;
# before: 4, mnist1d representation, sens_class_every). A CODE_VERSION bump or a new spec field
# changes them on purpose: re-pin in that commit.
PINNED_KEYS = {
    "digits-mlp": "50d8476cb3cdc4dba16185c7dc50ffa220981b5143bd45d85836a55a0a7c5641",
    "digits-mlp-k4": "d55c8e15a245fc0e270c092c36453eb706daebfe23ab63068538afc0097bf6ca",
    "mnist1d-mlp": "554d065507f87c3ead8d1189521cb21d0c1a8b653ab5a288b40312875b0fdebf",
    "mnist-mlp": "6dfe7f01b23bcf16ecef6f0208ac7aeb8ad6ebdeff51f33e2c6a651c728ae4f7",
    "cifar-cnn": "4c8b4a9685513d3e32193fb56254a2c5f7a556f5962d0ff3e45a58ec26d72661",
    "sensitivity-2x16": "8ed57b3ce14d90dbf6998f511f06702385dd4466bcf296613c2066030033a444",
}
DEFAULT_KEY = "cd0dcf69f4850914a84d79b4434e250e1500c74d27beb5fbef0fe87d02cad76a"
BUSY_CHANGES = {
    "noise.kind": "randX", "noise.level": 0.4, "noise.x_stats": "pixel",
    "train.regularizer": "dropout", "train.members": 2, "train.member_strengths": (0.1, 0.5),
    "metrics.csr_every": 2, "data.train_size": 500, "data.downscale": 16,
    "train.precision": "bf16", "train.device": "cuda:1",
}  # fmt: skip
BUSY_KEY = "e59450eb890eac080f16f4a0deadd659a2be8dcffff8fdb97df8ff7be48df4df"


def test_keys_are_unchanged():
    assert {n: preset(n).key for n in PRESETS} == PINNED_KEYS
    assert RunSpec().key == DEFAULT_KEY
    assert preset("cifar-cnn", **BUSY_CHANGES).key == BUSY_KEY


BASE = preset(
    "digits-mlp",
    **{"noise.kind": "randY", "noise.level": 0.2, "train.regularizer": "dropout",
       "train.strength": 0.1},
)  # fmt: skip
# (changes on BASE, the exact message before the metadata), one per kind of check
MESSAGES = [
    ({"data.downscale": 1}, "data.downscale=1 is invalid: must be 0 (native) or a side length "
     ">= 2"),
    ({"data.val_fraction": 1.0}, "data.val_fraction=1.0 is invalid: must be a number in "
     "[0.0, 0.9]"),
    ({"noise.seed": -1}, "noise.seed=-1 is invalid: must be an integer in [0, 2147483647]"),
    # a real field's int is canonicalised to a float first (1 and 1.0 are one spec, one key)
    ({"model.width_mult": 0}, "model.width_mult=0.0 is invalid: must be > 0"),
    ({"train.lr": 0.0}, "train.lr=0.0 is invalid: must be > 0"),
    ({"train.momentum": 1.0}, "train.momentum=1.0 is invalid: must be a number in [0.0, 1.0)"),
    ({"train.strength": 1.0}, "train.strength=1.0 is invalid: with regularizer 'dropout' it must "
     "be a number in [0.0, 0.95]"),
    ({"train.member_strengths": (-1.0,)}, "train.member_strengths[0]=-1.0 is invalid: with "
     "regularizer 'dropout' it must be a number in [0.0, 0.95]"),
    ({"train.members": 2, "train.member_strengths": (0.1,)}, "train.member_strengths=(0.1,) is "
     "invalid: must be empty or have one value per member (2)"),
    ({"train.device": "cuda:x"}, "train.device='cuda:x' is invalid: must be auto, cpu, cuda, "
     "cuda:N or mps"),
    ({"metrics.csr_set": "bogus"}, "metrics.csr_set='bogus' is invalid: must be one of val, train"),
    ({"data.balanced": 2}, "data.balanced=2 is invalid: must be one of True, False"),
    ({"task": "bogus"}, "task='bogus' is invalid: must be one of train, sensitivity"),
    ({"noise.kind": "none", "noise.level": 0.5, "noise.seed": -1}, "noise.level=0.5 is invalid: "
     "must be 0 when noise.kind is 'none'"),
    ({"data.downscale": 1, "data.val_fraction": 5.0}, "data.downscale=1 is invalid: must be 0 "
     "(native) or a side length >= 2"),
    ({"model.arch": "cnn", "data.dataset": "mnist1d"}, "model.arch='cnn' is invalid: the CNN "
     "needs image data; use mlp for mnist1d"),
    ({"data.dataset": "imagenet"}, "data.dataset='imagenet' is invalid: must be one of digits, "
     "mnist1d, mnist, fashion_mnist, cifar10"),
]  # fmt: skip


@pytest.mark.parametrize("changes, message", MESSAGES)
def test_error_messages_are_unchanged(changes, message):
    with pytest.raises(ValueError) as err:
        BASE.replace(**changes)
    assert str(err.value) == message


@pytest.mark.parametrize("name", sorted(field_types()))
def test_every_field_has_help_and_its_checks(name):
    meta = field_meta(name)
    assert meta.help.strip()
    has_range = meta.lo is not None and meta.hi is not None
    # a field is checked by its choices, its range or its rule
    assert bool(meta.choices) + has_range == 1 or meta.rule is not None
    if has_range:
        assert meta.lo < meta.hi
        assert meta.integer == (field_types()[name] is int)


def test_unknown_field_has_no_metadata():
    with pytest.raises(KeyError):
        field_meta("train.bogus")


def test_a_rule_runs_right_after_its_field():
    """Checks run in field order, a field's rule right after the field: with two bad fields the
    first one is named."""

    def even(s) -> None:
        if s.a % 2:
            fail("t.a", s.a, "must be even")

    @dataclass(frozen=True)
    class T:
        a: int = spec_field(0, "a", lo=0, hi=10, rule=even)
        b: float = spec_field(0.5, "b", lo=0.0, hi=1.0, open_lo=True)

        def __post_init__(self) -> None:
            validate_fields(self, "t")

    with pytest.raises(ValueError, match=r"^t.a=3 is invalid: must be even$"):
        T(a=3, b=5.0)
    with pytest.raises(ValueError, match=r"^t.b=0.0 is invalid: must be > 0$"):
        T(a=2, b=0.0)
    with pytest.raises(ValueError, match=r"must be an integer in \[0, 10\]"):
        T(a=1.5)
