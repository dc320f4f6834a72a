"""memcore.spec_fields: every spec field carries its metadata, validation reads it, and moving the
checks into metadata changed no key and no error message."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from memcore.presets import PRESETS, preset
from memcore.spec import RunSpec, field_meta, field_types
from memcore.spec_fields import fail, spec_field, validate_fields

# Keys computed before the field metadata, registry and presets modules (CODE_VERSION 3).
PINNED_KEYS = {
    "digits-mlp": "2007d7408f2fa99e7ac4e7b365b72af033fd110075ae8ce028776501e44af95b",
    "mnist1d-mlp": "37c737f5d5330260294f2d73052449f5c6e777f523541f5e384556164499b12a",
    "mnist-mlp": "20978ef0bd4b6d96cf780788f23ebc38993f75264740ee0a56119076acbd23ae",
    "cifar-cnn": "edb29c6a01982f71032e1d2f320a826b1a2c64f6887ca62d0fa825748f19036a",
    "sensitivity-2x16": "b5083bc89ca4f5fee08e3a31495d200523e3a2fe1f5002b16201eb2451657571",
}
DEFAULT_KEY = "c31a43b0da14dd740178333ce5075a66ef7c46c1186a54e7f9d0e18d9403f403"
BUSY_CHANGES = {
    "noise.kind": "randX", "noise.level": 0.4, "noise.x_stats": "pixel",
    "train.regularizer": "dropout", "train.members": 2, "train.member_strengths": (0.1, 0.5),
    "metrics.csr_every": 2, "data.train_size": 500, "data.downscale": 16,
    "train.precision": "bf16", "train.device": "cuda:1",
}  # fmt: skip
BUSY_KEY = "6a1f9d4ccd5bd708fca28b50c7e919adab0d837ebe09d4deccfcc943dff32a6f"


def test_keys_are_unchanged(monkeypatch):
    from memcore import spec as spec_module

    monkeypatch.setattr(spec_module, "CODE_VERSION", "3")  # the version the keys were pinned at
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
    ({"model.width_mult": 0}, "model.width_mult=0 is invalid: must be > 0"),
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
