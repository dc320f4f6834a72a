"""Demo caps enforced by the layers that submit, never by memcore.jobs (which queues what it is
given): the CLI, app.state and the app's pages (a link's validation, Explore's Run, a figure
page's sweep) refuse over-cap or read-only work with the cap's message and queue nothing, while
runs already stored are still served; outside the demo, an unknown device is refused at Run and
the form shows its cost estimate before Run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from demo_helpers import SMALL
from test_errors import plain

from memcore import demo
from memcore.spec.presets import preset


def test_the_cli_refuses_over_cap_metrics_in_demo_mode(demo_env, capsys) -> None:
    from memcore.cli import main
    from memcore.jobs import api

    demo_env(MEMCORE_DEMO=1)
    assert main(["submit", "--metrics-csr-iters", "10000"]) == 2  # the command
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
