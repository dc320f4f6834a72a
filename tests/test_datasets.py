"""data.loading: offline datasets, splits, subsets, downscaling; data.files: availability and
the data folder."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from memcore.data import files
from memcore.data import loading as D
from memcore.data.files import availability
from memcore.data.loading import load
from memcore.datasets import REGISTRY
from memcore.spec import DataSpec

TORCHVISION = [n for n, i in REGISTRY.items() if not i.offline]


def _check_layout(ds: D.Dataset, shape: tuple[int, ...]):
    info = REGISTRY[ds.name]
    assert ds.input_shape == shape
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val)):
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert x.shape[1:] == shape and len(x) == len(y)
        lo, hi = info.value_range  # the registry's range holds what is loaded
        assert float(x.min()) >= lo and float(x.max()) <= hi
        assert int(y.min()) >= 0 and int(y.max()) < ds.n_classes
    assert ds.classes == info.classes and ds.n_classes == len(info.classes)
    assert torch.equal(ds.y_clean, ds.y_train) and not ds.noisy.any()


def test_digits_offline_shape_range_and_split():
    from sklearn.datasets import load_digits

    ds = load(DataSpec(dataset="digits"))
    _check_layout(ds, (1, 8, 8))
    info = REGISTRY["digits"]
    assert (ds.n_train, ds.n_val) == (info.n_train, info.n_val)
    # The split is a partition of the 1,797 images, stratified at 20% per class.
    raw = load_digits()
    assert ds.n_train + ds.n_val == len(raw.target)
    both = torch.cat([ds.x_train, ds.x_val]).reshape(-1, 64) * 16
    assert torch.allclose(both.sum(0), torch.from_numpy(raw.data.sum(0)).float())
    per_class = np.bincount(raw.target)
    val_counts = torch.bincount(ds.y_val, minlength=10).numpy()
    assert np.all(np.abs(val_counts - 0.2 * per_class) <= 0.5 + 1e-9)


def test_mnist1d_offline_in_its_own_representation_inside_the_registry_range():
    ds = load(DataSpec(dataset="mnist1d"))
    _check_layout(ds, (1, 40))
    assert (ds.n_train, ds.n_val) == (4000, 1000)
    # not squeezed into [0, 1]: about zero mean and unit std, as the mnist1d authors train on
    assert abs(float(ds.x_train.mean())) < 0.05 and abs(float(ds.x_train.std()) - 1) < 0.05
    lo, hi = REGISTRY["mnist1d"].value_range
    x = torch.cat([ds.x_train, ds.x_val])
    assert lo <= float(x.min()) < lo + 1e-3 and hi - 1e-3 < float(x.max()) <= hi


def test_mnist1d_restores_global_rngs():
    D.clear_cache()  # force make_dataset to run again
    np.random.seed(123)
    random.seed(456)
    np_before, py_before = np.random.get_state(), random.getstate()
    load(DataSpec(dataset="mnist1d"))
    np_after = np.random.get_state()
    assert np_before[0] == np_after[0] and np.array_equal(np_before[1], np_after[1])
    assert np_before[2:] == np_after[2:]
    assert random.getstate() == py_before


def test_load_is_cached_and_deterministic():
    spec = DataSpec(dataset="digits", train_size=100, seed=3)
    a = load(spec)
    assert load(spec) is a
    D.clear_cache()
    b = load(spec)
    assert b is not a and torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
    c = load(DataSpec(dataset="digits", train_size=100, seed=4))
    assert not torch.equal(a.x_train, c.x_train)


def test_digits_split_seeded_by_data_seed():
    a, b = load(DataSpec(seed=0)), load(DataSpec(seed=1))
    assert not torch.equal(a.y_val, b.y_val) or not torch.equal(a.x_val, b.x_val)


@pytest.mark.parametrize("n", [10, 100, 250])
def test_balanced_subset_has_equal_class_counts(n):
    ds = load(DataSpec(dataset="digits", train_size=n, balanced=True))
    counts = torch.bincount(ds.y_train, minlength=10)
    assert ds.n_train == n and int(counts.max() - counts.min()) <= 1


def test_balanced_subset_near_full_size_is_as_equal_as_counts_allow():
    full = load(DataSpec(dataset="digits"))
    n = full.n_train - 3
    avail = torch.bincount(full.y_train, minlength=10)
    counts = torch.bincount(load(DataSpec(dataset="digits", train_size=n)).y_train, minlength=10)
    assert int(counts.sum()) == n and bool((counts <= avail).all())
    # Water filling: every class short of its availability sits at the top level (within 1).
    short = counts < avail
    assert int(counts.max() - counts[short].min()) <= 1


def test_uniform_subset_and_nesting():
    small = load(DataSpec(dataset="digits", train_size=50, balanced=False, seed=7))
    big = load(DataSpec(dataset="digits", train_size=400, balanced=False, seed=7))
    assert small.n_train == 50
    rows = {tuple(r.tolist()) for r in big.x_train.reshape(big.n_train, -1)}
    assert all(tuple(r.tolist()) in rows for r in small.x_train.reshape(50, -1))


def test_train_size_too_large_is_named():
    with pytest.raises(ValueError, match="data.train_size"):
        load(DataSpec(dataset="digits", train_size=1797))


def test_downscale_is_average_pooling():
    native = load(DataSpec(dataset="digits"))
    small = load(DataSpec(dataset="digits", downscale=4))
    assert small.input_shape == (1, 4, 4)
    ref = native.x_train.reshape(-1, 1, 4, 2, 4, 2).mean(dim=(3, 5))
    assert torch.allclose(small.x_train, ref, atol=1e-6)
    assert torch.allclose(small.x_val, F.avg_pool2d(native.x_val, 2), atol=1e-6)
    same = load(DataSpec(dataset="digits", downscale=8))
    assert torch.equal(same.x_train, native.x_train)


@pytest.mark.parametrize(
    "spec", [DataSpec(dataset="digits", downscale=9), DataSpec("mnist1d", downscale=4)]
)
def test_bad_downscale_is_named(spec):
    with pytest.raises(ValueError, match="data.downscale"):
        load(spec)


def test_val_fraction_overrides_default_split():
    ds = load(DataSpec(dataset="mnist1d", val_fraction=0.25))
    assert ds.n_train + ds.n_val == 4000 and abs(ds.n_val - 1000) <= 10
    dg = load(DataSpec(dataset="digits", val_fraction=0.5))
    assert abs(dg.n_val - 1797 / 2) <= 10


def _write_idx(path, arr: np.ndarray):
    """MNIST's idx format: magic (0, 0, 0x08 = uint8, ndim), big-endian dims, raw bytes."""
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}i", *arr.shape))
        f.write(arr.astype(np.uint8).tobytes())


def test_cached_mnist_stub_loads_from_the_data_folder(tmp_path):
    """A hand-made stand-in for MNIST (600 random images) in the data folder: status cached,
    loads as N x 1 x 28 x 28 in [0, 1] with the pixels / 255 (no download attempted)."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (600, 28, 28))
    y = np.arange(600) % 10
    parts = {"train-images": x, "train-labels": y, "t10k-images": x[:50], "t10k-labels": y[:50]}
    for stem, arr in parts.items():
        _write_idx(raw / f"{stem}-idx{3 if 'images' in stem else 1}-ubyte", arr)
    status = {a.name: a.status for a in availability(tmp_path)}
    assert status["mnist"] == "cached" and status["fashion_mnist"] == "missing"
    ds = load(DataSpec(dataset="mnist"), root=tmp_path)
    _check_layout(ds, (1, 28, 28))
    assert ds.n_train + ds.n_val == 600 and ds.n_val == 100
    total = torch.cat([ds.x_train, ds.x_val]).sum() * 255
    assert abs(float(total) - float(x.sum())) / float(x.sum()) < 1e-5
    small = load(DataSpec(dataset="mnist", downscale=14, train_size=100), root=tmp_path)
    assert small.input_shape == (1, 14, 14) and small.n_train == 100


def test_cached_cifar10_stub_uses_its_test_set_for_validation(tmp_path, monkeypatch):
    """A hand-made CIFAR-10 stand-in (5 x 20 train, 30 test images; checksums switched off):
    N x 3 x 32 x 32 in [0, 1] with the pixels / 255, the test set as the validation set."""
    import pickle

    import torchvision.datasets.cifar as tv_cifar

    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *a, **k: True)
    monkeypatch.setattr(tv_cifar.CIFAR10, "_check_integrity", lambda self: True)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    batches = {f"data_batch_{i}": 20 for i in range(1, 6)} | {"test_batch": 30}
    images = {}
    for stem, n in batches.items():
        images[stem] = rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)
        batch = {"data": images[stem], "labels": [int(v) for v in rng.integers(0, 10, n)]}
        (folder / stem).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": list(range(10))}))
    assert {a.name: a.status for a in availability(tmp_path)}["cifar10"] == "cached"
    ds = load(DataSpec(dataset="cifar10"), root=tmp_path)
    _check_layout(ds, (3, 32, 32))
    assert (ds.n_train, ds.n_val) == (100, 30)
    want = torch.from_numpy(images["test_batch"].reshape(-1, 3, 32, 32)).float() / 255
    assert torch.equal(ds.x_val, want)
    D.clear_cache()


def test_registry_file_names_match_torchvision():
    from torchvision.datasets import CIFAR10, MNIST, FashionMNIST

    for name, cls in (("mnist", MNIST), ("fashion_mnist", FashionMNIST)):
        assert REGISTRY[name].files == tuple(f for f, _ in cls.resources)
        assert REGISTRY[name].classes[-1] in cls.classes[-1]
    assert REGISTRY["cifar10"].files == (CIFAR10.filename,)


def test_availability_lists_every_dataset(tmp_path):
    rows = {a.name: a for a in availability(tmp_path)}
    assert set(rows) == set(REGISTRY)
    assert rows["digits"].status == rows["mnist1d"].status == "offline"
    for name in TORCHVISION:
        assert rows[name].status == "missing"
        assert rows[name].folder.startswith(str(tmp_path.resolve()))


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMCORE_DATA", str(tmp_path / "env"))
    assert files.data_root() == (tmp_path / "env").resolve()
    assert files.data_root(tmp_path / "arg") == (tmp_path / "arg").resolve()
    monkeypatch.delenv("MEMCORE_DATA")
    repo = Path(__file__).resolve().parents[1]
    assert files.data_root() == repo / "cache" / "datasets"
