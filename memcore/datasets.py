"""The dataset registry: one table of every dataset's static facts. Dataset names live only here.

Pure Python (no torch; of memcore only the settings): the spec, the loaders, the files on disk,
the jobs, the demo policy and the app all read this table. Loading nothing, it is cheap to import.

`REGISTRY` is the built-in table below plus the user's imported datasets: those are listed in
`<data folder>/user/registry.json` (written by memcore.data.imports, re-read here whenever the
file changes), so every reader sees one table. An imported dataset carries its content hash
(part of its runs' keys) and, once removed, stays in the table as `removed` so that its stored
runs still read (their spec validates, their key is the same); it can no longer be loaded.

| name          | source                      | input     | train / validation (default split)   |
|---------------|-----------------------------|-----------|--------------------------------------|
| digits        | scikit-learn (offline)      | 1 x 8 x 8 | 1,797 images, 20% stratified val,    |
|               |                             |           | seeded by data.seed; pixels / 16     |
| mnist1d       | mnist1d package (offline)   | 1 x 40    | its own 4,000 / 1,000 split; raw, as |
|               |                             |           | the package makes it (mean 0, std 1) |
| mnist         | torchvision (data folder)   | 1 x 28x28 | 60k train -> 50k / 10k held out with |
| fashion_mnist | torchvision (data folder)   | 1 x 28x28 | a fixed seed; the test set is unused |
| cifar10       | torchvision (data folder)   | 3 x 32x32 | 50k train / the 10k test set         |

Inputs are float32 as loaded: images in [0, 1]; mnist1d in its own representation (what its
authors train on; squeezed into [0, 1] an MLP at lr 0.1 learned almost nothing). `value_range` is
each dataset's (min, max) as loaded: every distance-like setting in "/255" units (CSR radius,
LASS step and noise, adversarial training) is that fraction of the range (metrics.critical
`data_units`), so r/255 means the same share of the range on every dataset.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memcore import settings

__all__ = [
    "BUILTIN",
    "DATASETS",
    "DIGITS_VAL_FRACTION",
    "MNIST_DEFAULT_VAL",
    "OFFLINE_CSR",
    "OFFLINE_DATASETS",
    "offline_csr",
    "PAPER_CSR",
    "REGISTRY",
    "SPLITS",
    "DatasetInfo",
    "data_root",
    "names",
    "user_registry_path",
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
DIGITS_VAL_FRACTION = 0.2  # digits' default validation share (stratified, seeded by data.seed)

# How the default train/validation split is made (data.val_fraction = 0):
SPLITS = (
    "stratified",  # DIGITS_VAL_FRACTION of the images per class, seeded by data.seed
    "given",  # the source's own test set is the validation set
    "holdout",  # MNIST_DEFAULT_VAL images held out with a fixed seed
)

# Per-dataset quick run defaults (PAPER.md calibration notes): lr 0.1 on small offline data, and
# a CSR search that makes a few percent of the trained real-data net's probes critical. The
# authors' early stop (fewer than 20 new critical samples in an iteration) was set for 1,000
# probes; on the 359 digits validation probes it ends every search after one iteration, so
# offline data searches all iterations (csr_min_new 0).
# Radius, measured with the critical figure's quick set-up (real data, 500 training examples,
# width 256, batch 32, lr 0.1, 200 epochs, 300 validation probes, 2 members; CSR at epoch 0 ->
# epoch 200, per member):
# - digits, 2/255 of the range: 0.177 / 0.147 -> 0.023 / 0.037 (1/255: 0.097 / 0.063 -> 0.01 /
#   0.02), so 2/255: about 3% of the trained net's probes critical.
# - mnist1d (its own representation, range 10.0): 2/255 made 57% of probes critical before
#   training and 66% after (issue 21); measured: 1/255 0.33 -> 0.37, 0.5/255 0.18 -> 0.21,
#   0.25/255 0.10 -> 0.10, 0.1/255 0.037 / 0.037 -> 0.060 / 0.047, 0.05/255 0.023 / 0.010 ->
#   0.027 / 0.013. So 0.1/255: about 5% of the trained net's probes critical.
_CSR_RADIUS = {"digits": 2.0, "mnist1d": 0.1}


def offline_csr(name: str) -> dict[str, Any]:
    """The CSR spec fields of an offline dataset's preset and form defaults."""
    return {"metrics.csr_radius": _CSR_RADIUS[name], "metrics.csr_min_new": 0}


OFFLINE_CSR: dict[str, Any] = offline_csr("digits")
PAPER_CSR: dict[str, Any] = {"metrics.csr_radius": 0.3, "metrics.csr_min_new": 20}
OFFLINE_RUN = {"train.lr": 0.1, "train.batch_size": 64, **OFFLINE_CSR}  # imported data
_PAPER_RUN = {"train.lr": 0.01, "train.batch_size": 128, **PAPER_CSR}


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about one dataset (no loading)."""

    name: str
    source: str  # scikit-learn | mnist1d | torchvision
    input_shape: tuple[int, ...]  # one example, C x H x W for images (mnist1d: 1 x 40)
    n_train: int  # default training split size
    n_val: int  # default validation split size
    n_images: int  # all train-split images (what data.val_fraction divides)
    classes: tuple[str, ...]
    split: str  # the default split: one of SPLITS
    split_text: str  # the default split, in words
    # {"section.field": value} a form applies on picking this data (a dict: kept out of the hash)
    run_defaults: dict[str, Any] = field(hash=False)
    preset: str  # the preset (memcore.spec.presets) a figure's runs build on
    value_range: tuple[float, float] = (0.0, 1.0)  # min, max of the input tensors as loaded
    folder: str = ""  # torchvision: where the files go, relative to the data root
    files: tuple[str, ...] = ()  # torchvision: archives to put in `folder`
    extracted: tuple[str, ...] = ()  # torchvision: what they extract to (either set is enough)
    url: str = ""  # torchvision: where the archives come from
    torchvision_class: str = ""  # torchvision: the class in torchvision.datasets
    # imported datasets only (source "imported"):
    content_hash: str = ""  # sha256 of the stored arrays: part of every run key on this data
    file: str = ""  # the stored .npz, relative to the data folder
    origin: str = ""  # what it was imported from (a path or an uploaded file's name)
    representation: str = ""  # how the values were made (e.g. "as in the file, float32")
    owner: str = ""  # the demo visitor who uploaded it ("" = everyone sees it)
    removed: bool = False  # removed by the user: listed so its stored runs read, not loadable

    @property
    def offline(self) -> bool:
        return self.source != "torchvision"

    @property
    def imported(self) -> bool:
        return self.source == "imported"

    def to_json(self) -> dict[str, Any]:
        """The registry file's entry (tuples as lists)."""
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        return json.loads(json.dumps(d))

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DatasetInfo:
        tuples = ("input_shape", "classes", "value_range", "files", "extracted")
        return cls(**{k: tuple(v) if k in tuples else v for k, v in d.items()})


def _mnist_like(name: str, folder: str, classes: tuple[str, ...], url: str) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        source="torchvision",
        input_shape=(1, 28, 28),
        n_train=60_000 - MNIST_DEFAULT_VAL,
        n_val=MNIST_DEFAULT_VAL,
        n_images=60_000,
        classes=classes,
        split="holdout",
        split_text="50k/10k of the 60k train images (fixed seed); test set unused",
        run_defaults=dict(_PAPER_RUN),
        preset="mnist-mlp",
        folder=f"{folder}/raw",
        files=tuple(f + ".gz" for f in _MNIST_FILES),
        extracted=_MNIST_FILES,
        url=url,
        torchvision_class=folder,
    )


# min and max of the 4,000 mnist1d training sequences (make_dataset(get_dataset_args()),
# deterministic), rounded outward; tests/test_datasets.py checks them against the data.
MNIST1D_RANGE = (-5.4795, 4.5336)

BUILTIN: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        "digits", "scikit-learn", (1, 8, 8), 1438, 359, 1797, DIGIT_NAMES, "stratified",
        "20% stratified validation, seeded by data.seed", {**OFFLINE_RUN, **offline_csr("digits")},
        "digits-mlp",
    ),
    "mnist1d": DatasetInfo(
        "mnist1d", "mnist1d", (1, 40), 4000, 1000, 4000, DIGIT_NAMES, "given",
        "the package's 4,000 train / 1,000 test", {**OFFLINE_RUN, **offline_csr("mnist1d")},
        "mnist1d-mlp",
        value_range=MNIST1D_RANGE,
    ),
    "mnist": _mnist_like(
        "mnist", "MNIST", DIGIT_NAMES, "https://ossci-datasets.s3.amazonaws.com/mnist/"
    ),
    "fashion_mnist": _mnist_like(
        "fashion_mnist", "FashionMNIST", FASHION_NAMES,
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    "cifar10": DatasetInfo(
        "cifar10", "torchvision", (3, 32, 32), 50_000, 10_000, 50_000, CIFAR_NAMES, "given",
        "50k train / the 10k test set", dict(_PAPER_RUN), "mnist-mlp", folder=".",
        files=("cifar-10-python.tar.gz",),
        extracted=tuple(f"cifar-10-batches-py/{b}" for b in _CIFAR_BATCHES),
        url="https://www.cs.toronto.edu/~kriz/", torchvision_class="CIFAR10",
    ),
}  # fmt: skip

DATASETS: tuple[str, ...] = tuple(BUILTIN)  # the built-in names, in the table's order
OFFLINE_DATASETS: tuple[str, ...] = tuple(n for n, i in BUILTIN.items() if i.offline)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Folder of datasets: `root`, else env MEMCORE_DATA, else <repo>/cache/datasets."""
    if root is not None:
        return Path(root).expanduser().resolve()
    env = settings.get("MEMCORE_DATA")
    return Path(env).expanduser().resolve() if env else REPO / "cache" / "datasets"


def user_registry_path() -> Path:
    """The registry file of the user's imported datasets (in the data folder)."""
    return data_root() / "user" / "registry.json"


_read: dict[str, tuple[tuple[int, int], dict[str, DatasetInfo]]] = {}


def user_datasets(strict: bool = False) -> dict[str, DatasetInfo]:
    """The imported datasets (removed ones too), re-read when the file changes. An unreadable
    file raises ValueError naming it when `strict`, else warns and counts as empty."""
    path = user_registry_path()
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _read.get(str(path))
    if hit and hit[0] == stamp:
        return hit[1]
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["datasets"]
        table = {n: DatasetInfo.from_json(e) for n, e in entries.items()}
    except (OSError, ValueError, KeyError, TypeError) as e:
        msg = f"the registry of imported datasets {path} is unreadable ({e}): fix or delete it"
        if strict:
            raise ValueError(msg) from e
        warnings.warn(msg, stacklevel=2)
        return {}
    _read[str(path)] = (stamp, table)
    return table


class _Registry(Mapping[str, DatasetInfo]):
    """The built-in table, then the imported datasets (read at each use: a dataset added by
    another process is seen at once)."""

    def __getitem__(self, name: str) -> DatasetInfo:
        if name in BUILTIN:
            return BUILTIN[name]
        return user_datasets(strict=True)[name]

    def __contains__(self, name: object) -> bool:
        return name in BUILTIN or (isinstance(name, str) and name in user_datasets())

    def __iter__(self) -> Iterator[str]:
        return iter({**BUILTIN, **user_datasets()})

    def __len__(self) -> int:
        return len({**BUILTIN, **user_datasets()})


REGISTRY: Mapping[str, DatasetInfo] = _Registry()


def names(owner: str | None = None) -> tuple[str, ...]:
    """Datasets that can be picked now: the built-ins, then the imported ones not removed.
    With `owner` (a demo visitor), only the imported datasets everyone sees or they uploaded."""
    mine = ("", owner) if owner is not None else None
    user = [
        n for n, i in user_datasets().items()
        if not i.removed and (mine is None or i.owner in mine)
    ]  # fmt: skip
    return (*DATASETS, *user)
