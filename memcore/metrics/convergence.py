"""Time to convergence (PAPER.md item 2; ICML Fig 6, poster Fig 2).

Epochs to fit, per member: the first evaluated epoch after training started (epoch > 0; the
evaluation at initialisation does not count) at which training accuracy (all training examples,
against their possibly noisy labels) reaches 100%, within TOLERANCE. A member that never gets
there is *censored*: its value is its last evaluated epoch (max_epochs), a lower bound on its
true time, flagged censored=True. Evaluations happen every metrics.eval_every epochs, so the
value is exact only to that granularity.

Normalised (the paper's default): epochs to fit divided by the mean real-data epochs to fit over
ALL real members with the same keys (in the figure: panel, dataset size and width). Censored real
members enter that mean with their lower bound (they are not dropped), so a ratio next to a
censored real run is only indicative; the convergence check calls such data inconclusive. No
real run with those keys gives NaN. A censored noisy run stays a lower bound after normalising.

Final training accuracy per member (the fraction of the training set fitted when the run ends)
is here too: figures use it to tell whether a run converged.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

TOLERANCE = 1e-9  # accuracy counted as 100% within float rounding
COLUMNS = ("member", "epochs_to_fit", "censored", "max_epochs")


def epochs_to_fit(epochs: pd.DataFrame) -> pd.DataFrame:
    """One row per member: member, epochs_to_fit (first epoch > 0 with train_acc = 1, else the
    last evaluated epoch), censored (never reached 1), max_epochs (last evaluated epoch).

    `epochs`: a run's "epoch" records as a frame (columns member, epoch, train_acc), any order."""
    trained = epochs[epochs["epoch"] > 0]
    rows = []
    for member, g in trained.groupby("member"):
        g = g.sort_values("epoch")
        hit = g[g["train_acc"] >= 1.0 - TOLERANCE]
        last = float(g["epoch"].max())
        rows.append(
            {
                "member": int(member),
                "epochs_to_fit": float(hit["epoch"].iloc[0]) if len(hit) else last,
                "censored": not len(hit),
                "max_epochs": last,
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def normalised(times: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """epochs_to_fit / (mean epochs_to_fit of the setting "real" rows with the same `by` values),
    censored real rows included (see the module docstring); NaN where no real row matches.

    `times`: rows of epochs_to_fit with columns setting, epochs_to_fit and `by`."""
    keys = list(by)
    real = (
        times[times["setting"] == "real"]
        .groupby(keys)["epochs_to_fit"]
        .mean()
        .rename("real_epochs_to_fit")
    )
    return times["epochs_to_fit"] / times.join(real, on=keys)["real_epochs_to_fit"]


def final_train_acc(epochs: pd.DataFrame) -> pd.Series:
    """Training accuracy at each member's last evaluated epoch, indexed by member."""
    return epochs.sort_values("epoch").groupby("member")["train_acc"].last()
