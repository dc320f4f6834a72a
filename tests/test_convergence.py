"""Time to convergence from epoch records: first 100% epoch, censoring, normalisation."""

from __future__ import annotations

import math

import pandas as pd

from memcore.metrics.convergence import normalise, time_to_convergence


def _records(accs: dict[int, list[float]]) -> list[dict]:
    return [
        {"type": "epoch", "epoch": float(e), "step": 10 * e, "member": m, "train_acc": a}
        for m, seq in accs.items()
        for e, a in enumerate(seq)
    ]


def test_first_epoch_at_full_accuracy_and_censoring():
    recs = _records({0: [0.1, 0.8, 1.0, 0.99, 1.0], 1: [0.1, 0.5, 0.9, 0.95, 0.999]})
    recs.insert(0, {"type": "meta"})
    df = time_to_convergence(recs).set_index("member")
    assert df.loc[0, "epochs"] == 2.0 and not df.loc[0, "censored"] and df.loc[0, "step"] == 20
    assert df.loc[1, "epochs"] == 4.0 and df.loc[1, "censored"] and df.loc[1, "last_epoch"] == 4
    # Same answer from a DataFrame, in any row order.
    frame = pd.DataFrame([r for r in recs if r["type"] == "epoch"]).sample(frac=1, random_state=0)
    assert time_to_convergence(frame).set_index("member").equals(df)


def test_normalised_by_real_run_of_same_size():
    runs = pd.DataFrame(
        [
            ("none", 0.0, 100, 4.0, False),
            ("none", 0.0, 100, 6.0, False),
            ("none", 0.0, 100, 50.0, True),  # censored real member: not in the mean
            ("randY", 1.0, 100, 30.0, False),
            ("randX", 1.0, 100, 20.0, True),
            ("none", 0.0, 200, 9.0, True),  # only censored real rows at size 200
            ("randY", 1.0, 200, 40.0, False),
            ("randY", 1.0, 300, 40.0, False),  # no real run at size 300
        ],
        columns=["noise", "level", "train_size", "epochs", "censored"],
    )
    out = normalise(runs)
    assert out.loc[3, "real_epochs"] == 5.0 and out.loc[3, "normalised"] == 6.0
    assert out.loc[4, "normalised"] == 4.0 and out.loc[4, "censored"]  # stays a lower bound
    assert math.isnan(out.loc[6, "normalised"]) and out.loc[6, "real_censored"]
    assert math.isnan(out.loc[7, "normalised"]) and not out.loc[7, "real_censored"]
    assert out.loc[0, "normalised"] == 0.8
