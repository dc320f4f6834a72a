"""memcore/spec/words.py: a spec in words (its setting label and its descriptions)."""

from __future__ import annotations

import pytest

from memcore.spec.presets import preset
from memcore.spec.words import SETTINGS, describe, describe_training, setting

BASE = preset("digits-mlp", **{"data.train_size": 500, "model.width": 64, "train.epochs": 7})


@pytest.mark.parametrize(
    ("kind", "level", "label"),
    [
        ("none", 0.0, "real"),
        ("randX", 0.5, "randX"),
        ("randY", 1.0, "randY"),
        ("randY", 0.0, "real"),
    ],
)
def test_setting_is_the_posters_colour_key(kind, level, label):
    s = BASE.replace(**{"noise.kind": kind, "noise.level": level})
    assert setting(s) == label and label in SETTINGS


def test_describe_tells_runs_apart():
    noisy = BASE.replace(**{"noise.kind": "randY", "noise.level": 0.4, "train.members": 2})
    reg = BASE.replace(**{"train.regularizer": "dropout", "train.strength": 0.5})
    assert describe(BASE) == "digits · real data · MLP 2x64 · K=1 · lr 0.1"
    assert "randY 0.4" in describe(noisy) and "K=2" in describe(noisy)
    assert "dropout 0.5" in describe(reg)
    assert len({describe(BASE), describe(noisy), describe(reg)}) == 3
    sens = preset("sensitivity-2x16")
    assert describe(sens).endswith("sensitivity task")


def test_describe_training_states_the_set_up_a_figure_shares():
    text = describe_training(BASE)
    assert text == "digits (train 500), MLP 2x64, SGD lr 0.1, batch 64, 7 epochs, 1 member(s)"
    noisy = BASE.replace(**{"noise.kind": "randX", "noise.level": 1.0})
    assert describe_training(noisy) == text  # the noise is what a figure varies
    sens = preset("sensitivity-2x16")
    assert "derivative" in describe_training(sens) and "member" not in describe_training(sens)
