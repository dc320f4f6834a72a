"""The memorization cap and the best real validation accuracy at the cap."""

from __future__ import annotations

import pandas as pd
import pytest

from memcore.metrics.regularization import memorization_cap, val_at_cap


def test_cap_is_halfway_between_the_unregularized_fit_and_chance():
    assert memorization_cap(1.0, 10) == pytest.approx(0.55)
    assert memorization_cap(0.5, 2) == pytest.approx(0.5)


def test_val_at_cap_takes_the_best_capping_strength_or_none():
    t = pd.DataFrame(
        [
            ("dropout", 0.0, 1.0, 0.95),
            ("dropout", 0.5, 0.5, 0.93),
            ("dropout", 0.9, 0.2, 0.90),
            ("weight_decay", 0.0, 1.0, 0.95),
            ("weight_decay", 0.1, 0.8, 0.70),
        ],
        columns=["regularizer", "strength", "randY_train_acc", "real_best_val_acc"],
    )
    assert val_at_cap(t, 0.55) == {"dropout": 0.93, "weight_decay": None}
