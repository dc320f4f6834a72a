"""Time left in a training run, from its own records. No Streamlit.

The store's ETA (elapsed / fraction done) counts start-up and the critical-sample-ratio (CSR)
searches as if they were training, so it overestimates early (12.6 min for a 4.6 min run),
jumps at CSR epochs and reads 0 while the final CSR search still runs. Here the two kinds of
work are timed apart from the records' `wall` (seconds since the run started):

    train time of epoch e = wall of e's evaluation - end of epoch e-1's work (evaluation or CSR)
    CSR time at epoch e   = wall of e's last CSR record - wall of e's evaluation

and the work left is (epochs left) x (median train time of the last epochs) + (CSR searches
left, the final epoch's included) x (mean CSR time).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memcore.spec import RunSpec

RECENT = 5  # epochs whose median train time predicts the next ones (speed drifts with load)


def _walls(frame: pd.DataFrame) -> pd.Series:
    """Last wall per whole epoch (the members' records of one epoch share the evaluation)."""
    if frame.empty or "wall" not in frame:
        return pd.Series(dtype=float)
    whole = frame[frame["epoch"] == frame["epoch"].round()]
    return whole.groupby(whole["epoch"].astype(int))["wall"].max()


def csr_epochs(spec: RunSpec, after: int) -> list[int]:
    """Epochs > `after` whose end runs a CSR search (the spec's schedule: memcore.spec)."""
    return [e for e in spec.csr_epochs if e > after]


def work_left(epochs: pd.DataFrame, csr: pd.DataFrame, spec: RunSpec) -> float | None:
    """Seconds of work left after the run's last record; None before a trained epoch is timed.

    `epochs`, `csr`: records.frame of the run's "epoch" and "csr" records (epoch, wall)."""
    ev, cs = _walls(epochs), _walls(csr)
    if ev.empty:
        return None
    last = int(ev.index.max())
    end = pd.concat([ev, cs], axis=1).max(axis=1)  # end of each epoch's measured work
    train = [ev[e] - end[e - 1] for e in ev.index if e >= 1 and e - 1 in end.index]
    if not train:
        return None
    per_epoch = float(np.median(train[-RECENT:]))
    pending = csr_epochs(spec, last)
    if last in csr_epochs(spec, last - 1) and last not in cs.index:
        pending.append(last)  # this epoch's search is running now
    per_csr = [cs[e] - ev[e] for e in cs.index if e in ev.index]
    csr_s = float(np.mean(per_csr)) if per_csr else per_epoch
    return max(0.0, (spec.train.epochs - last) * per_epoch + len(pending) * csr_s)


def text(seconds: float | None) -> str:
    """ "ETA 42 s", "ETA 3.1 min"; "ETA …" unknown; "finishing …" when no work is left."""
    if seconds is None:
        return "ETA …"
    if seconds < 0.5:
        return "finishing …"
    if seconds < 90:
        return f"ETA {seconds:.0f} s"
    return f"ETA {seconds / 60:.1f} min"
