"""Visitors of a demo: who a visitor is (a browser session, an address read behind trusted proxies
only, also in a fragment's own thread), the queue quotas per visitor and in total (they survive
a reload), and ownership: a visitor may cancel or delete only their own runs, through app.state,
the Runs page or Explore's live panel, and retrying another's run does not adopt it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from demo_helpers import SMALL

from memcore import demo
from memcore.demo.visitors import NO_ADDRESS, Visitor


@pytest.fixture
def be(monkeypatch: pytest.MonkeyPatch):
    """be("alice") makes app.state see visitor alice (session alice, address `address` if
    given) as Streamlit's context would; be(None): an operator (no Streamlit session)."""
    from app import state

    def become(session: str | None, address: str | None = None) -> None:
        who = None if session is None else Visitor.of(session, address)
        monkeypatch.setattr(state, "visitor", lambda: who)

    return become


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
