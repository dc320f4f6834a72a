"""Easiness, binomial references, forgetting events and data maps on hand-made arrays."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from memcore.metrics import easiness as ez


def test_identical_members_give_zero_one_easiness():
    rng = np.random.default_rng(0)
    one = rng.random(40) < 0.6
    correct = np.tile(one, (7, 1))  # every member predicts the same
    df = ez.easiness(correct, noisy=np.arange(40) < 10, labels=np.arange(40) % 4)
    assert set(df["p_correct"]) == {0.0, 1.0}
    assert (df["p_correct"].diff().dropna() <= 0).all()  # sorted, easiest first
    assert df["p_correct"].sum() == one.sum()
    assert (df["noisy"] == (df["example"] < 10)).all() and set(df["group"]) == {"clean", "noisy"}
    h = ez.histogram(correct, noisy=np.arange(40) < 10)
    all_ = h[h.group == "all"]
    assert all_["count"].sum() == 40
    assert all_.loc[all_.p.between(0.01, 0.99), "count"].sum() == 0


def test_p_correct_and_histogram_match_loops():
    rng = np.random.default_rng(1)
    correct = rng.random((5, 30)) < 0.4
    noisy = rng.random(30) < 0.3
    p = ez.p_correct(correct)
    assert np.allclose(p, [correct[:, t].sum() / 5 for t in range(30)])
    h = ez.histogram(correct, noisy)
    for group, mask in (("clean", ~noisy), ("noisy", noisy)):
        g = h[h.group == group].set_index("p")["count"]
        for k in range(6):
            assert g[k / 5] == sum(1 for t in range(30) if mask[t] and correct[:, t].sum() == k)


def test_binomial_pmf_matches_comb():
    for k_members, p in [(1, 0.3), (10, 0.25), (100, 0.9)]:
        pmf = ez.binomial_pmf(k_members, p)
        ref = [
            math.comb(k_members, k) * p**k * (1 - p) ** (k_members - k)
            for k in range(k_members + 1)
        ]
        assert np.allclose(pmf, ref, rtol=1e-9, atol=1e-300)
    assert np.array_equal(ez.binomial_pmf(4, 0.0), [1, 0, 0, 0, 0])
    assert np.array_equal(ez.binomial_pmf(4, 1.0), [0, 0, 0, 0, 1])
    ref = ez.binomial_reference(20, 0.35)
    assert ref["pmf"].sum() == pytest.approx(1) and (ref["p"] * ref["pmf"]).sum() == pytest.approx(
        0.35
    )


def test_within_class_reference_mixture_has_the_overall_mean():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1, 2], [10, 20, 30])
    rate = np.array([0.1, 0.5, 0.9])[labels]
    correct = rng.random((25, 60)) < rate
    cref = ez.class_binomial_reference(correct, labels)
    assert set(cref["class"]) == {0, 1, 2}
    for c, g in cref.groupby("class"):
        assert g["pmf"].sum() == pytest.approx(1)
        assert g["p_mean"].iloc[0] == pytest.approx(ez.p_correct(correct)[labels == c].mean())
    mix = ez.mixture(cref)
    assert mix["pmf"].sum() == pytest.approx(1)
    assert (mix["p"] * mix["pmf"]).sum() == pytest.approx(ez.p_correct(correct).mean())
    # The within-class null is wider than the global one when classes differ.
    glob = ez.binomial_reference(25, ez.p_correct(correct).mean())
    var = lambda d: (d["p"] ** 2 * d["pmf"]).sum() - ((d["p"] * d["pmf"]).sum()) ** 2  # noqa: E731
    assert var(mix) > var(glob)


def test_sorted_reference_quantiles():
    bern = ez.binomial_reference(1, 0.3)
    curve = ez.sorted_reference(bern, 10)
    assert curve["p"].tolist() == [1.0] * 3 + [0.0] * 7
    point = ez.binomial_reference(8, 1.0)
    assert (ez.sorted_reference(point, 5)["p"] == 1.0).all()


def test_forgetting_counts_on_hand_made_sequences():
    seqs = np.array(
        [
            [1, 0, 1, 1, 0, 0, 1],  # forgotten twice
            [0, 0, 0, 0, 0, 0, 0],  # never learned
            [0, 1, 1, 1, 1, 1, 1],  # learned, never forgotten
            [1, 0, 1, 0, 1, 0, 1],  # three times
        ],
        dtype=bool,
    ).T  # R x T
    correct = np.stack([seqs, ~seqs], axis=1)  # R x K=2 x T
    events = ez.forgetting_events(correct)
    assert events[0].tolist() == [2, 0, 0, 3]
    assert events[1].tolist() == [2, 0, 1, 3]  # the complements
    df = ez.forgetting(correct, noisy=np.array([0, 1, 0, 0], bool))
    m0 = df[df.member == 0].set_index("example")
    assert m0["ever_correct"].tolist() == [True, False, True, True]
    assert m0["unforgettable"].tolist() == [False, False, True, False]
    assert m0["group"].tolist() == ["clean", "noisy", "clean", "clean"]


def test_rows_select_whole_epochs():
    epochs = np.array([0.0, 0.25, 0.5, 1.0, 2.0, 3.0])
    assert ez.epoch_rows(epochs).tolist() == [False, False, False, True, True, True]
    assert ez.row_at(epochs, 2.0) == 4
    with pytest.raises(ValueError, match="rows"):
        ez.row_at(epochs, 1.5)


def test_data_map_matches_loops():
    rng = np.random.default_rng(3)
    prob = rng.random((6, 3, 8))
    correct = prob > 0.5
    per = ez.data_map(prob, correct, per_member=True)
    for _, r in per.iterrows():
        series = prob[:, r.member, r.example]
        assert r.confidence == pytest.approx(series.mean())
        assert r.variability == pytest.approx(np.sqrt(((series - series.mean()) ** 2).mean()))
        assert r.correctness == pytest.approx((series > 0.5).mean())
    avg = ez.data_map(prob, correct)
    assert np.allclose(avg["confidence"], per.groupby("example")["confidence"].mean())


def _old_figure_binomial(p0: float, k: int) -> np.ndarray:
    """The binomial reference as the easiness figure wrote it before it moved here (p0 clamped
    into (0, 1))."""
    p0 = min(max(p0, 1e-12), 1 - 1e-12)
    j = np.arange(k + 1)
    logc = np.array([math.lgamma(k + 1) - math.lgamma(i + 1) - math.lgamma(k - i + 1) for i in j])
    return np.exp(logc + j * np.log(p0) + (k - j) * np.log1p(-p0))


def test_binomial_reference_matches_the_old_figure_copy():
    for k, p0 in [(50, 0.3), (100, 0.1013), (8, 0.5), (20, 0.0), (20, 1.0)]:
        ref = ez.binomial_reference(k, p0)
        assert np.allclose(ref["pmf"], _old_figure_binomial(p0, k), rtol=1e-9, atol=1e-9)
        assert np.allclose(ref["p"], np.arange(k + 1) / k)


def test_dispersion_is_one_for_binomial_draws_and_nan_when_degenerate():
    rng = np.random.default_rng(3)
    p = rng.binomial(100, 0.4, 20000) / 100
    assert ez.dispersion(p, 100) == pytest.approx(1.0, abs=0.05)
    spread = rng.uniform(0, 1, 20000)
    assert ez.dispersion(rng.binomial(100, spread) / 100, 100) > 10
    assert math.isnan(ez.dispersion(np.ones(10), 100))
    assert math.isnan(ez.within_class_dispersion(np.zeros(10), np.arange(10) % 2, 100))


def test_within_class_dispersion_removes_class_differences():
    rng = np.random.default_rng(4)
    labels = np.arange(30000) % 3
    p = rng.binomial(50, np.array([0.1, 0.5, 0.9])[labels]) / 50
    # Each class is binomial on its own: 1 within classes, far above 1 globally.
    assert ez.within_class_dispersion(p, labels, 50) == pytest.approx(1.0, abs=0.05)
    assert ez.dispersion(p, 50) > 5
    # Matches the definition written with pandas.
    g = pd.DataFrame({"p": p[:300], "c": labels[:300]}).groupby("c")["p"]
    m = g.transform("mean")
    num = ((p[:300] - m) ** 2).sum()
    den = (g.size() * g.mean() * (1 - g.mean()) / 50).sum()
    assert ez.within_class_dispersion(p[:300], labels[:300], 50) == pytest.approx(num / den)
