"""app/eta.py: the time left is training epochs and CSR searches timed apart, from the records."""

from __future__ import annotations

import pandas as pd
import pytest

from app import eta
from memcore.spec.presets import preset

SPEC = preset("digits-mlp", **{"train.epochs": 10, "metrics.csr_every": 5, "train.members": 2})
TRAIN_S, CSR_S, START_S = 1.0, 3.0, 7.0  # per epoch, per CSR search, start-up before epoch 0


def records(upto: float, final_csr: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Epoch and CSR frames of SPEC's run until `upto` epochs (K members per evaluation)."""
    ep, cs, wall = [], [], START_S
    for e in range(int(upto) + 1):
        if e:
            wall += TRAIN_S
        ep += [{"epoch": float(e), "member": m, "wall": wall} for m in range(2)]
        if e % 5 == 0 and (e < upto or final_csr):
            wall += CSR_S
            cs += [{"epoch": float(e), "member": m, "wall": wall} for m in range(2)]
    return pd.DataFrame(ep), pd.DataFrame(cs)


def test_work_left_counts_epochs_and_csr_searches_apart():
    # after epoch 5's CSR: 5 epochs and the final CSR search are left
    assert eta.work_left(*records(5), SPEC) == pytest.approx(5 * TRAIN_S + CSR_S)
    # after epoch 6 (just trained): 4 epochs and the final CSR, however slow start-up was
    assert eta.work_left(*records(6), SPEC) == pytest.approx(4 * TRAIN_S + CSR_S)
    # the last evaluation is in, its CSR search still runs: not "0 s"
    assert eta.work_left(*records(10, final_csr=False), SPEC) == pytest.approx(CSR_S)
    assert eta.work_left(*records(10), SPEC) == 0.0


def test_the_store_estimate_it_replaces_was_far_off():
    """elapsed / fraction (the store's estimate) counts start-up and CSR as training."""
    ep, cs = records(1)
    elapsed = ep["wall"].max()
    naive = elapsed / 0.1 * 0.9
    honest = eta.work_left(ep, cs, SPEC)
    truth = 9 * TRAIN_S + 2 * CSR_S
    assert honest == pytest.approx(truth)
    assert abs(naive - truth) > 5 * abs(honest - truth) + 10


def test_unknown_before_a_trained_epoch_and_texts():
    assert eta.work_left(*records(0), SPEC) is None
    assert eta.work_left(pd.DataFrame(), pd.DataFrame(), SPEC) is None
    assert eta.text(None) == "ETA …"
    assert eta.text(0.2) == "finishing …"
    assert eta.text(42) == "ETA 42 s"
    assert eta.text(300) == "ETA 5.0 min"


def test_csr_epochs_include_the_last():
    assert eta.csr_epochs(SPEC, 0) == [5, 10]
    assert eta.csr_epochs(SPEC.replace(**{"train.epochs": 12}), 5) == [10, 12]
    assert eta.csr_epochs(SPEC.replace(**{"metrics.csr_every": 0}), 0) == []


def test_the_estimate_range_is_the_models_seconds_times_the_measured_ratios():
    pairs = [(2.0, 6.0), (1.0, 2.0), (4.0, 12.0), (1.0, 0.1)]  # the last: too short to time
    rs = eta.ratios(pairs)
    assert rs == [3.0, 2.0, 3.0]
    lo, hi = eta.estimate_range(10.0, rs)
    assert 20.0 <= lo < hi <= 30.0
    assert eta.estimate_range(10.0, []) is None
    assert eta.estimate_range(10.0, [2.0]) == pytest.approx((14.0, 26.0))
    assert len(eta.ratios([(1.0, 1.0)] * 50)) == eta.CALIBRATE_ON  # the newest runs only


def test_the_range_text_says_whether_it_is_calibrated():
    assert "uncalibrated" in eta.range_text(3.0, [])
    text = eta.range_text(3.0, [3.0, 3.6, 1.3])
    assert "calibrated on 3 runs" in text and "–" in text


def test_the_sidebar_estimate_is_calibrated_on_a_measured_run(tmp_path, monkeypatch):
    """A run measured on this machine turns the sidebar's figure into a calibrated range that
    brackets what that same run took."""
    import time

    from app_helpers import MAIN, app_store, fake_records, seed
    from streamlit.testing.v1 import AppTest

    from app.links import short_params

    store = app_store(tmp_path, monkeypatch)
    spec = preset("digits-mlp", **{"train.epochs": 2})

    def slow(s, resume=None, should_stop=None):
        time.sleep(1.0)
        yield from fake_records(s)

    key = seed(store, spec, runner=slow)
    at = AppTest.from_file(MAIN, default_timeout=120)
    for k, v in short_params(spec).items():
        at.query_params[k] = v
    at.run()
    [line] = [c.value for c in at.sidebar.caption if c.value.startswith("Estimated time")]
    assert "calibrated on 1 run measured here" in line
    from memcore.jobs import api

    took = api.status(key, store).duration
    import re

    lo, hi = (float(x) for x in re.findall(r"([\d.]+) s", line)[:2])
    assert lo - 0.05 <= took <= hi + 0.05, (line, took)
