"""Time to convergence from epoch records: first 100% epoch, censoring, normalisation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from memcore.metrics.convergence import epochs_to_fit, final_train_acc, normalised


def _epochs(accs: dict[int, list[float]]) -> pd.DataFrame:
    """Epoch records from epoch 0 (initialisation) on, member -> accuracies."""
    return pd.DataFrame(
        [
            {"epoch": float(e), "step": 10 * e, "member": m, "train_acc": a}
            for m, seq in accs.items()
            for e, a in enumerate(seq)
        ]
    )


def _loop_reference(ep: pd.DataFrame) -> dict[int, tuple[float, bool, float]]:
    """member -> (epochs to fit, censored, last epoch), one record at a time."""
    out = {}
    for m in sorted(set(ep["member"])):
        mine = ep[ep["member"] == m]
        recs = sorted((e, a) for e, a in zip(mine.epoch, mine.train_acc, strict=True) if e > 0)
        first = next((e for e, a in recs if a >= 1.0), None)
        last = recs[-1][0]
        out[m] = (last if first is None else first, first is None, last)
    return out


def test_first_epoch_at_full_accuracy_and_censoring():
    ep = _epochs({0: [0.1, 0.8, 1.0, 0.99, 1.0], 1: [0.1, 0.5, 0.9, 0.95, 0.999]})
    df = epochs_to_fit(ep).set_index("member")
    assert df.loc[0, "epochs_to_fit"] == 2.0 and not df.loc[0, "censored"]
    # Censored: never at 100%, so its time is the last evaluated epoch (a lower bound).
    assert df.loc[1, "censored"] and df.loc[1, "epochs_to_fit"] == 4.0
    assert df.loc[1, "max_epochs"] == 4.0
    # Same answer in any row order.
    shuffled = ep.sample(frac=1, random_state=0)
    assert epochs_to_fit(shuffled).set_index("member").equals(df)


def test_the_evaluation_at_initialisation_does_not_count():
    ep = _epochs({0: [1.0, 0.5, 1.0], 1: [1.0, 0.5, 0.5]})
    df = epochs_to_fit(ep).set_index("member")
    assert df.loc[0, "epochs_to_fit"] == 2.0 and not df.loc[0, "censored"]
    assert df.loc[1, "censored"] and df.loc[1, "epochs_to_fit"] == 2.0


def test_epochs_to_fit_matches_a_loop_on_random_curves():
    rng = np.random.default_rng(0)
    ep = _epochs({m: list(np.minimum(1.0, rng.uniform(0.5, 1.2, 12))) for m in range(6)})
    ref = _loop_reference(ep)
    df = epochs_to_fit(ep)
    assert {r.member: (r.epochs_to_fit, r.censored, r.max_epochs) for r in df.itertuples()} == ref


def test_normalised_by_every_real_member_with_the_same_keys():
    times = pd.DataFrame(
        [
            ("real", 100, 4.0, False),
            ("real", 100, 6.0, False),
            ("real", 100, 50.0, True),  # censored real member: in the mean with its lower bound
            ("randY", 100, 60.0, False),
            ("randX", 100, 120.0, True),
            ("real", 200, 9.0, True),  # only censored real rows at size 200
            ("randY", 200, 45.0, False),
            ("randY", 300, 40.0, False),  # no real run at size 300
        ],
        columns=["setting", "train_size", "epochs_to_fit", "censored"],
    )
    out = normalised(times, ("train_size",))
    assert out[3] == 3.0 and out[4] == 6.0  # 60 / 20 and 120 / 20; row 4 stays a lower bound
    assert out[0] == 0.2 and out[6] == 5.0
    assert math.isnan(out[7])
    assert out.index.equals(times.index)


def test_final_train_acc_is_the_last_evaluated_epoch_per_member():
    ep = _epochs({0: [0.1, 0.9, 0.8], 3: [0.2, 1.0]}).sample(frac=1, random_state=1)
    assert final_train_acc(ep).to_dict() == {0: 0.8, 3: 1.0}
