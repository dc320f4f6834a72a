"""Demo-mode caps as policy (memcore/demo/): `demo.limits` reads them from the settings (off by
default, 0 for no cap, invalid values and old MEMLAB_ names named), `demo.check` and
`demo.check_queue` enforce each spec, cost, device, queue and read-only cap with a message that
names the field, the cap and its variable, and `describe` says them in words. The layers that
submit are tested in test_demo_submitting.py, the visitors in test_demo_visitors.py."""

from __future__ import annotations

import dataclasses

import pytest
from demo_helpers import SMALL
from hypothesis import given
from hypothesis import strategies as st

from memcore import demo
from memcore.spec.presets import preset

# cap field -> (spec field it guards, a spec with that field set to `value`)
SPEC_CAPS = {
    "max_width": ("model.width", lambda v: SMALL.replace(**{"model.width": v})),
    "max_depth": ("model.depth", lambda v: SMALL.replace(**{"model.depth": v})),
    "max_epochs": ("train.epochs", lambda v: SMALL.replace(**{"train.epochs": v})),
    "max_members": ("train.members", lambda v: SMALL.replace(**{"train.members": v})),
    "max_train_size": ("data.train_size", lambda v: SMALL.replace(**{"data.train_size": v})),
    "max_width_mult": (
        "model.width_mult",
        lambda v: SMALL.replace(**{"model.arch": "cnn", "model.width_mult": v}),
    ),
}


def env(**caps: object) -> dict[str, str]:
    """A demo environment with every cap off except the ones given (by DemoLimits field)."""
    out = {"MEMCORE_DEMO": "1"} | {var: "0" for var in demo.CAPS.values()}
    out |= {demo.CAPS[name]: str(v) for name, v in caps.items()}
    return out


def test_off_by_default_nothing_is_capped() -> None:
    lim = demo.limits({})
    assert not lim.active and lim == demo.DemoLimits()
    huge = preset("mnist-mlp", **{"model.width": 65536, "train.members": 4096})
    demo.check(huge, lim)  # no raise
    demo.check_queue(lim, active_total=10**6, active_session=10**6, adding=10**6)
    assert dataclasses.is_dataclass(lim)
    with pytest.raises(dataclasses.FrozenInstanceError):
        lim.max_width = 1  # type: ignore[misc]


def test_demo_defaults_reject_the_paper_scale_and_accept_the_offline_default() -> None:
    lim = demo.limits({"MEMCORE_DEMO": "1"})
    assert all(getattr(lim, name) is not None for name in demo.CAPS)
    with pytest.raises(ValueError, match=r"model\.width=4096 .*cap of 1024 .*DEMO_MAX_WIDTH\)"):
        demo.check(preset("mnist-mlp"), lim)
    for name in ("digits-mlp", "mnist1d-mlp", "sensitivity-2x16"):
        demo.check(preset(name), lim)


@pytest.mark.parametrize("cap", sorted(SPEC_CAPS))
@given(limit=st.integers(2, 8))
def test_each_spec_cap_admits_its_value_and_rejects_one_above(cap: str, limit: int) -> None:
    field, make = SPEC_CAPS[cap]
    lim = demo.limits(env(**{cap: limit}))
    demo.check(make(limit), lim)
    over = make(limit + 1)
    with pytest.raises(ValueError) as err:
        demo.check(over, lim)
    msg = str(err.value)
    assert msg.startswith(f"{field}={limit + 1} exceeds this demo's cap of {limit} ")
    assert f"(set by {demo.CAPS[cap]})" in msg


def test_zero_means_no_cap() -> None:
    lim = demo.limits(env(max_width=0))
    assert lim.max_width is None
    demo.check(SMALL.replace(**{"model.width": 65536}), lim)


def test_whole_split_counts_against_the_train_size_cap() -> None:
    lim = demo.limits(env(max_train_size=5000))
    demo.check(SMALL, lim)  # digits has 1,797 examples in all
    mnist = SMALL.replace(**{"data.dataset": "mnist"})
    with pytest.raises(ValueError, match=r"train_size=0 \(all 50,000 mnist examples\).*<= 5000"):
        demo.check(mnist, lim)
    demo.check(mnist.replace(**{"data.train_size": 5000}), lim)


def test_step_cap_catches_tiny_batches_and_sensitivity_has_its_own() -> None:
    lim = demo.limits(env(max_steps=1000, max_sens_steps=50))
    spec = SMALL.replace(**{"data.train_size": 100, "train.batch_size": 10, "train.epochs": 100})
    assert demo.sgd_steps(spec) == 1000
    demo.check(spec, lim)
    with pytest.raises(ValueError, match=r"steps=1200 \(.*\) exceeds .* cap of 1000 .*MAX_STEPS"):
        demo.check(spec.replace(**{"train.batch_size": 9}), lim)  # ceil(100/9) = 12 -> 1200
    sens = preset("sensitivity-2x16")  # 1,000 examples, batch 10: 100 steps
    with pytest.raises(ValueError, match="MEMCORE_DEMO_MAX_SENS_STEPS"):
        demo.check(sens, lim)
    demo.check(sens.replace(**{"data.train_size": 500}), lim)


ISSUE_LINK = {  # issue 13: about 4e6 s of CSR work, queued by a shared link
    "metrics.csr_every": 1,
    "metrics.csr_probes": 100_000,
    "metrics.csr_iters": 10_000,
    "metrics.track_size": 100_000,
}


def test_the_metrics_link_of_the_issue_is_refused() -> None:
    lim = demo.limits({"MEMCORE_DEMO": "1"})
    with pytest.raises(ValueError, match=r"metrics\.csr_probes=100000 .*MAX_CSR_PROBES"):
        demo.check(SMALL.replace(**ISSUE_LINK), lim, device="cpu")
    for name, value in ISSUE_LINK.items():  # each field alone
        if name != "metrics.csr_every":
            spec = SMALL.replace(**{"metrics.csr_every": 1, name: value})
            with pytest.raises(ValueError, match=f"{name}={value} exceeds"):
                demo.check(spec, lim, device="cpu")


def test_the_cost_caps_bound_what_the_field_caps_allow() -> None:
    """On a CPU server, with only the cost caps on, the issue's link on the form's default
    values is still refused, and so is CSR every epoch on a large run that every field cap
    allows; the message gives the estimate."""
    device = "cpu"
    lim = demo.limits(env(max_seconds=600, max_memory_mb=4096))
    with pytest.raises(ValueError, match=r"estimated (time|memory)=.*MEMCORE_DEMO_MAX_"):
        demo.check(preset("digits-mlp").replace(**ISSUE_LINK), lim, device=device)
    fields_ok = demo.limits({"MEMCORE_DEMO": "1", "MEMCORE_DEMO_MAX_SECONDS": "0"})
    big = preset(
        "mnist1d-mlp",
        **{"model.width": 1024, "model.depth": 4, "train.members": 16, "train.epochs": 50,
           "train.batch_size": 256, "metrics.csr_every": 1},
    )  # fmt: skip
    demo.check(big, fields_ok, device=device)  # every single field within its cap
    with pytest.raises(ValueError, match=r"estimated time=\d+ s exceeds .*MAX_SECONDS\) \(≈"):
        demo.check(big, demo.limits({"MEMCORE_DEMO": "1"}), device=device)


def test_visitors_cannot_choose_the_device() -> None:
    lim = demo.limits({"MEMCORE_DEMO": "1"})
    for device in ("cpu", "cuda", "cuda:999", "mps"):
        with pytest.raises(ValueError, match=f"train.device='{device}': .*must be auto"):
            demo.check(SMALL.replace(**{"train.device": device}), lim, device="cpu")
    demo.check(SMALL, lim, device="cpu")  # auto: the server's device


def test_train_examples_are_the_registry_split_sizes() -> None:
    from memcore.datasets import REGISTRY

    for name, info in REGISTRY.items():
        spec = SMALL.replace(**{"data.dataset": name, "data.train_size": 0})
        assert demo.train_examples(spec) == info.n_train
    # With data.val_fraction the bound stays within one example per class of the real split.
    from memcore.data.loading import load

    for vf in (0.0, 0.1, 0.5):
        spec = SMALL.replace(**{"data.train_size": 0, "data.val_fraction": vf})
        assert abs(demo.train_examples(spec) - load(spec.data).n_train) <= 10


def test_sgd_steps_matches_a_loop() -> None:
    for n, b, e in [(100, 10, 3), (101, 10, 3), (7, 64, 5), (1797, 1, 1)]:
        spec = SMALL.replace(**{"data.train_size": n, "train.batch_size": b, "train.epochs": e})
        steps = sum(1 for _ in range(e) for _ in range(0, n, b))
        assert demo.sgd_steps(spec) == steps


def test_readonly_rejects_every_new_run_with_or_without_demo_mode() -> None:
    for environ in ({"MEMCORE_READONLY": "1"}, {"MEMCORE_READONLY": "yes", "MEMCORE_DEMO": "1"}):
        lim = demo.limits(environ)
        assert lim.readonly and lim.active
        with pytest.raises(ValueError, match=f"^{demo.READONLY_MESSAGE}$"):
            demo.check(SMALL, lim)
        with pytest.raises(ValueError, match="read-only"):
            demo.check_queue(lim, active_total=0, adding=1)
        demo.check_queue(lim, active_total=0, adding=0)  # nothing new: fine


@pytest.mark.parametrize(
    "var,value",
    [("MEMCORE_DEMO", "maybe"), ("MEMCORE_DEMO_MAX_WIDTH", "-1"), ("MEMCORE_DEMO_MAX_EPOCHS", "x")],
)
def test_invalid_environment_names_the_variable(var: str, value: str) -> None:
    with pytest.raises(ValueError, match=var):
        demo.limits({"MEMCORE_DEMO": "1", var: value})


def test_old_memlab_names_still_work_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning) as caught:
        lim = demo.limits({"MEMLAB_DEMO": "1", "MEMLAB_MAX_WIDTH": "64"})
    said = [str(w.message) for w in caught]
    assert any("MEMLAB_DEMO" in m and "use MEMCORE_DEMO" in m for m in said)
    assert any("MEMLAB_MAX_WIDTH" in m and "use MEMCORE_DEMO_MAX_WIDTH" in m for m in said)
    assert lim.demo and lim.max_width == 64
    new = demo.limits(
        {"MEMCORE_DEMO": "1", "MEMCORE_DEMO_MAX_WIDTH": "32", "MEMLAB_MAX_WIDTH": "64"}
    )
    assert new.max_width == 32  # the new name wins


def test_queue_caps_count_session_and_total() -> None:
    lim = demo.limits(env(max_queued_per_session=2, max_queued=5))
    demo.check_queue(lim, active_total=4, active_session=1, adding=1)
    with pytest.raises(ValueError, match=r"queued jobs=2 \+ 1 new .*cap of 2 .*PER_SESSION"):
        demo.check_queue(lim, active_total=2, active_session=2, adding=1)
    with pytest.raises(ValueError, match=r"jobs=4 \+ 2 new .*cap of 5 .*DEMO_MAX_QUEUED\)"):
        demo.check_queue(lim, active_total=4, active_session=0, adding=2)


def test_describe_lists_the_caps_in_words() -> None:
    assert "off" in demo.limits({}).describe()
    text = demo.limits({"MEMCORE_DEMO": "1"}).describe()
    assert "width ≤ 1024" in text and "≤ 10 queued runs per visitor" in text
    assert demo.limits(env(max_width=64)).describe() == "Demo limits: width ≤ 64."
    assert demo.limits(env()).describe() == "Demo limits: none."
    assert "read-only" in demo.limits({"MEMCORE_READONLY": "1"}).describe().lower()
