"""Dataset registry: tensors in [0, 1], a fixed train/validation split, subsets and downscaling.

`load(DataSpec) -> Dataset` gives float32 inputs N x *input_shape (images N x C x H x W; mnist1d
N x 1 x 40) and int64 labels. Flattening for MLPs is the model's job. Datasets:

| name          | source                      | input     | train / validation (default split)   |
|---------------|-----------------------------|-----------|--------------------------------------|
| digits        | scikit-learn (offline)      | 1 x 8 x 8 | 1,797 images, 20% stratified val,    |
|               |                             |           | seeded by data.seed; pixels / 16     |
| mnist1d       | mnist1d package (offline)   | 1 x 40    | its own 4,000 / 1,000 split; min-max |
|               |                             |           | scaled with the 4,000 train images   |
| mnist         | torchvision (data folder)   | 1 x 28x28 | 60k train -> 50k / 10k held out with |
| fashion_mnist | torchvision (data folder)   | 1 x 28x28 | a fixed seed; the test set is unused |
| cifar10       | torchvision (data folder)   | 3 x 32x32 | 50k train / the 10k test set         |

`data.val_fraction > 0` replaces the default split for every dataset: that share of the train
images (per class, seeded by data.seed) becomes validation. Then `data.train_size` picks a subset
of the training split (class-balanced when `data.balanced`, as balanced as class counts allow;
seeded by data.seed; subsets of growing size are nested), and `data.downscale` average-pools
images to downscale x downscale.

torchvision datasets live in `data_root()` (argument, else env MEMCORE_DATA, else
<repo>/cache/datasets). Missing files are downloaded only when a connectivity probe answers
within ~2 s and env MEMCORE_OFFLINE is not set; otherwise `DatasetUnavailable` names the folder
and the files to put there. Archives placed by hand (.gz / .tar.gz) are extracted without network.

Loaded datasets are cached in-process; the returned tensors are shared: callers must not mutate
them in place (clone first).
"""

from __future__ import annotations

import functools
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from memcore import settings
from memcore.data.files import DatasetUnavailable, have_files, open_torchvision
from memcore.data.splits import stratified_split, subset
from memcore.spec import DataSpec

__all__ = [
    "REGISTRY",
    "Availability",
    "Dataset",
    "DatasetInfo",
    "DatasetUnavailable",
    "availability",
    "clear_cache",
    "data_root",
    "load",
]

REPO = Path(__file__).resolve().parents[1]
DIGIT_NAMES = tuple(str(i) for i in range(10))
FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
CIFAR_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_CIFAR_BATCHES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta")
MNIST_DEFAULT_VAL = 10_000  # MNIST-like default validation size, held out of the 60k train images
SPLIT_SEED = 0  # fixed seed of that hold-out, so data.seed only moves the subset
DIGITS_VAL_FRACTION = 0.2


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


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about one dataset (no loading)."""

    name: str
    source: str  # scikit-learn | mnist1d | torchvision
    input_shape: tuple[int, ...]
    n_train: int  # default training split size
    n_val: int  # default validation split size
    classes: tuple[str, ...]
    split: str  # the default split, in words
    folder: str = ""  # torchvision: where the files go, relative to the data root
    files: tuple[str, ...] = ()  # torchvision: archives to put in `folder`
    extracted: tuple[str, ...] = ()  # torchvision: what they extract to (either set is enough)
    url: str = ""  # torchvision: where the archives come from

    @property
    def offline(self) -> bool:
        return self.source != "torchvision"


def _mnist_like(name: str, folder: str, classes: tuple[str, ...], url: str) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        source="torchvision",
        input_shape=(1, 28, 28),
        n_train=60_000 - MNIST_DEFAULT_VAL,
        n_val=MNIST_DEFAULT_VAL,
        classes=classes,
        split="50k/10k of the 60k train images (fixed seed); test set unused",
        folder=f"{folder}/raw",
        files=tuple(f + ".gz" for f in _MNIST_FILES),
        extracted=_MNIST_FILES,
        url=url,
    )


REGISTRY: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        "digits", "scikit-learn", (1, 8, 8), 1438, 359, DIGIT_NAMES,
        "20% stratified validation, seeded by data.seed",
    ),
    "mnist1d": DatasetInfo(
        "mnist1d", "mnist1d", (1, 40), 4000, 1000, DIGIT_NAMES,
        "the package's 4,000 train / 1,000 test",
    ),
    "mnist": _mnist_like(
        "mnist", "MNIST", DIGIT_NAMES, "https://ossci-datasets.s3.amazonaws.com/mnist/"
    ),
    "fashion_mnist": _mnist_like(
        "fashion_mnist", "FashionMNIST", FASHION_NAMES,
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    "cifar10": DatasetInfo(
        "cifar10", "torchvision", (3, 32, 32), 50_000, 10_000, CIFAR_NAMES,
        "50k train / the 10k test set", folder=".", files=("cifar-10-python.tar.gz",),
        extracted=tuple(f"cifar-10-batches-py/{b}" for b in _CIFAR_BATCHES),
        url="https://www.cs.toronto.edu/~kriz/",
    ),
}  # fmt: skip


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Folder of downloaded datasets: `root`, else env MEMCORE_DATA, else <repo>/cache/datasets."""
    if root is not None:
        return Path(root).expanduser().resolve()
    env = settings.get("MEMCORE_DATA")
    return Path(env).expanduser().resolve() if env else REPO / "cache" / "datasets"


@dataclass(frozen=True)
class Availability:
    """One row of `availability()`: status is offline (ships with a package), cached (files in
    the data folder) or missing."""

    name: str
    status: str
    input_shape: tuple[int, ...]
    n_train: int
    n_val: int
    n_classes: int
    source: str
    split: str
    folder: str  # absolute folder of the files ("" for offline datasets)
    files: tuple[str, ...] = field(default=())  # files to put there when missing


def availability(root: str | os.PathLike | None = None) -> list[Availability]:
    """Every registered dataset with its status; cheap (checks file names, loads nothing)."""
    base = data_root(root)
    rows = []
    for info in REGISTRY.values():
        if info.offline:
            status, folder = "offline", ""
        else:
            cached = have_files(info, base, info.extracted) or have_files(info, base, info.files)
            status, folder = ("cached" if cached else "missing"), str(base / info.folder)
        rows.append(
            Availability(
                info.name, status, info.input_shape, info.n_train, info.n_val,
                len(info.classes), info.source, info.split, folder.rstrip("/."), info.files,
            )
        )  # fmt: skip
    return rows


@dataclass(frozen=True, eq=False)
class _Raw:
    """Train images (x: uint8 or float, before / scale) and an optional predefined validation."""

    x: torch.Tensor
    y: torch.Tensor
    x_val: torch.Tensor | None
    y_val: torch.Tensor | None
    scale: float


@functools.lru_cache(maxsize=3)
def _raw(name: str, root: str) -> _Raw:
    info = REGISTRY[name]
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        x = torch.from_numpy(d.images.astype(np.float32)).reshape(-1, 1, 8, 8)
        return _Raw(x, torch.from_numpy(d.target.astype(np.int64)), None, None, 16.0)
    if name == "mnist1d":
        return _mnist1d()
    tr = open_torchvision(info, Path(root), train=True)
    if name == "cifar10":
        te = open_torchvision(info, Path(root), train=False)

        def chw(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))

        def lab(t: list) -> torch.Tensor:
            return torch.as_tensor(t, dtype=torch.int64)

        return _Raw(chw(tr.data), lab(tr.targets), chw(te.data), lab(te.targets), 255.0)
    return _Raw(tr.data.unsqueeze(1), tr.targets.to(torch.int64), None, None, 255.0)


def _mnist1d() -> _Raw:
    """MNIST-1D generated locally (never `get_dataset`, which downloads and writes a pickle).

    make_dataset reseeds numpy's and Python's global RNGs; we restore both afterwards. Min-max
    scaled with the 4,000 train sequences' statistics; the test set lies inside their range.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        d = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    lo, hi = float(d["x"].min()), float(d["x"].max())

    def scaled(a: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(((a - lo) / (hi - lo)).astype(np.float32)).unsqueeze(1)
        return t.clamp_(0.0, 1.0)

    def lab(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.astype(np.int64))

    return _Raw(scaled(d["x"]), lab(d["y"]), scaled(d["x_test"]), lab(d["y_test"]), 1.0)


def _check(data: DataSpec, info: DatasetInfo) -> None:
    """Option checks that need the dataset's facts (the spec checks the rest)."""
    if data.downscale and len(info.input_shape) != 3:
        raise ValueError(
            f"data.downscale={data.downscale} is invalid: {info.name} is not an image dataset; "
            "use 0"
        )
    if data.downscale > info.input_shape[-1]:
        raise ValueError(
            f"data.downscale={data.downscale} is invalid: must be 0 or at most the native side "
            f"{info.input_shape[-1]} of {info.name}"
        )


def load(data: DataSpec, root: str | os.PathLike | None = None) -> Dataset:
    """The clean dataset a DataSpec describes (see the module docstring); cached in-process.

    Raises ValueError naming data.train_size / data.downscale for impossible requests and
    DatasetUnavailable (a ValueError) when files are missing and cannot be downloaded.
    """
    info = REGISTRY[data.dataset]
    _check(data, info)
    return _load(data, "" if info.offline else str(data_root(root)))


@functools.lru_cache(maxsize=4)
def _load(data: DataSpec, root: str) -> Dataset:
    info = REGISTRY[data.dataset]
    raw = _raw(data.dataset, root)
    n_cls = len(info.classes)
    gen = torch.Generator().manual_seed(data.seed)
    x, y = raw.x, raw.y
    if data.val_fraction > 0:
        tr, va = stratified_split(y, data.val_fraction, n_cls, gen)
        x_val, y_val = x[va], y[va]
    elif raw.x_val is not None:
        tr, x_val, y_val = torch.arange(len(y)), raw.x_val, raw.y_val
    elif data.dataset == "digits":
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
