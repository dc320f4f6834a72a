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


# -- the sidebar's estimate, calibrated on this machine ---------------------------------------
CALIBRATE_ON = 20  # the newest measured runs whose measured / estimated ratios set the range
SPREAD = 0.3  # one measured run: +-30% around it (one run says little about the spread)


def ratios(pairs: list[tuple[float, float]]) -> list[float]:
    """measured / estimated seconds of the newest CALIBRATE_ON (estimated, measured) pairs
    (newest first), skipping runs too short to time (under 0.5 s either way)."""
    out = [m / e for e, m in pairs if e > 0 and m >= 0.5]
    return out[:CALIBRATE_ON]


def estimate_range(seconds: float, rs: list[float]) -> tuple[float, float] | None:
    """The cost model's `seconds` scaled by this machine's measured ratios: (lo, hi) from the
    10th to the 90th percentile of `rs`; None with no measured run to calibrate on."""
    if not rs:
        return None
    if len(rs) == 1:
        return seconds * rs[0] * (1 - SPREAD), seconds * rs[0] * (1 + SPREAD)
    lo, hi = np.percentile(rs, [10, 90])
    return seconds * float(lo), seconds * float(hi)


def _dur(s: float) -> str:
    return f"{s:.1f} s" if s < 10 else f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"


def range_text(seconds: float, rs: list[float]) -> str:
    """ "10-14 s (calibrated on 5 runs measured here)", or the model's figure, said uncalibrated."""
    r = estimate_range(seconds, rs)
    if r is None:
        return f"about {_dur(seconds)} (uncalibrated: no run measured on this machine yet)"
    lo, hi = r
    span = f"{_dur(lo)}" if _dur(lo) == _dur(hi) else f"{_dur(lo)} – {_dur(hi)}"
    n = len(rs)
    return f"{span} (calibrated on {n} run{'s' * (n != 1)} measured here)"
