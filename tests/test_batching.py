"""memcore.engine.batching: a batched run of several specs gives, per spec, the records of that
spec's own run (to 1e-5, CPU, wall times aside); the grouping never mixes shapes; the split and
the per-spec checkpoint; metrics.draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.engine import batching
from memcore.engine import trainer as engine
from memcore.engine.batching import Batch
from memcore.metrics import draws
from memcore.spec import RunSpec

TOL = 1e-5


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest


def assert_same(a, b, path="") -> None:
    """Records (or parts) equal to TOL, wall times ignored."""
    if isinstance(a, dict):
        assert set(a) == set(b), (path, set(a) ^ set(b))
        for k in a:
            if k != "wall":
                assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, (np.ndarray, torch.Tensor)):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        assert a.shape == b.shape, path
        assert a.size == 0 or np.abs(a - b).max() <= TOL, (path, np.abs(a - b).max())
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, abs_tol=TOL), (path, a, b)
    else:
        assert a == b, (path, a, b)


def _sweep(tiny_spec: RunSpec, **common) -> list[RunSpec]:
    """Four specs of one shape: noise kind, level, noise and train seeds, members all differ."""
    base = tiny_spec.replace(
        **{
            "train.members": 2,
            "train.momentum": 0.5,
            "model.width": 16,
            "metrics.csr_every": 1,
            "metrics.csr_probes": 20,
            "metrics.csr_iters": 5,
            "metrics.track_size": 30,
            "metrics.early_steps": 2,
            "metrics.sharpness": True,
            **common,
        }
    )
    return [
        base.replace(**{"noise.kind": "randY", "noise.level": 0.5}),
        base.replace(
            **{
                "noise.kind": "randX",
                "noise.level": 0.3,
                "noise.seed": 3,
                "train.seed": 5,
                "train.members": 1,
            }
        ),  # fmt: skip
        base,
        base.replace(
            **{
                "noise.kind": "randX",
                "noise.level": 1.0,
                "train.members": 3,
                "noise.x_stats": "pixel",
            }
        ),  # fmt: skip
    ]


def _batched(specs: list[RunSpec]) -> list[list[dict]]:
    out: list[list[dict]] = [[] for _ in specs]
    for i, rec in engine.train_batch(specs):
        out[i].append(rec)
    return out


@pytest.mark.parametrize(
    "common",
    [
        {},
        {"train.regularizer": "dropout", "train.strength": 0.3},
        {"train.regularizer": "input_noise", "train.strength": 0.2, "metrics.csr_set": "train"},
        {"train.regularizer": "weight_decay", "train.strength": 0.01},
    ],
    ids=["plain", "dropout", "input-noise-train-probes", "weight-decay"],
)
def test_batched_run_gives_each_spec_its_own_runs_records(tiny_spec, common):
    specs = _sweep(tiny_spec, **common)
    assert len({batching.shape_key(s) for s in specs}) == 1
    got = _batched(specs)
    for spec, recs in zip(specs, got, strict=True):
        alone = list(engine.train(spec))
        assert [r["type"] for r in recs] == [r["type"] for r in alone]
        assert_same(alone, recs)
    # the last evaluation carries each spec's critical pairs (its first member's), compared above
    last = [[r for r in recs if r["type"] == "arrays"][-1]["arrays"] for recs in got]
    assert all("critical_x" in a and "critical_adv" in a for a in last)
    assert sum(len(a["critical_x"]) for a in last) > 0, "no critical pair to compare"
    # the randX spec's members really saw their own inputs: its noisy examples are 100%
    assert got[3][0]["n_noisy"] == 200 and got[2][0]["n_noisy"] == 0


def test_batched_cnn_with_per_member_strengths_matches_its_own_runs(tiny_spec):
    base = tiny_spec.replace(
        **{
            "model.arch": "cnn",
            "model.width_mult": 0.05,
            "train.epochs": 1,
            "train.members": 2,
            "train.regularizer": "dropout",
        }  # fmt: skip
    )
    specs = [
        base.replace(**{"train.member_strengths": (0.0, 0.5)}),
        base.replace(**{"noise.kind": "randX", "noise.level": 0.5, "train.strength": 0.2}),
    ]
    for spec, recs in zip(specs, _batched(specs), strict=True):
        assert_same(list(engine.train(spec)), recs)


def test_a_specs_share_of_a_batched_checkpoint_resumes_alone(tiny_spec):
    specs = _sweep(tiny_spec, **{"metrics.sharpness": False, "train.epochs": 3})[:2]
    recs = _batched(specs)[1]
    i = next(i for i, r in enumerate(recs) if r["type"] == "checkpoint")
    resumed = list(engine.train(specs[1], resume=recs[i]["state"]))
    alone = list(engine.train(specs[1]))
    j = next(j for j, r in enumerate(alone) if r["type"] == "checkpoint")
    assert_same(alone[j + 1 :], resumed)


def test_batch_rejects_mixed_shapes_and_a_batch_cannot_resume(tiny_spec):
    with pytest.raises(ValueError, match="same shape"):
        Batch((tiny_spec, tiny_spec.replace(**{"model.width": 8})))
    with pytest.raises(ValueError, match="once"):
        Batch((tiny_spec, tiny_spec))
    two = (tiny_spec, tiny_spec.replace(**{"train.seed": 1}))
    with pytest.raises(ValueError, match="resume"):
        engine.Trainer(Batch(two), resume={"epoch": 1})


def test_split_renumbers_members_and_slices_arrays(tiny_spec):
    b = Batch((tiny_spec.replace(**{"train.members": 2}), tiny_spec.replace(**{"train.seed": 9})))
    assert b.members == 3 and b.member_spec == [0, 0, 1] and b.member_seeds == [0, 1, 9]
    assert b.split({"type": "epoch", "member": 2, "x": 1}) == [(1, {"type": "epoch", "member": 0,
                                                                    "x": 1})]  # fmt: skip
    parts = b.split({"type": "arrays", "epoch": 0, "step": 0, "arrays": {"a": np.arange(3)}})
    assert [(i, r["arrays"]["a"].tolist()) for i, r in parts] == [(0, [0, 1]), (1, [2])]
    # per-spec arrays (critical pairs) go whole to their spec, not sliced by member
    rec = {"type": "arrays", "epoch": 2, "step": 9, "arrays": {"a": np.arange(3)}}
    rec["spec_arrays"] = [{"c": np.arange(4)}, {"c": np.arange(1)}]
    parts = b.split(rec)
    assert [(i, r["arrays"]["c"].tolist()) for i, r in parts] == [(0, [0, 1, 2, 3]), (1, [0])]
    assert all("spec_arrays" not in r for _, r in parts)
    with pytest.raises(ValueError, match="per spec"):
        b.split({"type": "meta"})


# -- the grouping never mixes shapes ------------------------------------------------------------
_FIELDS = {
    "noise.kind": st.sampled_from(["none", "randX", "randY"]),
    "noise.seed": st.integers(0, 2),
    "noise.labels": st.sampled_from(["class", "unique"]),
    "train.seed": st.integers(0, 3),
    "train.members": st.integers(1, 40),
    "train.lr": st.sampled_from([0.01, 0.1]),
    "train.regularizer": st.sampled_from(["none", "dropout", "adversarial"]),
    "model.width": st.sampled_from([16, 32]),
    "data.train_size": st.sampled_from([0, 200]),
    "metrics.csr_every": st.sampled_from([0, 1]),
    "task": st.sampled_from(["train", "train", "sensitivity"]),
}


@st.composite
def _specs(draw) -> RunSpec:
    flat = {k: draw(v) for k, v in _FIELDS.items()}
    if flat["noise.kind"] != "none":
        flat["noise.level"] = draw(st.sampled_from([0.2, 0.5, 1.0]))
    if flat["train.regularizer"] != "none":
        flat["train.strength"] = draw(st.sampled_from([0.1, 0.5]))
    return RunSpec().replace(**flat)


@settings(max_examples=150, deadline=None)
@given(st.lists(_specs(), max_size=25), st.integers(1, 64))
def test_grouping_never_mixes_shapes_and_keeps_every_spec_once(specs, cap):
    groups = batching.groups(specs, max_members=cap)
    flat = [s.key for g in groups for s in g]
    assert sorted(flat) == sorted({s.key for s in specs})  # each spec exactly once
    for g in groups:
        Batch(tuple(g))  # would raise on mixed shapes
        assert len({batching.shape_key(s) for s in g}) == 1
        for s in g:
            rest = s.replace(**{"noise.kind": g[0].noise.kind, "noise.level": g[0].noise.level,
                                "noise.seed": g[0].noise.seed, "train.seed": g[0].train.seed,
                                "train.members": g[0].train.members,
                                "train.strength": g[0].train.strength})  # fmt: skip
            assert rest.key == g[0].key  # only the free fields differ
        if len(g) > 1:
            assert sum(s.train.members for s in g) <= cap
            assert all(s.task == "train" and s.train.regularizer != "adversarial" for s in g)


def test_member_generators_give_each_group_its_own_generators_block():
    gen = draws.MemberGenerators([(7, 2), (3, 1), (7, 2)])
    x = draws.randn((5, 4), gen)
    own7 = torch.randn((2, 4), generator=torch.Generator().manual_seed(7))
    own3 = torch.randn((1, 4), generator=torch.Generator().manual_seed(3))
    assert torch.equal(x, torch.cat([own7, own3, own7]))
    u = draws.rand((5, 4), gen)  # the next draw continues each generator
    g7 = torch.Generator().manual_seed(7)
    torch.randn((2, 4), generator=g7)
    assert torch.equal(u[:2], torch.rand((2, 4), generator=g7))
    with pytest.raises(ValueError, match="leading axis of 5"):
        draws.rand((4, 4), gen)


def test_a_batched_run_ends_its_streams_when_stopped_inside_a_csr_search(tiny_spec):
    base = tiny_spec.replace(
        **{"metrics.csr_every": 1, "metrics.csr_iters": 10_000, "metrics.csr_min_new": 0}
    )
    specs = [base, base.replace(**{"noise.kind": "randY", "noise.level": 0.5})]
    checks = 0

    def stop() -> bool:  # true from the 20th check on: inside the epoch-0 search
        nonlocal checks
        checks += 1
        return checks >= 20

    kinds = [rec["type"] for _, rec in engine.train_batch(specs, should_stop=stop)]
    assert "meta" in kinds and not {"csr", "done"} & set(kinds)
    assert checks == 20  # stopped inside the search, not after its 10,000 iterations


def test_batched_mnist1d_run_converts_its_255_values_with_the_datasets_range(tiny_spec):
    """One value range for the group (the specs share the dataset): mnist1d's, not (0, 1)."""
    from memcore.datasets import REGISTRY
    from memcore.metrics.critical import data_units

    base = tiny_spec.replace(
        **{
            "data.dataset": "mnist1d",
            "metrics.csr_every": 1,
            "metrics.csr_iters": 5,
            "metrics.csr_probes": 20,
            "metrics.csr_radius": 20.0,
        }  # fmt: skip
    )
    specs = [base, base.replace(**{"noise.kind": "randY", "noise.level": 0.5, "train.seed": 4})]
    got = _batched(specs)
    want = data_units(20.0, REGISTRY["mnist1d"].value_range)
    for spec, recs in zip(specs, got, strict=True):
        radii = [r["radius"] for r in recs if r["type"] == "csr"]
        assert radii and radii == pytest.approx([want] * len(radii))
        assert_same(list(engine.train(spec)), recs)
