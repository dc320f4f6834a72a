"""memcore.data.noise: exact counts, untouched validation, matched statistics, uniform labels."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from memcore.data import noise as N
from memcore.data.loading import Dataset, load
from memcore.spec import NoiseSpec


def synthetic(n: int = 500, shape=(3, 4, 4), n_classes: int = 10, seed: int = 0) -> Dataset:
    """A clean dataset whose channels and pixels have different means and spreads."""
    g = torch.Generator().manual_seed(seed)
    numel = torch.tensor(shape).prod().item()
    loc = torch.linspace(0.1, 0.8, numel).reshape(shape)
    scale = torch.linspace(0.02, 0.3, numel).flip(0).reshape(shape)
    x = (loc + scale * torch.randn((n, *shape), generator=g)).float()
    y = torch.randint(0, n_classes, (n,), generator=g)
    xv, yv = x[:50].clone() + 1, y[:50].clone()
    return Dataset(
        name="synthetic", x_train=x, y_train=y, x_val=xv, y_val=yv, y_clean=y,
        noisy=torch.zeros(n, dtype=torch.bool), classes=tuple(map(str, range(n_classes))),
        n_classes=n_classes, input_shape=tuple(shape),
    )  # fmt: skip


def _changed_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a != b).reshape(len(a), -1).any(dim=1)


LEVELS = [0.0, 0.01, 0.1, 0.33, 0.5, 0.77, 1.0]


@pytest.mark.parametrize("p", LEVELS)
@pytest.mark.parametrize("n", [1, 7, 500])
def test_randx_changes_exactly_round_pn_examples(p, n):
    ds = synthetic(n=n, shape=(1, 3, 3))
    out = N.apply(ds, NoiseSpec(kind="randX", level=p, seed=5))
    m = round(p * n)
    assert int(out.noisy.sum()) == m
    changed = _changed_rows(out.x_train, ds.x_train)
    assert torch.equal(changed, out.noisy)  # Gaussian draws never equal the clean pixels
    assert torch.equal(out.y_train, ds.y_train) and torch.equal(out.y_clean, ds.y_clean)


@pytest.mark.parametrize("p", LEVELS)
def test_randy_other_changes_exactly_round_pn_labels(p):
    ds = synthetic(n=333)
    out = N.apply(ds, NoiseSpec(kind="randY", level=p, seed=1, y_mode="other"))
    m = round(p * 333)
    assert int(out.noisy.sum()) == m
    assert torch.equal(out.y_train != ds.y_train, out.noisy)  # other-class: every one differs
    assert torch.equal(out.x_train, ds.x_train) and torch.equal(out.y_clean, ds.y_train)


@pytest.mark.parametrize("p", LEVELS)
def test_randy_uniform_marks_round_pn_and_only_changes_marked(p):
    ds = synthetic(n=333)
    out = N.apply(ds, NoiseSpec(kind="randY", level=p, seed=1))
    assert int(out.noisy.sum()) == round(p * 333)
    assert not (out.y_train != ds.y_train)[~out.noisy].any()
    assert int(out.y_train.min()) >= 0 and int(out.y_train.max()) < ds.n_classes


@pytest.mark.parametrize(
    "spec",
    [
        NoiseSpec(kind="randX", level=0.5, x_stats="pixel"),
        NoiseSpec(kind="randY", level=1.0),
        NoiseSpec(labels="unique"),
    ],
)
def test_validation_and_input_untouched(spec):
    ds = synthetic()
    before = {f.name: getattr(ds, f.name) for f in dataclasses.fields(ds)}
    copies = {k: v.clone() for k, v in before.items() if isinstance(v, torch.Tensor)}
    out = N.apply(ds, spec)
    assert out.x_val is ds.x_val and out.y_val is ds.y_val
    for k, v in copies.items():  # apply is pure: the input dataset is unchanged
        assert torch.equal(getattr(ds, k), v), k


def _stats(x: torch.Tensor, dims: tuple[int, ...]):
    return x.mean(dim=dims), x.std(dim=dims, correction=0)


@pytest.mark.parametrize(
    "x_stats, dims", [("global", (0, 1, 2, 3)), ("channel", (0, 2, 3)), ("pixel", (0,))]
)
def test_randx_matches_training_statistics(x_stats, dims):
    ds = synthetic(n=4000)
    out = N.apply(ds, NoiseSpec(kind="randX", level=1.0, seed=2, x_stats=x_stats))
    mean_ref, std_ref = _stats(ds.x_train, dims)
    mean, std = _stats(out.x_train, dims)
    # Standard error of a mean of 4000 draws is std/63; allow ~5 of them (plus float slack).
    assert torch.allclose(mean, mean_ref, atol=float(std_ref.max()) * 0.08 + 1e-4)
    assert torch.allclose(std, std_ref, rtol=0.08, atol=1e-4)
    # Coarser statistics cannot reproduce the per-pixel structure: the pixel option must.
    pix_mean, _ = _stats(out.x_train, (0,))
    spread = float((pix_mean - ds.x_train.mean(0)).abs().max())
    assert (spread < 0.02) == (x_stats == "pixel")


def _wilson_hilferty_sf(stat: float, df: int) -> float:
    """Chi-square upper tail by the Wilson-Hilferty normal approximation (no scipy needed)."""
    z = ((stat / df) ** (1 / 3) - (1 - 2 / (9 * df))) / (2 / (9 * df)) ** 0.5
    return float(0.5 * torch.erfc(torch.tensor(z / 2**0.5)))


def _uniformity_pvalue(counts: torch.Tensor) -> float:
    """Chi-square goodness of fit of counts to uniform; scipy when installed."""
    counts = counts.double()
    expected = counts.sum() / len(counts)
    stat = float(((counts - expected) ** 2 / expected).sum())
    df = len(counts) - 1
    try:
        from scipy.stats import chi2
    except ImportError:
        return _wilson_hilferty_sf(stat, df)
    return float(chi2.sf(stat, df))


def test_uniformity_check_can_fail():
    # 10% excess in one class of 60,000 draws: chi-square 53.5 on 9 degrees of freedom.
    skewed = torch.tensor([6600] + [6000] * 9)
    assert _uniformity_pvalue(skewed) < 1e-6
    assert _wilson_hilferty_sf(53.5, 9) < 1e-6 < _wilson_hilferty_sf(10.0, 9)


def test_randy_uniform_labels_are_uniform_over_all_classes():
    n, c = 60_000, 10
    ds = synthetic(n=n, shape=(1,), n_classes=c)
    out = N.apply(ds, NoiseSpec(kind="randY", level=1.0, seed=3))
    assert _uniformity_pvalue(torch.bincount(out.y_train, minlength=c)) > 1e-4
    # The draw ignores the true label: it keeps it about 1/C of the time.
    kept = float((out.y_train == ds.y_train).double().mean())
    assert abs(kept - 1 / c) < 0.01


def test_randy_other_is_uniform_over_the_other_classes():
    n, c = 60_000, 10
    ds = synthetic(n=n, shape=(1,), n_classes=c)
    out = N.apply(ds, NoiseSpec(kind="randY", level=1.0, seed=3, y_mode="other"))
    assert not (out.y_train == ds.y_train).any()
    shift = (out.y_train - ds.y_train) % c  # 1..C-1, uniform if the new class is
    assert _uniformity_pvalue(torch.bincount(shift, minlength=c)[1:]) > 1e-4
    assert _uniformity_pvalue(torch.bincount(out.y_train[ds.y_train == 0], minlength=c)[1:]) > 1e-4


@pytest.mark.parametrize("kind", ["randX", "randY"])
def test_same_seed_same_corruption_other_seed_differs(kind):
    ds = synthetic()
    a = N.apply(ds, NoiseSpec(kind=kind, level=0.3, seed=11))
    b = N.apply(ds, NoiseSpec(kind=kind, level=0.3, seed=11))
    c = N.apply(ds, NoiseSpec(kind=kind, level=0.3, seed=12))
    assert torch.equal(a.noisy, b.noisy) and torch.equal(a.x_train, b.x_train)
    assert torch.equal(a.y_train, b.y_train)
    assert not torch.equal(a.noisy, c.noisy)


def test_higher_level_corrupts_a_superset():
    ds = synthetic()
    low = N.apply(ds, NoiseSpec(kind="randY", level=0.2, seed=4)).noisy
    high = N.apply(ds, NoiseSpec(kind="randY", level=0.6, seed=4)).noisy
    assert bool((high | ~low).all())
    assert torch.equal(N.chosen(ds.n_train, NoiseSpec(kind="randY", level=0.2, seed=4)),
                       low.nonzero().flatten())  # fmt: skip


def test_unique_labels_alone_and_with_randx():
    ds = synthetic(n=200)
    u = N.apply(ds, NoiseSpec(labels="unique"))
    assert torch.equal(u.y_train, torch.arange(200)) and u.n_classes == 200
    assert torch.equal(u.y_clean, ds.y_train) and not u.noisy.any()
    ux = N.apply(ds, NoiseSpec(kind="randX", level=0.5, labels="unique"))
    assert torch.equal(ux.y_train, torch.arange(200)) and int(ux.noisy.sum()) == 100
    assert torch.equal(_changed_rows(ux.x_train, ds.x_train), ux.noisy)
    uy = N.apply(ds, NoiseSpec(kind="randY", level=1.0, labels="unique", y_mode="other"))
    assert uy.n_classes == 200 and not (uy.y_train == torch.arange(200)).any()


def test_none_is_identity_and_noisy_input_rejected():
    ds = synthetic()
    out = N.apply(ds, NoiseSpec())
    assert out.x_train is ds.x_train and torch.equal(out.y_train, ds.y_train)
    assert not out.noisy.any() and out.n_classes == ds.n_classes
    noisy = N.apply(ds, NoiseSpec(kind="randY", level=0.5))
    with pytest.raises(ValueError, match="clean"):
        N.apply(noisy, NoiseSpec(kind="randY", level=0.5))


def test_prepare_is_apply_of_load(tiny_spec):
    spec = tiny_spec.replace(**{"noise.kind": "randX", "noise.level": 0.25})
    a = N.prepare(spec)
    b = N.apply(load(spec.data), spec.noise)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.noisy, b.noisy)
    assert a.n_train == 200 and int(a.noisy.sum()) == 50
    assert torch.equal(a.x_val, load(spec.data).x_val)
