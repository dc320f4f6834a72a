"""Imported datasets through the whole core: an MLP learns them, the paper's figures run on them
(3 classes, values far outside [0, 1]), and the figures fit their grids to the data's size."""

from __future__ import annotations

import numpy as np
import pytest

from memcore.data import imports
from memcore.datasets import REGISTRY
from memcore.engine import trainer
from memcore.figures import VERDICTS, get
from memcore.figures.figure import CALIBRATED_ON, QUICK_MAX_TRAIN, chance, fit_to_data
from memcore.jobs import api
from memcore.metrics.critical import data_units
from memcore.spec.presets import preset
from memcore.sweeps import sweep as fr


def add_blobs(tmp_path, name: str = "blobs", n: int = 300, seed: int = 0) -> None:
    """Three Gaussian blobs in 2-D, centres 8 apart (separable), values about -3..11."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = np.array([[0, 0], [8, 0], [0, 8]], float)[y] + rng.normal(size=(n, 2))
    np.savez(tmp_path / f"{name}.npz", x=x, y=y)
    imports.add(tmp_path / f"{name}.npz", name)


def test_an_mlp_learns_separable_blobs(memcore_env, tmp_path):
    add_blobs(tmp_path)
    spec = preset(
        "digits-mlp",
        **{"data.dataset": "blobs", "model.width": 32, "train.epochs": 10, "train.device": "cpu",
           "metrics.csr_every": 0, "metrics.track_size": 0},
    )  # fmt: skip
    recs = list(trainer.train(spec))
    meta = next(r for r in recs if r["type"] == "meta")
    assert (meta["n_classes"], list(meta["input_shape"])) == (3, [1, 2])
    last = [r for r in recs if r["type"] == "epoch"][-1]
    assert last["epoch"] == 10 and last["val_acc"] >= 0.95 and last["train_acc"] >= 0.95


@pytest.mark.parametrize("name", ["easiness", "critical"])
def test_a_figure_runs_on_an_imported_three_class_dataset_outside_0_1(name, memcore_env, tmp_path):
    add_blobs(tmp_path)
    lo, hi = REGISTRY["blobs"].value_range
    assert lo < -1 and hi > 8  # not in [0, 1]: the CSR radius is a share of this range
    res = fr.run(name, "blobs", "test", memcore_env["store"])
    assert res.errors == [] and res.progress.done == res.progress.total > 0
    assert not res.frame.empty and set(get(name).columns) <= set(res.frame.columns)
    assert res.verdict.verdict in VERDICTS and res.verdict.summary
    if name == "easiness":
        assert set(res.frame["label"]) <= {0, 1, 2}
    assert chance(res.frame) == pytest.approx(1 / 3)  # regimes compare with 3-class chance
    if name == "critical":  # the LASS radius the runs used is a share of the data's range
        spec = get(name).grid("blobs", "test")[0]
        csr = [r for r in api.records(spec.key, store=memcore_env["store"]) if r["type"] == "csr"]
        want = data_units(spec.metrics.csr_radius, (lo, hi))
        assert csr and all(r["radius"] == pytest.approx(want) for r in csr) and want > 0.05


def test_quick_grids_fit_a_small_dataset_by_size_and_sgd_steps(memcore_env, tmp_path):
    add_blobs(tmp_path, n=300)  # 240 training examples
    info, ref = REGISTRY["blobs"], REGISTRY[CALIBRATED_ON]
    for name in ("capacity", "sharpness", "easiness"):
        for s in get(name).grid("blobs", "quick"):
            n = s.data.train_size or info.n_train
            assert n <= info.n_train
    base = preset("digits-mlp", **{"data.dataset": "blobs", "data.train_size": 500,
                                   "train.epochs": 200, "train.batch_size": 32})  # fmt: skip
    fitted = fit_to_data(base, quick=True)
    assert fitted.data.train_size == 0  # all 240 examples: fewer than asked
    steps = lambda n, s: s.train.epochs * -(-n // s.train.batch_size)  # noqa: E731
    assert steps(240, fitted) == pytest.approx(steps(500, base), rel=0.05)  # same SGD steps
    one_epoch = fit_to_data(base.replace(**{"train.epochs": 1}), quick=True)
    assert one_epoch.train.epochs == 1  # a one-epoch figure stays one epoch
    whole = fit_to_data(base.replace(**{"data.train_size": 0}), quick=True)
    assert steps(240, whole) == pytest.approx(steps(ref.n_train, base), rel=0.05)
    digits = base.replace(**{"data.dataset": "digits"})
    assert fit_to_data(digits, quick=True) == digits  # built-in datasets are never changed


def test_quick_scale_caps_a_large_dataset(memcore_env, tmp_path):
    add_blobs(tmp_path, n=3000)
    spec = fit_to_data(preset("digits-mlp", **{"data.dataset": "blobs"}), quick=True)
    assert spec.data.train_size == QUICK_MAX_TRAIN


def test_regime_thresholds_use_the_datasets_class_count():
    """critical's regime: real validation accuracy "learned" (figures.verdict.learned), where
    chance is 1 / the frame's classes (Figure.evaluate's attrs, from the registry)."""
    import pandas as pd

    from memcore.figures import critical

    rows = [
        {"setting": s, "epoch": float(e), "member": 0, "csr": c * e, "train_acc": 1.0,
         "val_acc": 0.45, "set": "val"}
        for s, c in (("real", 0.01), ("randX", 0.02), ("randY", 0.03)) for e in range(0, 5)
    ]  # fmt: skip
    df = pd.DataFrame(rows)
    df.attrs["n_classes"] = 10
    ten = critical.check(df)
    df.attrs["n_classes"] = 3  # chance 1/3: 45% is no longer "learned"
    three = critical.check(df)
    assert "validation accuracy" not in ten.summary
    assert three.verdict == "inconclusive" and "validation accuracy is only 45%" in three.summary


def test_cli_figure_and_report_take_an_imported_dataset(memcore_env, tmp_path, capsys):
    from memcore import cli

    add_blobs(tmp_path)
    store, out = str(memcore_env["store"]), tmp_path / "report.md"
    args = ["--scale", "test", "--store", store]
    assert cli.main(["figure", "easiness", "--dataset", "blobs", *args]) == 0
    assert cli.main(["report", "--datasets", "blobs", "--only", "easiness", *args,
                     "--out", str(out)]) == 0  # fmt: skip
    assert "blobs" in out.read_text()
    capsys.readouterr()
    assert cli.main(["figure", "easiness", "--dataset", "nope", *args]) == 2
    assert "dataset='nope' is invalid" in capsys.readouterr().err
    assert cli.main(["report", "--datasets", "blobs,nope", *args, "--out", str(out)]) == 2
    assert "'nope' is not a dataset" in capsys.readouterr().err
    assert cli.main(["figure", "filters", "--dataset", "nope", *args]) == 2
