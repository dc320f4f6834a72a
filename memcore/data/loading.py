"""Loading datasets: tensors in [0, 1], a fixed train/validation split, subsets and downscaling.

`load(DataSpec) -> Dataset` gives float32 inputs N x *input_shape (images N x C x H x W; mnist1d
N x 1 x 40) and int64 labels. Flattening for MLPs is the model's job. Which datasets exist, their
shapes and default splits: memcore.datasets.

`data.val_fraction > 0` replaces the default split for every dataset: that share of the train
images (per class, seeded by data.seed) becomes validation. Then `data.train_size` picks a subset
of the training split (class-balanced when `data.balanced`, as balanced as class counts allow;
seeded by data.seed; subsets of growing size are nested), and `data.downscale` average-pools
images to downscale x downscale.

torchvision datasets are read from `files.data_root()`; missing files are fetched or reported by
memcore.data.files (`DatasetUnavailable` names the folder and the files to put there). Imported
datasets (memcore.data.imports) are read from the data folder as stored, checked against their
content hash; their default split is the file's own validation set or a 20% stratified one.

Loaded datasets are cached in-process; the returned tensors are shared: callers must not mutate
them in place (clone first).
"""

from __future__ import annotations

import functools
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from memcore.data import imports
from memcore.data.files import DatasetUnavailable, data_root, open_torchvision
from memcore.data.splits import stratified_split, subset
from memcore.datasets import DIGITS_VAL_FRACTION, MNIST_DEFAULT_VAL, REGISTRY, DatasetInfo
from memcore.spec import DataSpec
from memcore.spec.sections import check_dataset_fit

__all__ = ["Dataset", "clear_cache", "load"]

SPLIT_SEED = 0  # fixed seed of the MNIST-like hold-out, so data.seed only moves the subset


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset. x_* float32 N x *input_shape; y_* int64 N.

    y_train: training labels after noise; y_clean: the original class labels (before noise, also
    with unique labels); noisy: bool N, the examples the noise changed; y_val/x_val always clean.
    n_classes: output units (len(classes), or N with unique labels). Tensors may be shared with
    the in-process cache: never modify them in place.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    y_clean: torch.Tensor
    noisy: torch.Tensor
    classes: tuple[str, ...]
    n_classes: int
    input_shape: tuple[int, ...]

    @property
    def n_train(self) -> int:
        return int(self.y_train.shape[0])

    @property
    def n_val(self) -> int:
        return int(self.y_val.shape[0])


@dataclass(frozen=True, eq=False)
class _Raw:
    """Train images (x: uint8 or float, before / scale) and an optional predefined validation."""

    x: torch.Tensor
    y: torch.Tensor
    x_val: torch.Tensor | None
    y_val: torch.Tensor | None
    scale: float


@functools.lru_cache(maxsize=3)
def _raw(name: str, root: str, content_hash: str = "") -> _Raw:
    info = REGISTRY[name]
    if info.imported:  # the content hash is in the cache key: a replaced file is read anew
        return _imported(info)
    if info.source == "scikit-learn":
        from sklearn.datasets import load_digits

        d = load_digits()
        x = torch.from_numpy(d.images.astype(np.float32)).reshape(-1, 1, 8, 8)
        return _Raw(x, torch.from_numpy(d.target.astype(np.int64)), None, None, 16.0)
    if info.source == "mnist1d":
        return _mnist1d()
    tr = open_torchvision(info, Path(root), train=True)
    if info.split != "given":
        return _Raw(_images(tr.data), _labels(tr.targets), None, None, 255.0)
    te = open_torchvision(info, Path(root), train=False)
    return _Raw(_images(tr.data), _labels(tr.targets), _images(te.data), _labels(te.targets), 255.0)


def _images(data) -> torch.Tensor:
    """torchvision's stored images as N x C x H x W: MNIST-like keep a uint8 tensor N x H x W,
    CIFAR10 a numpy array N x H x W x C."""
    if isinstance(data, torch.Tensor):
        return data.unsqueeze(1)
    return torch.from_numpy(np.ascontiguousarray(data.transpose(0, 3, 1, 2)))


def _labels(targets) -> torch.Tensor:
    return torch.as_tensor(targets, dtype=torch.int64)


def _mnist1d() -> _Raw:
    """MNIST-1D generated locally (never `get_dataset`, which downloads and writes a pickle).

    make_dataset reseeds numpy's and Python's global RNGs; we restore both afterwards. Kept in the
    package's own representation (about mean 0, std 1, range memcore.datasets.MNIST1D_RANGE).
    """
    from mnist1d.data import get_dataset_args, make_dataset

    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        d = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)

    def scaled(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.astype(np.float32)).unsqueeze(1)

    def lab(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.astype(np.int64))

    return _Raw(scaled(d["x"]), lab(d["y"]), scaled(d["x_test"]), lab(d["y_test"]), 1.0)


def _imported(info: DatasetInfo) -> _Raw:
    """A dataset imported by the user (memcore.data.imports): float32 as stored."""
    try:
        a = imports.read_stored(info)
    except imports.BadDataset as e:
        raise DatasetUnavailable(str(e)) from e

    def t(k: str) -> torch.Tensor | None:
        return torch.from_numpy(a[k]) if k in a else None

    return _Raw(t("x"), t("y"), t("x_val"), t("y_val"), 1.0)


def load(data: DataSpec, root: str | os.PathLike | None = None) -> Dataset:
    """The clean dataset a DataSpec describes (see the module docstring); cached in-process.

    Raises ValueError naming data.train_size / data.downscale for impossible requests and
    DatasetUnavailable (a ValueError) when files are missing and cannot be downloaded.
    """
    info = REGISTRY[data.dataset]
    if info.removed:  # checked before the in-process cache, which may still hold it
        raise DatasetUnavailable(
            f"dataset {info.name!r} was removed (`datasets remove`); its stored runs still read. "
            f"To train on it, import it again: python -m memcore datasets add FILE --name "
            f"{info.name}"
        )
    check_dataset_fit(data, info)  # the spec checked it too; a DataSpec may come alone
    return _load(data, "" if info.offline else str(data_root(root)), info.content_hash)


@functools.lru_cache(maxsize=4)
def _load(data: DataSpec, root: str, content_hash: str = "") -> Dataset:
    info = REGISTRY[data.dataset]
    raw = _raw(data.dataset, root, content_hash)
    n_cls = len(info.classes)
    gen = torch.Generator().manual_seed(data.seed)
    x, y = raw.x, raw.y
    if data.val_fraction > 0:
        tr, va = stratified_split(y, data.val_fraction, n_cls, gen)
        x_val, y_val = x[va], y[va]
    elif raw.x_val is not None:
        tr, x_val, y_val = torch.arange(len(y)), raw.x_val, raw.y_val
    elif info.split == "stratified":
        tr, va = stratified_split(y, DIGITS_VAL_FRACTION, n_cls, gen)
        x_val, y_val = x[va], y[va]
    else:  # MNIST-like: a fixed 10k hold-out, the same for every data.seed
        perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(SPLIT_SEED))
        n_val = min(MNIST_DEFAULT_VAL, len(y) // 6)  # 10k of the real 60k; a sixth of a stub
        tr, va = perm[n_val:].sort().values, perm[:n_val].sort().values
        x_val, y_val = x[va], y[va]
    if data.train_size:
        if data.train_size > len(tr):
            raise ValueError(
                f"data.train_size={data.train_size} is invalid: {data.dataset} has {len(tr)} "
                "training examples with this split (0 = all)"
            )
        tr = tr[subset(y[tr], data.train_size, data.balanced, n_cls, gen)]
    x_tr = x[tr].float() / raw.scale
    x_val = x_val.float() / raw.scale
    if data.downscale and data.downscale != info.input_shape[-1]:
        x_tr = F.adaptive_avg_pool2d(x_tr, data.downscale)
        x_val = F.adaptive_avg_pool2d(x_val, data.downscale)
    y_tr = y[tr].clone()
    return Dataset(
        name=data.dataset,
        x_train=x_tr.contiguous(),
        y_train=y_tr,
        x_val=x_val.contiguous(),
        y_val=y_val.clone(),
        y_clean=y_tr,
        noisy=torch.zeros(len(y_tr), dtype=torch.bool),
        classes=info.classes,
        n_classes=n_cls,
        input_shape=tuple(x_tr.shape[1:]),
    )


def clear_cache() -> None:
    """Forget loaded datasets (frees memory; files added since are seen on the next load)."""
    _load.cache_clear()
    _raw.cache_clear()
