"""memcore.datasets: the one table of datasets matches the tables it replaced, stays pure
Python, and agrees with what loading actually gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from memcore.datasets import DATASETS, OFFLINE_DATASETS, REGISTRY, SPLITS
from memcore.spec import field_types
from memcore.spec.presets import PRESETS, preset

ROOT = Path(__file__).resolve().parents[1]

# The tables the registry replaced, as they were (spec.DATASETS / OFFLINE_DATASETS /
# DATASET_DEFAULTS, demo.SPLIT_SIZES, figures.figure.PRESET_FOR).
_OFF = {
    "train.lr": 0.1,
    "train.batch_size": 64,
    "metrics.csr_radius": 2.0,
    "metrics.csr_min_new": 0,
}
_PAPER = {
    "train.lr": 0.01, "train.batch_size": 128, "metrics.csr_radius": 0.3, "metrics.csr_min_new": 20,
}  # fmt: skip
# mnist1d's CSR radius: 0.1/255 since CODE_VERSION 5 (calibrated to a few percent; datasets.py)
OLD_DATASET_DEFAULTS = {
    "digits": _OFF, "mnist1d": {**_OFF, "metrics.csr_radius": 0.1}, "mnist": _PAPER,
    "fashion_mnist": _PAPER, "cifar10": _PAPER,
}  # fmt: skip
OLD_SPLIT_SIZES = {
    "digits": (1438, 1797),
    "mnist1d": (4000, 4000),
    "mnist": (50000, 60000),
    "fashion_mnist": (50000, 60000),
    "cifar10": (50000, 50000),
}
OLD_PRESET_FOR = {
    "digits": "digits-mlp",
    "mnist1d": "mnist1d-mlp",
    "mnist": "mnist-mlp",
    "fashion_mnist": "mnist-mlp",
    "cifar10": "mnist-mlp",
}
# figures.figure.base_spec(dataset).key, pinned at CODE_VERSION 5 (see test_spec_fields)
BASE_SPEC_KEYS = {
    "digits": "e845eff85de4eb1ea510e3a4f11bc7f045e7e03c78f86b090ea94b6dc074cb27",
    "mnist1d": "829c1505dd7231c7c26c6f31877de82feda4cee29e53e07f2ec77f2d97b21a49",
    "mnist": "7a18a7b2aa60f8064c82ada7ac9b0efa4d7be24c1de5463c39d8dc14043f9524",
    "fashion_mnist": "92e29d1c93a14af54722a089e5b36cc314f34790264b74fb0b59a736c3d27dc2",
    "cifar10": "53886cd9b9072909a66e0e248ee92a16100a59b0064232e0747b45b0dac37002",
}


def test_registry_matches_the_tables_it_replaced():
    assert DATASETS == ("digits", "mnist1d", "mnist", "fashion_mnist", "cifar10")
    assert OFFLINE_DATASETS == ("digits", "mnist1d")
    assert {n: i.run_defaults for n, i in REGISTRY.items()} == OLD_DATASET_DEFAULTS
    assert {n: (i.n_train, i.n_images) for n, i in REGISTRY.items()} == OLD_SPLIT_SIZES
    assert {n: i.preset for n, i in REGISTRY.items()} == OLD_PRESET_FOR


def test_figure_base_specs_keep_their_keys():
    from memcore.figures.figure import base_spec

    assert {d: base_spec(d).key for d in DATASETS} == BASE_SPEC_KEYS


def test_registry_imports_no_torch_and_of_memcore_only_the_settings():
    code = (
        "import json, sys, memcore.datasets\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('memcore', 'torch')))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    # the settings: the data folder (MEMCORE_DATA) holds the imported datasets' registry
    assert json.loads(out.stdout) == ["memcore", "memcore.datasets", "memcore.settings"]


@pytest.mark.parametrize("name", DATASETS)
def test_entries_are_consistent(name):
    info = REGISTRY[name]
    assert info.name == name and info.split in SPLITS and len(info.classes) >= 2
    assert info.preset in PRESETS
    assert set(info.run_defaults) <= set(field_types())
    preset(info.preset, **{**info.run_defaults, "data.dataset": name})  # a valid spec
    lo, hi = info.value_range
    assert lo < hi
    if info.split == "given":  # the validation set is the source's test set
        assert info.n_images == info.n_train
    else:  # the validation set comes out of the train images
        assert info.n_train + info.n_val == info.n_images
    if not info.offline:
        assert info.files and info.extracted and info.url and info.torchvision_class


@pytest.mark.parametrize("name", OFFLINE_DATASETS)
def test_offline_data_loads_as_the_registry_says(name):
    from memcore.data.loading import load
    from memcore.spec import DataSpec

    info, ds = REGISTRY[name], load(DataSpec(dataset=name))
    assert (ds.n_train, ds.n_val, ds.input_shape) == (info.n_train, info.n_val, info.input_shape)
    lo, hi = info.value_range
    for x in (ds.x_train, ds.x_val):
        assert lo <= float(x.min()) and float(x.max()) <= hi
