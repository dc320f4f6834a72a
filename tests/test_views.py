"""app/views.py: what a run page shows, built from records alone (no Streamlit needed)."""

from __future__ import annotations

import pytest
from app_helpers import fake_records

from app import views
from memcore.spec.presets import preset
from memcore.spec.words import describe

SMALL = {"model.width": 20, "train.epochs": 3, "train.members": 2}


def view_of(spec):
    recs = [r for r in fake_records(spec) if r["type"] not in ("arrays", "checkpoint")]
    return views.training_view(recs, {}, spec)


def test_a_noisy_runs_train_accuracy_tile_says_it_is_on_the_trained_labels():
    noisy = view_of(preset("digits-mlp", **SMALL, **{"noise.kind": "randY", "noise.level": 0.5}))
    m = noisy["metrics"]
    assert "Train accuracy" not in m
    # fake_records at epoch 3: train_acc = clean_acc = .85/.86 for the two members, noisy a third
    assert m["Train acc. clean"] == pytest.approx(0.855)
    assert m["Train acc. noisy"] == pytest.approx(0.855 / 3)
    assert m["Train acc. all"] == pytest.approx(0.855)
    assert "noisy ones included" in views.METRIC_HELP["Train acc. all"]
    real = view_of(preset("digits-mlp", **SMALL))["metrics"]
    assert "Train accuracy" in real and "Train acc. noisy" not in real


def test_describe_says_real_data_for_level_0_of_any_kind():
    spec = preset("digits-mlp", **{"noise.kind": "randX", "noise.level": 0.0})
    assert "real data" in describe(spec)
