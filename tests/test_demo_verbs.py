"""The demo's caps as the attacker meets them (issue 25): adversarial training's LASS searches
count against the cost caps and the LASS cap, the queue caps hold against concurrent submitters
(threads of one server and separate processes), and a visitor without a known address cannot
reset the quota by reloading."""

from __future__ import annotations

import contextlib
import multiprocessing
import threading

import pytest

from memcore import demo
from memcore.demo import visitors
from memcore.demo.visitors import NO_ADDRESS, Ledger, Visitor
from memcore.engine import cost
from memcore.jobs import api
from memcore.spec.presets import preset

SMALL = preset("digits-mlp", **{"model.width": 16, "train.epochs": 2})

# The probe's link (issue 25 item 1): queued, estimated "about 3 min", about two weeks of work.
ADVERSARIAL_LINK = {
    "train.regularizer": "adversarial",
    "metrics.csr_iters": 10000,
    "metrics.csr_min_new": 0,
    "metrics.csr_every": 0,
    "model.width": 512,
    "model.depth": 4,
    "train.members": 16,
    "train.epochs": 50,
}


@pytest.fixture
def demo_env(memcore_env, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(visitors, "LEDGER", Ledger())
    for var in ("MEMCORE_DEMO", "MEMCORE_READONLY", *demo.CAPS.values()):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MEMCORE_WORKERS", "0")
    return lambda **kv: [monkeypatch.setenv(k, str(v)) for k, v in kv.items()]


def only(**caps: object) -> dict[str, str]:
    out = {"MEMCORE_DEMO": "1"} | {var: "0" for var in demo.CAPS.values()}
    return out | {demo.CAPS[name]: str(v) for name, v in caps.items()}


# -- item 1: the cost of adversarial training ---------------------------------------------------
def test_the_adversarial_link_is_refused_by_the_lass_cap_and_by_the_cost_cap_alone() -> None:
    spec = preset("digits-mlp").replace(**ADVERSARIAL_LINK)
    with pytest.raises(ValueError, match=r"metrics\.csr_iters=10000 exceeds .*MAX_CSR_ITERS"):
        demo.check(spec, demo.limits({"MEMCORE_DEMO": "1"}), device="cpu")
    est = cost.estimate(spec, "cpu", threads=1)
    assert est.seconds > 86400  # days of one worker, as the probe measured (not "3 min")
    with pytest.raises(ValueError, match=r"estimated time=\d+ s exceeds .*MAX_SECONDS"):
        demo.check(spec, demo.limits(only(max_seconds=600)), device="cpu")
    # within every field cap (100 LASS iterations), the cost cap still refuses it
    capped = spec.replace(**{"metrics.csr_iters": 100})
    with pytest.raises(ValueError, match=r"estimated time=.*adversarial"):
        demo.check(capped, demo.limits({"MEMCORE_DEMO": "1"}), device="cpu")


def test_the_estimate_counts_a_lass_search_on_every_minibatch() -> None:
    base = preset(
        "digits-mlp",
        **{"model.width": 64, "train.epochs": 2, "train.members": 2, "metrics.csr_every": 0},
    )
    adv = base.replace(**{"train.regularizer": "adversarial", "metrics.csr_min_new": 0})
    plain = cost.estimate(base, "cpu", threads=1)
    steps, b, m = cost.sgd_steps(base), 64, cost.model_shape(base).macs
    for iters in (10, 100, 1000):
        est = cost.estimate(adv.replace(**{"metrics.csr_iters": iters}), "cpu", threads=1)
        lass = 4 * iters * m * 2 * b * steps  # input gradients of K x B points, every iteration
        assert est.flops - plain.flops >= lass
        assert est.seconds - plain.seconds >= steps * iters * cost.OVERHEAD_S["cpu"]


def test_each_cap_applies_to_the_fields_a_run_uses() -> None:
    """The LASS cap binds adversarial training without CSR; the probe cap binds only CSR (the
    adversarial search has no probes); the MLP's width cap leaves a CNN alone."""
    lim = demo.limits(only(max_csr_iters=50, max_csr_probes=10, max_width=16))
    adv = SMALL.replace(**{"train.regularizer": "adversarial", "metrics.csr_every": 0})
    with pytest.raises(ValueError, match=r"csr_iters=100 exceeds .*cap of 50"):
        demo.check(adv, lim, device="cpu")
    lim = demo.limits(only(max_csr_probes=10, max_width=16, max_csr_iters=100))
    demo.check(adv.replace(**{"metrics.csr_probes": 1000}), lim, device="cpu")
    with pytest.raises(ValueError, match=r"csr_probes=1000 exceeds"):
        demo.check(SMALL.replace(**{"metrics.csr_every": 1, "metrics.csr_probes": 1000}), lim)
    cnn = adv.replace(**{"model.arch": "cnn", "model.width_mult": 0.05, "model.width": 512})
    demo.check(cnn, lim, device="cpu")


def test_the_caps_are_one_table() -> None:
    assert list(demo.CAPS) == [row.name for row in demo.ROWS]
    assert all(demo.CAPS[row.name] == row.var for row in demo.ROWS)
    fields = [r for r in demo.ROWS if r.kind == "field"]
    assert all(r.reads is not None for r in fields)
    assert {r.kind for r in demo.ROWS} == {"field", "cost", "queue"}


# -- item 2: the queue caps are checked and acted on in one step --------------------------------
def _race(n: int, call) -> list[object]:
    """Call `call(i)` for i < n from n threads released together; their results or errors."""
    gate = threading.Barrier(n)
    out: list[object] = [None] * n

    def go(i: int) -> None:
        gate.wait()
        try:
            out[i] = call(i)
        except Exception as e:  # noqa: BLE001 - returned to the test
            out[i] = e

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _active() -> int:
    return sum(r["status"] in ("queued", "running") for r in api.list_runs())


def test_ten_sessions_of_one_visitor_at_once_queue_at_most_the_per_visitor_cap(demo_env):
    demo_env(MEMCORE_DEMO=1, MEMCORE_DEMO_MAX_QUEUED_PER_SESSION=2)
    specs = [SMALL.replace(**{"train.seed": s}) for s in range(10)]
    out = _race(10, lambda i: demo.submit(specs[i], visitor=Visitor.of(f"tab{i}", "198.51.100.7")))
    refused = [e for e in out if isinstance(e, ValueError)]
    assert _active() == 2 and len(refused) == 8
    assert all("MAX_QUEUED_PER_SESSION" in str(e) for e in refused)


def test_eight_tabs_at_once_queue_at_most_the_global_cap(demo_env):
    demo_env(MEMCORE_DEMO=1, MEMCORE_DEMO_MAX_QUEUED=3)
    specs = [SMALL.replace(**{"train.seed": s}) for s in range(8)]
    out = _race(8, lambda i: demo.submit(specs[i], visitor=Visitor.of(f"s{i}", f"192.0.2.{i}")))
    assert _active() == 3
    assert sum(isinstance(e, ValueError) and "DEMO_MAX_QUEUED)" in str(e) for e in out) == 5


def test_eight_sweeps_at_once_stay_under_the_global_cap(demo_env):
    demo_env(MEMCORE_DEMO=1, MEMCORE_DEMO_MAX_QUEUED=5)
    grids = [[SMALL.replace(**{"train.seed": 10 * i + j}) for j in range(2)] for i in range(8)]
    _race(8, lambda i: demo.submit_sweep(grids[i], visitor=Visitor.of(f"s{i}", f"192.0.2.{i}")))
    assert _active() == 4  # two whole sweeps; a third would make 6


def _submit_in_process(store: str, seed: int, gate) -> None:
    gate.wait()
    with contextlib.suppress(ValueError):  # over the cap: refused
        demo.submit(SMALL.replace(**{"train.seed": seed}), store)


def test_submitters_in_separate_processes_stay_under_the_global_cap(demo_env, memcore_env):
    demo_env(MEMCORE_DEMO=1, MEMCORE_DEMO_MAX_QUEUED=3)
    api.list_runs()  # create the store before the processes race to open it
    ctx = multiprocessing.get_context("fork")
    gate = ctx.Barrier(6)
    store = str(memcore_env["store"])
    procs = [ctx.Process(target=_submit_in_process, args=(store, i, gate)) for i in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 6
    assert _active() == 3


def test_cancel_and_delete_check_ownership_of_the_run_as_it_is_now(demo_env):
    """Alice's run is deleted (by her) and submitted again by Bob: it is Bob's now; Alice's old
    ownership does not reach the new incarnation."""
    demo_env(MEMCORE_DEMO=1)
    alice, bob = Visitor.of("alice", "192.0.2.1"), Visitor.of("bob", "192.0.2.2")
    key = demo.submit(SMALL, visitor=alice)
    assert demo.delete(key, visitor=alice)
    assert demo.submit(SMALL, visitor=bob) == key
    with pytest.raises(ValueError, match=demo.MANAGE_MESSAGE):
        demo.cancel(key, visitor=alice)
    assert api.status(key).status == "queued"
    assert demo.cancel(key, visitor=bob) == "cancelled"


# -- item 4: no address, one quota ----------------------------------------------------------
def test_reloads_without_a_known_address_share_one_quota(demo_env):
    """Served locally or behind a proxy on the same host, Streamlit gives no address: every
    reload (a new session) still counts against the same quota, and the message says how to
    count visitors apart."""
    demo_env(MEMCORE_DEMO=1, MEMCORE_DEMO_MAX_QUEUED_PER_SESSION=2)
    specs = [SMALL.replace(**{"train.seed": s}) for s in range(3)]
    demo.submit(specs[0], visitor=Visitor.of("tab1", None))
    demo.submit(specs[1], visitor=Visitor.of("tab2", None))  # a reload
    with pytest.raises(ValueError, match=r"PER_SESSION.*share one quota.*MEMCORE_DEMO_PROXIES"):
        demo.submit(specs[2], visitor=Visitor.of("tab3", None))
    assert Visitor.of("tab3", None).client == NO_ADDRESS
    assert _active() == 2
