"""engine.regularizers: masks and noise per member, and each regularizer moves training in the
expected direction inside the engine."""

from __future__ import annotations

import pytest
import torch

from memcore.engine import trainer as engine
from memcore.engine.regularizers import Regularizer, mix_seed, step_generator

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest


def test_mix_seed_distinguishes_tuples():
    seeds = {mix_seed(s, e, t) for s in range(3) for e in range(3) for t in range(3)}
    assert len(seeds) == 27 and mix_seed(1, 2, 3) == mix_seed(1, 2, 3)


def test_dropout_masks_have_each_members_rate_and_keep_the_mean():
    reg = Regularizer("input_dropout", (0.0, 0.5, 0.9), CPU)
    x = torch.ones(3, 2000, 50)
    out = reg.input(x, step_generator(0, 1, 0, CPU))
    dropped = (out == 0).float().mean(dim=(1, 2))
    assert dropped[0] == 0 and abs(dropped[1] - 0.5) < 0.01 and abs(dropped[2] - 0.9) < 0.01
    torch.testing.assert_close(out.mean(dim=(1, 2)), torch.ones(3), atol=0.03, rtol=0)


def test_noise_std_per_member_and_same_generator_same_noise():
    reg = Regularizer("hidden_noise", (0.0, 2.0), CPU)
    h = torch.zeros(2, 1000, 100)
    out, mult = reg.hidden_manual(step_generator(0, 1, 5, CPU))(h)
    assert mult is None and out[0].abs().max() == 0
    assert out[1].std().item() == pytest.approx(2.0, rel=0.02)
    again, _ = reg.hidden_manual(step_generator(0, 1, 5, CPU))(h)
    assert torch.equal(out, again)


def test_zero_strength_is_inactive():
    for kind in ("dropout", "input_dropout", "input_noise", "hidden_noise", "weight_decay"):
        reg = Regularizer(kind, (0.0, 0.0), CPU)
        assert not reg.active and reg.decay_K is None and reg.hidden(None) is None


def _train(tiny_spec, **changes):
    tr = engine.Trainer(tiny_spec.replace(**changes))
    records = list(tr.records())
    return tr, records


@pytest.mark.parametrize(
    "kind", ["dropout", "input_dropout", "input_noise", "hidden_noise", "weight_decay"]
)
def test_member_with_strength_zero_equals_unregularized_run(tiny_spec, kind):
    """Per-member strengths: member 0 (strength 0) of a mixed run == a plain run with seed 0."""
    hi = 0.5 if "dropout" in kind else 0.3
    mixed = tiny_spec.replace(
        **{"train.members": 2, "train.regularizer": kind, "train.member_strengths": f"0,{hi}"}
    )
    tr_mixed, _ = _train(mixed)
    tr_plain, _ = _train(tiny_spec)
    for a, b in zip(tr_mixed.model.parameters(), tr_plain.model.parameters(), strict=True):
        torch.testing.assert_close(a[0], b[0], atol=1e-6, rtol=1e-5)
    # ... while member 1 (strength > 0) trained differently from its plain twin (seed 1)
    tr_one, _ = _train(tiny_spec, **{"train.seed": 1})
    assert not torch.allclose(tr_mixed.model.weights[0][1], tr_one.model.weights[0][0])


def _weight_norm(tr):
    return torch.stack([w.detach().flatten(1).norm(dim=1) for w in tr.model.weights]).sum(0)


def test_weight_decay_shrinks_weight_norm(tiny_spec):
    spec = tiny_spec.replace(
        **{
            "train.members": 2,
            "train.regularizer": "weight_decay",
            "train.member_strengths": "0,1",
            "train.seed": 0,
        }
    )
    tr, _ = _train(spec)
    plain, _ = _train(tiny_spec.replace(**{"train.seed": 1}))
    assert _weight_norm(tr)[1] < 0.9 * _weight_norm(plain)[0]


@pytest.mark.parametrize(
    "kind,strength",
    [
        ("dropout", 0.7),
        ("input_noise", 2.0),
        ("weight_decay", 0.5),
        ("hidden_noise", 1.0),
        ("input_dropout", 0.7),
    ],
)
def test_regularizers_slow_memorisation_of_random_labels(tiny_spec, kind, strength):
    """On 100% random labels, each regularizer leaves a lower training accuracy than none."""
    base = {
        "noise.kind": "randY",
        "noise.level": 1.0,
        "data.train_size": 128,
        "model.width": 128,
        "train.epochs": 25,
        "train.members": 3,
        "train.lr": 0.05,
        "train.momentum": 0.9,
    }
    _, plain = _train(tiny_spec, **base)
    _, reg = _train(tiny_spec, **base, **{"train.regularizer": kind, "train.strength": strength})
    assert reg[-1]["summary"]["train_acc"] < plain[-1]["summary"]["train_acc"] - 0.05
