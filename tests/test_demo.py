"""Demo-mode caps (memcore/demo/): read from the settings, enforced with clear messages by the
layers that submit (app/state.py and the CLI), never by memcore.jobs."""

from __future__ import annotations

import ast
import dataclasses
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_errors import plain

from memcore import demo
from memcore.demo import visitors
from memcore.demo.visitors import NO_ADDRESS, Ledger, Visitor
from memcore.spec.presets import preset

SMALL = preset("digits-mlp", **{"model.width": 16, "train.epochs": 2})

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


def test_the_cli_refuses_over_cap_metrics_in_demo_mode(demo_env, capsys) -> None:
    from memcore.cli import main
    from memcore.jobs import api

    demo_env(MEMCORE_DEMO=1)
    assert main(["submit", "--metrics-csr-iters", "10000"]) == 2  # the issue's command
    assert "metrics.csr_iters=10000 exceeds" in capsys.readouterr().err
    assert main(["submit", "--device", "cpu"]) == 2
    assert "must be auto" in capsys.readouterr().err
    assert api.list_runs() == []


@pytest.mark.parametrize(
    "param, value, said",
    [
        ("metrics.csr_iters", "10000", "metrics.csr_iters=10000 exceeds"),
        ("train.device", "cuda:999", "train.device='cuda:999': this demo trains"),
    ],
)
def test_a_link_over_the_caps_fails_the_apps_link_validation(demo_env, param, value, said):
    from streamlit.testing.v1 import AppTest

    demo_env(MEMCORE_WORKERS=0, MEMCORE_DEMO=1)
    main = str(Path(__file__).resolve().parents[1] / "app" / "main.py")
    at = AppTest.from_file(main, default_timeout=120)
    at.query_params[param] = value
    if param == "metrics.csr_iters":
        at.query_params["metrics.csr_every"] = "1"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [plain(e.value) for e in at.error]
    assert any("This link has problems" in e and said in e for e in errors), errors


def test_without_the_demo_a_missing_device_is_refused_at_run(demo_env) -> None:
    from streamlit.testing.v1 import AppTest

    from memcore.jobs import api

    demo_env(MEMCORE_WORKERS=0)
    main = str(Path(__file__).resolve().parents[1] / "app" / "main.py")
    at = AppTest.from_file(main, default_timeout=120)
    at.query_params["train.device"] = "cuda:999"
    at.run()
    at.button(key="explore:run").click().run()
    errors = [plain(e.value) for e in at.error]
    assert any("Not submitted: train.device='cuda:999' is invalid" in e for e in errors), errors
    assert api.list_runs() == []


def test_the_form_shows_the_estimated_cost_before_run(demo_env) -> None:
    from streamlit.testing.v1 import AppTest

    demo_env(MEMCORE_WORKERS=0)
    main = str(Path(__file__).resolve().parents[1] / "app" / "main.py")
    at = AppTest.from_file(main, default_timeout=120).run()
    [line] = [c.value for c in at.sidebar.caption if c.value.startswith("Estimated time")]
    assert "FLOP" in line and "B" in line and " on " in line
    at.number_input(key="explore:train.epochs").set_value(60).run()
    [later] = [c.value for c in at.sidebar.caption if c.value.startswith("Estimated time")]
    assert later != line


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


# -- through the submitting layers (app/state.py and the CLI check before memcore.jobs) ----------
@pytest.fixture
def demo_env(memcore_env, monkeypatch: pytest.MonkeyPatch):
    """A fresh store and visitor ledger; returns a setter of settings for this test."""
    monkeypatch.setattr(visitors, "LEDGER", Ledger())
    for var in ("MEMCORE_DEMO", "MEMCORE_READONLY", *demo.CAPS.values()):
        monkeypatch.delenv(var, raising=False)
    for var in [v for v in os.environ if v.startswith("MEMLAB_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("MEMCORE_WORKERS", "0")
    return lambda **kv: [monkeypatch.setenv(k, str(v)) for k, v in kv.items()]


@pytest.fixture
def be(monkeypatch: pytest.MonkeyPatch):
    """be("alice") makes app.state see visitor alice (session alice, address `address` if
    given) as Streamlit's context would; be(None): an operator (no Streamlit session)."""
    from app import state

    def become(session: str | None, address: str | None = None) -> None:
        who = None if session is None else Visitor.of(session, address)
        monkeypatch.setattr(state, "visitor", lambda: who)

    return become


def test_jobs_know_no_demo_policy(demo_env) -> None:
    from memcore.jobs import api

    demo_env(MEMCORE_READONLY=1)
    key = api.submit(preset("mnist-mlp"))  # the jobs layer queues what it is given
    assert api.status(key).status == "queued"
    jobs = Path(__file__).resolve().parents[1] / "memcore" / "jobs"
    for path in jobs.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [f"{node.module}.{a.name}" for a in node.names]
            else:
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            assert not [n for n in names if n.startswith("memcore.demo")], path


def test_app_rejects_an_oversized_spec_and_queues_nothing(demo_env) -> None:
    from app import state
    from memcore.jobs import api

    demo_env(MEMCORE_DEMO=1)
    with pytest.raises(ValueError, match=r"^model\.width=4096 exceeds this demo's cap of 1024 "):
        state.submit(preset("mnist-mlp"))
    with pytest.raises(ValueError, match=r"train\.members=17 .*MEMCORE_DEMO_MAX_MEMBERS"):
        demo.check_submit([SMALL, SMALL.replace(**{"train.members": 17})], state.store())
    with pytest.raises(ValueError, match=r"train\.members=100 exceeds this demo's cap of 16"):
        state.submit_sweep("easiness", "digits", "quick")  # a figure's sweep is checked whole
    assert api.list_runs() == []
    assert state.submit(SMALL) == SMALL.key  # within the caps: queued
    assert api.status(SMALL.key).status == "queued"


def test_app_serves_stored_runs_over_the_caps_and_in_read_only_mode(demo_env, capsys) -> None:
    from app import state
    from memcore.cli import main
    from memcore.jobs import api

    big = SMALL.replace(**{"model.width": 2048})
    key = state.submit(big)  # demo off: anything goes
    demo_env(MEMCORE_DEMO=1)
    assert state.submit(big) == key  # already stored: no new work, no cap
    demo_env(MEMCORE_READONLY=1)
    assert state.submit(big) == key
    with pytest.raises(ValueError, match=f"^{demo.READONLY_MESSAGE}$"):
        state.submit(SMALL)
    state.cancel(key)
    assert main(["retry", key]) == 2 and "read-only" in capsys.readouterr().err
    assert main(["submit", "--preset", "digits-mlp", "--width", "16"]) == 2
    assert [r["key"] for r in api.list_runs()] == [key]
    assert api.status(key).status == "cancelled"


def test_app_queue_caps_per_visitor_and_in_total(demo_env, be) -> None:
    from app import state
    from memcore.jobs import api

    demo_env(MEMCORE_DEMO=1, MEMCORE_DEMO_MAX_QUEUED_PER_SESSION=1, MEMCORE_DEMO_MAX_QUEUED=2)
    specs = [SMALL.replace(**{"train.seed": s}) for s in range(4)]
    be("alice", "203.0.113.1")
    state.submit(specs[0])
    with pytest.raises(ValueError, match="MEMCORE_DEMO_MAX_QUEUED_PER_SESSION"):
        state.submit(specs[1])
    assert state.submit(specs[0]) == specs[0].key  # resubmitting her own run is free
    be("bob", "203.0.113.2")
    state.submit(specs[1])
    be("carol", "203.0.113.3")
    with pytest.raises(ValueError, match=r"DEMO_MAX_QUEUED\)"):
        state.submit(specs[2])  # two queued in all
    api.cancel(specs[0].key)  # alice's run ends: room for her and for carol
    be("alice", "203.0.113.1")
    state.submit(specs[2])
    assert {r["status"] for r in api.list_runs()} == {"queued", "cancelled"}


def test_the_per_visitor_quota_survives_a_reload(demo_env, be) -> None:
    """A reload is a new browser session; the quota follows the client's address."""
    from app import state

    demo_env(MEMCORE_DEMO=1, MEMCORE_DEMO_MAX_QUEUED_PER_SESSION=2)
    specs = [SMALL.replace(**{"train.seed": s}) for s in range(4)]
    for tab, spec in zip(("tab1", "tab2"), specs, strict=False):  # a reload between submits
        be(tab, "203.0.113.7")
        state.submit(spec)
    be("tab3", "203.0.113.7")
    with pytest.raises(ValueError, match=r"queued jobs=2 \+ 1 new .*PER_SESSION"):
        state.submit(specs[2])
    be("tab3", "198.51.100.1")  # someone else
    state.submit(specs[2])
    be("tab4", "203.0.113.7")
    with pytest.raises(ValueError, match="only the runs of their own session"):
        state.cancel(specs[0].key)  # a reload keeps the quota, not the ownership


def test_the_visitor_address_comes_from_trusted_proxies_only() -> None:
    from memcore.demo.visitors import client_address

    xff = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7, 10.0.0.2"}  # client-chosen, client, proxy
    assert client_address(xff, "10.0.0.9", proxies=0) == "10.0.0.9"  # no proxy trusted
    assert client_address(xff, "10.0.0.9", proxies=1) == "10.0.0.2"
    assert client_address(xff, "10.0.0.9", proxies=2) == "203.0.113.7"
    assert client_address({"x-forwarded-for": "1.2.3.4"}, None, proxies=2) is None
    assert client_address({}, None, proxies=0) is None
    assert Visitor.of("s1", None).client == Visitor.of("s2", None).client == NO_ADDRESS
    assert Visitor.of("s1", "1.2.3.4").client == Visitor.of("s2", "1.2.3.4").client


# -- through the UI -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["caps", "readonly"])
def test_explore_page_shows_the_cap_message_and_queues_nothing(demo_env, mode) -> None:
    from streamlit.testing.v1 import AppTest

    from memcore.jobs import api

    demo_env(MEMCORE_WORKERS=0, **{"MEMCORE_DEMO" if mode == "caps" else "MEMCORE_READONLY": 1})
    main = str(Path(__file__).resolve().parents[1] / "app" / "main.py")
    at = AppTest.from_file(main, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    at.number_input(key="explore:model.width").set_value(4096)
    at.button(key="explore:run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = plain(" ".join(e.value for e in at.error))
    if mode == "caps":
        message = "model.width=4096 exceeds this demo's cap of 1024 (set by MEMCORE_DEMO_MAX_WIDTH)"
        assert message in errors
        assert any("width ≤ 1024" in c.value for c in at.sidebar.caption)
    else:
        assert demo.READONLY_MESSAGE in errors
    assert api.list_runs() == []


def test_read_only_demo_never_says_press_run(demo_env) -> None:
    """A link to a configuration nobody ran, in a read-only demo: every message on the page
    says it serves stored runs only; none tells the visitor to press Run, before or after they
    press it (the reference: the same link outside read-only mode says press Run)."""
    from streamlit.testing.v1 import AppTest

    main = str(Path(__file__).resolve().parents[1] / "app" / "main.py")
    link = {"model.width": "48", "train.epochs": "3"}

    def texts(at) -> str:
        return plain(" ".join(e.value for e in [*at.info, *at.caption, *at.error])).lower()

    def page() -> AppTest:
        at = AppTest.from_file(main, default_timeout=120)
        for k, v in link.items():
            at.query_params[k] = v
        return at.run()

    at = page()
    assert "press run" in texts(at)
    demo_env(MEMCORE_READONLY=1)
    at = page()
    assert "not been run yet" in texts(at) and "serves stored runs only" in texts(at)
    assert "press run" not in texts(at)
    at.button(key="explore:run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert demo.READONLY_MESSAGE.lower() in texts(at)
    assert "press run" not in texts(at)


def test_visitors_cancel_and_delete_only_their_own_runs(demo_env, be) -> None:
    from app import state
    from memcore.jobs import api

    demo_env(MEMCORE_DEMO=1)
    mine, theirs, operators = (SMALL.replace(**{"train.seed": s}) for s in range(3))
    be(None)
    state.submit(operators)  # no session: the CLI or an operator
    be("bob")
    state.submit(theirs)
    be("alice")
    state.submit(mine)
    for other in (theirs, operators):
        with pytest.raises(ValueError, match=f"^{demo.MANAGE_MESSAGE}$"):
            state.cancel(other.key)
        with pytest.raises(ValueError, match="only the runs of their own session"):
            state.delete(other.key)
    assert state.cancel(mine.key) == "cancelled" and state.delete(mine.key)
    be(None)
    assert state.delete(theirs.key)  # the operator may
    assert [r["key"] for r in api.list_runs()] == [operators.key]
    demo_env(MEMCORE_DEMO=0)
    be("alice")
    assert state.delete(operators.key)  # demo off: a local user manages everything


def test_retrying_someone_elses_run_does_not_adopt_it(demo_env, be) -> None:
    """Bob's run, cancelled by Bob; Alice presses Run on the same spec (a retry): it is
    queued again, but Alice may neither cancel nor delete it. Bob still may."""
    from app import state
    from memcore.jobs import api

    demo_env(MEMCORE_DEMO=1)
    be("bob")
    key = state.submit(SMALL)
    assert state.cancel(key) == "cancelled"
    be("alice")
    assert state.submit(SMALL) == key and api.status(key).status == "queued"
    for manage in (state.cancel, state.delete):
        with pytest.raises(ValueError, match="only the runs of their own session"):
            manage(key)
    be("bob")
    assert state.delete(key)


def test_runs_page_refuses_a_visitor_deleting_someone_elses_run(demo_env) -> None:
    from streamlit.testing.v1 import AppTest

    from memcore.jobs import api

    demo_env(MEMCORE_WORKERS=0, MEMCORE_DEMO=1)
    key = api.submit(SMALL)  # an operator's run
    main = str(Path(__file__).resolve().parents[1] / "app" / "main.py")
    at = AppTest.from_file(main, default_timeout=120).run()
    at.switch_page("../pages/runs.py").run()
    at.selectbox(key="runs:one").set_value(key).run()
    at.button(key="runs:delete").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(demo.MANAGE_MESSAGE in e.value for e in at.error), [e.value for e in at.error]
    assert [r["key"] for r in api.list_runs()] == [key]


def _cancel_is_refused(key: str):
    """Open SMALL's link in Explore as this visitor, press the live panel's Cancel on run `key`:
    refused with the demo's message, the run still queued. Returns the AppTest for more steps."""
    from streamlit.testing.v1 import AppTest

    from app.links import short_params
    from memcore.jobs import api

    main = str(Path(__file__).resolve().parents[1] / "app" / "main.py")
    at = AppTest.from_file(main, default_timeout=120)
    for k, v in short_params(SMALL).items():
        at.query_params[k] = v
    at.run()
    at.button(key=f"cancel:{key}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(demo.MANAGE_MESSAGE in e.value for e in at.error), [e.value for e in at.error]
    assert api.status(key).status == "queued"
    return at


def test_explore_page_refuses_cancelling_a_shared_link_to_someone_elses_run(demo_env) -> None:
    from memcore.jobs import api

    demo_env(MEMCORE_WORKERS=0, MEMCORE_DEMO=1)
    key = api.submit(SMALL)  # queued by someone else (no worker runs it)
    _cancel_is_refused(key)


def test_live_panel_cancel_run_and_delete_cannot_take_another_visitors_run(demo_env) -> None:
    """The attack of issue 13: Alice opens Bob's run by its link, presses the live panel's
    Cancel, then Run (to adopt it), then Delete on the Runs page. Each step is refused."""
    from memcore.jobs import api

    demo_env(MEMCORE_WORKERS=0, MEMCORE_DEMO=1)
    key = demo.submit(SMALL, visitor=Visitor.of("bob"))  # what app.state does for Bob
    at = _cancel_is_refused(key)
    at.button(key="explore:run").click().run()  # Run on the same spec: no adoption
    at.switch_page("../pages/runs.py").run()
    at.selectbox(key="runs:one").set_value(key).run()
    at.button(key="runs:delete").click().run()
    assert any(demo.MANAGE_MESSAGE in e.value for e in at.error), [e.value for e in at.error]
    assert api.status(key).status == "queued"


def test_a_fragment_rerun_knows_the_visitor(demo_env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fragment's own rerun runs in a fresh thread that never ran the page's top; the visitor
    comes from that thread's Streamlit context alone."""
    from types import SimpleNamespace

    from app import state

    demo_env(MEMCORE_DEMO=1)
    local: threading.local = threading.local()
    monkeypatch.setattr(
        state, "get_script_run_ctx", lambda suppress_warning=False: getattr(local, "ctx", None)
    )

    def in_thread(session: str, call, *args):
        out: list = []

        def run() -> None:
            local.ctx = SimpleNamespace(session_id=session)  # what Streamlit attaches
            try:
                out.append(call(*args))
            except Exception as e:  # noqa: BLE001 - returned to the test
                out.append(e)

        t = threading.Thread(target=run)
        t.start()
        t.join()
        return out[0]

    key = in_thread("bob", state.submit, SMALL)
    assert key == SMALL.key
    refused = in_thread("alice", state.cancel, key)
    assert isinstance(refused, ValueError) and demo.MANAGE_MESSAGE in str(refused)
    assert in_thread("bob", state.cancel, key) == "cancelled"


def test_figure_page_run_sweep_is_checked_against_the_caps(demo_env) -> None:
    """The figure page submits through app.state.submit_sweep: an over-cap sweep is refused
    with the cap's message and nothing is queued."""
    from test_pages_figures import page

    from memcore.jobs import api

    demo_env(MEMCORE_DEMO=1)
    at = page("easiness", scale="quick")  # 100 members per run, over the demo's 16
    [button] = [b for b in at.button if b.label.startswith("Run sweep")]
    at = button.click().run()
    assert not at.exception
    assert any("exceeds this demo's cap" in plain(e.value) for e in at.error)
    assert api.list_runs() == []
