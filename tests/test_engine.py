"""memcore.engine.trainer: records, determinism, member equality, memorisation, clean/noisy split,
resume, cancel, CSR/sharpness/adversarial wiring, validation; the `train` CLI verb."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from memcore.cli import main
from memcore.data import noise
from memcore.engine import measurements
from memcore.engine import trainer as engine
from memcore.metrics import critical
from memcore.spec import RunSpec
from memcore.spec.presets import preset

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest


def _spec(tiny_spec: RunSpec, **changes) -> RunSpec:
    return tiny_spec.replace(**changes)


def _scalars(records, type_="epoch"):
    """Records of one type without wall time (which differs between runs)."""
    return [{k: v for k, v in r.items() if k != "wall"} for r in records if r["type"] == type_]


def test_record_stream_shape(tiny_spec):
    recs = list(engine.train(_spec(tiny_spec, **{"train.members": 2})))
    assert recs[0]["type"] == "meta" and recs[-1]["type"] == "done"
    meta = recs[0]
    assert meta["members"] == 2 and meta["n_train"] == 200 and len(meta["tracked"]) == 50
    epochs = _scalars(recs)
    assert [(r["epoch"], r["member"]) for r in epochs] == [
        (e, k) for e in (0, 1, 2) for k in (0, 1)
    ]
    assert [r["step"] for r in epochs[::2]] == [0, 7, 14]  # ceil(200 / 32) steps per epoch
    arrays = [r for r in recs if r["type"] == "arrays"]
    assert len(arrays) == 3
    a = arrays[-1]["arrays"]
    assert a["correct"].shape == (2, 50) and a["correct"].dtype == bool
    assert a["prob"].dtype == np.float32 and a["loss"].shape == (2, 50)
    assert [r["epoch"] for r in recs if r["type"] == "checkpoint"] == [1]  # none after the last
    json.dumps([r for r in recs if r["type"] not in ("arrays", "checkpoint")])  # JSON-safe


def test_member_k_equals_single_run_with_seed_plus_k(tiny_spec):
    base = _spec(tiny_spec, **{"train.momentum": 0.9, "train.seed": 5})
    many = _scalars(engine.train(base.replace(**{"train.members": 3})))
    for k in (0, 2):
        one = _scalars(engine.train(base.replace(**{"train.seed": 5 + k})))
        mine = [r for r in many if r["member"] == k]
        assert len(mine) == len(one)
        for a, b in zip(mine, one, strict=True):
            for col in ("train_loss", "train_acc", "val_loss", "val_acc"):
                assert a[col] == pytest.approx(b[col], abs=1e-5)


def test_cnn_member_equals_single_run(tiny_spec):
    base = _spec(
        tiny_spec,
        **{"model.arch": "cnn", "model.width_mult": 0.03, "train.epochs": 1, "data.train_size": 64},
    )
    many = _scalars(engine.train(base.replace(**{"train.members": 2})))
    one = _scalars(engine.train(base.replace(**{"train.seed": 1})))
    for a, b in zip([r for r in many if r["member"] == 1], one, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-5)


def test_same_spec_gives_identical_records(tiny_spec):
    spec = _spec(
        tiny_spec, **{"train.members": 2, "train.regularizer": "dropout", "train.strength": 0.3}
    )
    a, b = list(engine.train(spec)), list(engine.train(spec))
    assert _scalars(a) == _scalars(b)
    arr_a = [r["arrays"]["loss"] for r in a if r["type"] == "arrays"]
    arr_b = [r["arrays"]["loss"] for r in b if r["type"] == "arrays"]
    assert all(np.array_equal(x, y) for x, y in zip(arr_a, arr_b, strict=True))


def test_mlp_memorises_128_random_labels(tiny_spec):
    spec = _spec(
        tiny_spec,
        **{
            "data.train_size": 128,
            "noise.kind": "randY",
            "noise.level": 1.0,
            "model.width": 256,
            "train.lr": 0.05,
            "train.momentum": 0.9,
            "train.epochs": 100,
        },
    )
    done = list(engine.train(spec))[-1]
    assert done["summary"]["train_acc"] == 1.0
    assert done["summary"]["clean_acc"] is None  # every example is noisy


def _check_groups(recs, data):
    """Records' clean/noisy means equal the per-example arrays (all examples tracked)."""
    meta = recs[0]
    noisy = np.array(meta["tracked_noisy"])
    for ep, arr in zip(_scalars(recs), [r for r in recs if r["type"] == "arrays"], strict=False):
        correct = arr["arrays"]["correct"][ep["member"]]
        assert ep["train_acc"] == pytest.approx(correct.mean(), abs=1e-6)
        for name, mask in (("clean", ~noisy), ("noisy", noisy)):
            if mask.any():
                assert ep[f"{name}_acc"] == pytest.approx(correct[mask].mean(), abs=1e-6)
            else:
                assert ep[f"{name}_acc"] is None and ep[f"{name}_loss"] is None


@pytest.mark.parametrize(
    "kind,level", [("randY", 0.5), ("randY", 1.0), ("none", 0.0), ("randX", 0.25)]
)
def test_clean_noisy_split(tiny_spec, kind, level):
    spec = _spec(
        tiny_spec,
        **{"noise.kind": kind, "noise.level": level, "metrics.track_size": 200, "train.epochs": 1},
    )
    data = noise.prepare(spec)
    recs = list(engine.train(spec, data=data))
    meta = recs[0]
    assert meta["n_noisy"] == round(level * 200) == int(data.noisy.sum())
    assert meta["tracked"] == list(range(200))
    assert meta["tracked_noisy"] == data.noisy.tolist()
    assert meta["tracked_labels"] == data.y_train.tolist()
    _check_groups(recs, data)


def test_resume_from_checkpoint_equals_uninterrupted(tiny_spec):
    spec = _spec(
        tiny_spec,
        **{
            "train.members": 2,
            "train.epochs": 3,
            "train.momentum": 0.9,
            "train.regularizer": "dropout",
            "train.strength": 0.2,
        },
    )
    full = list(engine.train(spec))
    ckpt = next(r for r in full if r["type"] == "checkpoint" and r["epoch"] == 1)
    resumed = list(engine.train(spec, resume=ckpt["state"]))
    assert resumed[0]["type"] == "epoch" and resumed[0]["epoch"] == 2
    after = [r for r in full if r["type"] == "epoch" and r["epoch"] > 1]
    assert _scalars(resumed) == [{k: v for k, v in r.items() if k != "wall"} for r in after]
    assert resumed[-1]["summary"]["best_val_acc"] == full[-1]["summary"]["best_val_acc"]


def test_should_stop_ends_the_run_without_done(tiny_spec):
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 3

    recs = list(engine.train(tiny_spec, should_stop=stop))
    assert recs[-1]["type"] == "arrays" and all(r["type"] != "done" for r in recs)


def test_early_steps_give_fractional_epochs(tiny_spec):
    recs = list(engine.train(_spec(tiny_spec, **{"metrics.early_steps": 3, "train.epochs": 1})))
    eps = [r["epoch"] for r in recs if r["type"] == "epoch"]
    assert eps == [0, 1 / 7, 2 / 7, 3 / 7, 1]
    assert [r["step"] for r in recs if r["type"] == "epoch"] == [0, 1, 2, 3, 7]


def test_step_schedule_halves_lr(tiny_spec):
    spec = _spec(
        tiny_spec,
        **{"train.schedule": "step", "train.step_epochs": 1, "train.epochs": 3, "train.gamma": 0.5},
    )
    lrs = [r["lr"] for r in engine.train(spec) if r["type"] == "epoch"]
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.025])


def test_csr_and_sharpness_records(tiny_spec):
    spec = _spec(
        tiny_spec,
        **{
            "train.members": 2,
            "metrics.csr_every": 1,
            "metrics.csr_probes": 20,
            "metrics.csr_iters": 5,
            "metrics.sharpness": True,
        },
    )
    recs = list(engine.train(spec))
    csr = [r for r in recs if r["type"] == "csr"]
    assert [(r["epoch"], r["member"]) for r in csr] == [(e, k) for e in (0, 1, 2) for k in (0, 1)]
    assert all(0.0 <= r["csr"] <= 1.0 and 1 <= r["iters"] <= 5 and r["set"] == "val" for r in csr)
    # the spec's radius is in 0-255 pixel units; records carry it in data units
    assert csr[0]["radius"] == pytest.approx(spec.metrics.csr_radius / 255)
    sharp = [r for r in recs if r["type"] == "sharpness"]
    assert [r["member"] for r in sharp] == [0, 1] and all(r["sharpness"] > 0 for r in sharp)
    assert recs[-1]["type"] == "done"


def test_adversarial_training_runs_and_differs_from_dropout_alone(tiny_spec):
    base = {
        "train.epochs": 1,
        "train.strength": 0.1,
        "metrics.csr_iters": 3,
        "metrics.csr_radius": 20.0,
    }
    adv = _scalars(engine.train(_spec(tiny_spec, **base, **{"train.regularizer": "adversarial"})))
    drop = _scalars(engine.train(_spec(tiny_spec, **base, **{"train.regularizer": "dropout"})))
    assert adv[0] == drop[0]  # same initialisation
    assert adv[-1]["train_loss"] != drop[-1]["train_loss"]


@pytest.mark.parametrize(
    "changes,match",
    [
        ({"train.batch_size": 500}, "train.batch_size"),
        ({"model.width": 0}, "model.width"),
        ({"train.regularizer": "dropout", "train.strength": 1.0}, "train.strength"),
        ({"train.device": "tpu"}, "train.device"),
        ({"task": "sensitivity"}, "task"),
    ],
)
def test_invalid_values_raise_value_error(tiny_spec, changes, match):
    with pytest.raises(ValueError, match=match):
        engine.train(tiny_spec.replace(**changes))


def test_cnn_on_non_image_data_raises(tiny_spec):
    data = noise.prepare(tiny_spec)
    flat = type(data)(
        **{
            **data.__dict__,
            "x_train": data.x_train.reshape(200, -1),
            "x_val": data.x_val.reshape(data.n_val, -1),
            "input_shape": (64,),
        }
    )
    with pytest.raises(ValueError, match="cnn"):
        engine.train(tiny_spec.replace(**{"model.arch": "cnn"}), data=flat)


def test_resolve_device():
    assert engine.resolve_device("cpu") == torch.device("cpu")
    assert engine.resolve_device("auto").type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="train.device"):
            engine.resolve_device("cuda:3")


def test_cli_train_json_and_table(tiny_spec, capsys):
    args = [
        "train",
        "--dataset",
        "digits",
        "--n",
        "100",
        "--width",
        "16",
        "--epochs",
        "2",
        "--members",
        "2",
        "--batch-size",
        "32",
        "--noise",
        "randY",
        "--level",
        "0.5",
        "--csr-every",
        "0",
        "--train-device",
        "cpu",
    ]
    assert main([*args, "--json"]) == 0
    lines = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    types = [r["type"] for r in lines]
    assert types[0] == "meta" and types[-1] == "done" and "arrays" not in types
    assert "checkpoint" not in types and types.count("epoch") == 6
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "summary after epoch 2" in out and "noisy_acc" in out
    assert main(["train", "--width", "0"]) == 2


def test_cnn_resume_with_batchnorm_and_dropout_equals_uninterrupted(tiny_spec):
    spec = _spec(
        tiny_spec,
        **{
            "model.arch": "cnn",
            "model.width_mult": 0.03,
            "data.train_size": 64,
            "train.epochs": 2,
            "train.members": 2,
            "train.momentum": 0.9,
            "train.regularizer": "dropout",
            "train.member_strengths": "0.1,0.5",
        },
    )
    full = list(engine.train(spec))
    ckpt = next(r for r in full if r["type"] == "checkpoint")
    assert any(k.startswith("bn_mean") for k in ckpt["state"]["model"])
    resumed = _scalars(engine.train(spec, resume=ckpt["state"]))
    assert resumed == [r for r in _scalars(full) if r["epoch"] == 2]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("precision", ["fp32", "tf32", "bf16"])
def test_cuda_run_matches_cpu_run(tiny_spec, arch, precision):
    spec = _spec(tiny_spec, **{"model.arch": arch, "model.width_mult": 0.05})
    cpu = _scalars(engine.train(spec))
    gpu = _scalars(
        engine.train(spec.replace(**{"train.device": "cuda", "train.precision": precision}))
    )
    tol = 1e-4 if precision == "fp32" else 5e-2
    for a, b in zip(cpu, gpu, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=tol)


def test_first_layer_filters_stored_at_init_and_after_the_last_epoch(tiny_spec):
    spec = _spec(tiny_spec, **{"train.members": 2})
    fresh = engine.Trainer(spec)
    shape = tuple(fresh.data.input_shape)
    init = measurements.first_layer_filters(fresh.model, shape).numpy()
    trainer = engine.Trainer(spec)
    rows = [r for r in trainer.records() if r["type"] == "arrays" and "first_layer" in r["arrays"]]
    assert [r["epoch"] for r in rows] == [0, spec.train.epochs]
    final = measurements.first_layer_filters(trainer.model, shape).numpy()
    assert rows[0]["arrays"]["first_layer"].shape == (2, spec.model.width, 8, 8)
    np.testing.assert_array_equal(rows[0]["arrays"]["first_layer"], init)
    np.testing.assert_array_equal(rows[1]["arrays"]["first_layer"], final)
    assert not np.allclose(init, final)  # training moved the filters
    # each hidden unit's filter is its column of the first weight matrix, in image layout
    w = trainer.model.weights[0].detach().numpy()  # K x 64 x width
    np.testing.assert_array_equal(final[1, 3].ravel(), w[1, :, 3])


def test_an_mlp_learns_mnist1d_in_its_own_representation():
    """mnist1d min-max scaled into [0, 1] left an MLP at lr 0.1 near chance (train accuracy .26
    after 30 epochs); in its own representation the preset's MLP learns within 10 epochs."""
    spec = preset(
        "mnist1d-mlp",
        **{"data.train_size": 1000, "train.epochs": 10, "train.device": "cpu",
           "metrics.csr_every": 0, "metrics.track_size": 0},
    )  # fmt: skip
    last = [r for r in engine.train(spec) if r["type"] == "epoch"][-1]
    assert last["train_acc"] > 0.3 and last["val_acc"] > 0.2  # chance is 0.1


def test_critical_pairs_stored_after_the_last_csr_are_within_the_radius_and_flip(tiny_spec):
    """The last evaluation's arrays record carries member 0's critical pairs: each adversarial
    point lies within the L-inf radius of its probe and the final model predicts it differently."""
    spec = _spec(
        tiny_spec,
        **{"train.members": 2, "metrics.csr_every": 1, "metrics.csr_radius": 40.0,
           "metrics.csr_iters": 10, "metrics.csr_probes": 40},
    )  # fmt: skip
    trainer = engine.Trainer(spec)
    recs = list(trainer.records())
    rows = [r for r in recs if r["type"] == "arrays" and "critical_x" in r["arrays"]]
    assert [r["epoch"] for r in rows] == [spec.train.epochs]  # once, with the last evaluation
    assert "correct" in rows[0]["arrays"]  # the same record: one row per evaluation
    a = rows[0]["arrays"]
    s = len(a["critical_x"])
    assert 0 < s <= measurements.CRITICAL_PAIRS
    assert a["critical_x"].shape == a["critical_adv"].shape == (s, 1, 8, 8)
    radius = critical.data_units(spec.metrics.csr_radius)
    assert np.abs(a["critical_adv"] - a["critical_x"]).max() <= radius + 1e-6
    assert (a["critical_pred"] != a["critical_adv_pred"]).all()
    # the final weights agree: member 0 classifies the probe and its adversarial point apart
    trainer.model.eval()
    with torch.no_grad():
        pred = trainer.model(torch.from_numpy(a["critical_x"]).flatten(1))[0].argmax(-1)
        adv = trainer.model(torch.from_numpy(a["critical_adv"]).flatten(1))[0].argmax(-1)
    np.testing.assert_array_equal(pred.numpy(), a["critical_pred"])
    np.testing.assert_array_equal(adv.numpy(), a["critical_adv_pred"])
    # the probes are validation images with their labels
    data = trainer.data
    np.testing.assert_array_equal(data.y_val[a["critical_index"]].numpy(), a["critical_label"])
    np.testing.assert_allclose(data.x_val[a["critical_index"]].numpy(), a["critical_x"])


def test_tracked_subset_is_not_the_noisy_examples(tiny_spec):
    """The tracked subset and the noisy examples are drawn independently: with data.seed =
    noise.seed (both 0 by default) they once came from the same permutation, so a randY 0.5
    run tracked only noisy examples."""
    spec = _spec(tiny_spec, **{"noise.kind": "randY", "noise.level": 0.5})
    meta = next(engine.train(spec))
    share = np.mean(meta["tracked_noisy"])  # 50 of 200 examples tracked, 100 noisy
    assert 0.3 < share < 0.7, share
