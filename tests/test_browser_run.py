"""End to end in a real browser: `streamlit run app/main.py` with a real worker and a tmp store,
driven by headless Chromium through Playwright (tests/browser_helpers.py).

A new user's path: open a shared link to a configuration nobody has run (the offline default
shrunk to width 16, 3 epochs), press Run, watch the curves reach epoch 3, reload the page and
open the link in a second page: the finished run again without any new training; then the
default run on the warm worker; the Runs page lists, exports and links back. Screenshots and
timings go to test-artifacts/ (git-ignored); the timings are printed (a benchmark: the README
quotes them), never asserted.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from browser_helpers import (
    ARGS,
    ARTIFACTS,
    CHARTS_JS,
    CHROMIUM,
    WATCH_JS,
    _drawn_in,
    _load,
    _store_timings,
    _wait_drawn,
    sync_playwright,
)

from app.links import short_params
from memcore.jobs import api, pool
from memcore.spec.presets import preset

pytestmark = pytest.mark.browser


def test_run_watch_and_reopen_in_a_real_browser(server):
    """A link to a configuration nobody has run: 'not run yet', Run, curves; reload and a fresh
    browser open the finished run; the default run on a warm worker. Prints the timings (a
    benchmark, not an assertion: they depend on the machine's load)."""
    ARTIFACTS.mkdir(exist_ok=True)
    timings: dict[str, float | str] = {"server_healthy_s": time.time() - server["started"]}
    chart = "[data-testid='stVegaLiteChart']"
    spec = preset("digits-mlp", **{"model.width": 16, "train.epochs": 3})
    link = server["url"] + "/?" + urlencode(short_params(spec))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t = time.time()
            page.goto(link)
            page.get_by_role("heading", name="Explore memorization").wait_for(timeout=120_000)
            timings["first_paint_s"] = time.time() - t
            page.get_by_text("not been run yet", exact=False).wait_for(timeout=120_000)
            timings["first_page_server_script_s"] = _drawn_in(page)
            width = page.get_by_label("Width (hidden units)", exact=True)
            assert width.input_value() == "16"  # the link filled the form
            for label in ("Dataset", "Noise", "Width (hidden units)", "Depth (hidden layers)"):
                box = page.get_by_label(label, exact=True).bounding_box()
                assert box and box["y"] + box["height"] < 1000, f"{label} below the fold"
            page.screenshot(path=str(ARTIFACTS / "browser_0_explore.png"))  # what a visitor sees
            t = time.time()
            page.get_by_role("button", name="Run", exact=True).click()
            page.locator(chart).first.wait_for(timeout=180_000)
            _wait_drawn(page, 1)
            timings["run_to_first_curve_point_s"] = time.time() - t
            timings.update(_store_timings(server["store"], spec.key, "first_run"))
            page.evaluate(WATCH_JS)
            page.screenshot(path=str(ARTIFACTS / "browser_1_running.png"), full_page=True)
            page.get_by_text("3 / 3", exact=True).wait_for(timeout=300_000)
            timings["run_to_done_s"] = time.time() - t
            assert "model.width=16" in page.url and "train.epochs=3" in page.url
            _wait_drawn(page, 2, 30_000)
            timings["placeholder_samples_during_run"] = page.evaluate("window.__flash")
            time.sleep(1.0)  # let the last rerun settle before the screenshot
            page.screenshot(path=str(ARTIFACTS / "browser_2_done.png"), full_page=True)
            n_charts = page.evaluate(CHARTS_JS)["drawn"]

            runs = api.list_runs(server["store"])
            assert len(runs) == 1 and runs[0]["status"] == "done"
            key = runs[0]["key"]
            attempts = api.status(key, server["store"]).attempts

            t = time.time()
            page.reload()
            page.get_by_text("3 / 3", exact=True).wait_for(timeout=60_000)
            _wait_drawn(page, n_charts, 60_000)
            timings["reload_stored_run_drawn_s"] = time.time() - t
            timings["reload_server_script_s"] = _drawn_in(page)
            time.sleep(1.0)
            page.screenshot(path=str(ARTIFACTS / "browser_3_reopened.png"), full_page=True)
            assert [r["key"] for r in api.list_runs(server["store"])] == [key]
            assert api.status(key, server["store"]).attempts == attempts  # nothing retrained
            assert page.get_by_text("Queued", exact=False).count() == 0

            other = browser.new_page(viewport={"width": 1400, "height": 1000})  # a colleague
            t = time.time()
            other.goto(link)
            other.get_by_text("3 / 3", exact=True).wait_for(timeout=60_000)
            _wait_drawn(other, n_charts, 60_000)
            timings["shared_link_stored_run_drawn_s"] = time.time() - t
            other.close()

            # the loss-sensitivity views of the same spec, one click away on Explore
            page.get_by_role("tab", name="Loss-sensitivity", exact=False).click()
            t = time.time()
            page.get_by_role("button", name="Run loss-sensitivity (2 runs)").click()
            page.wait_for_function(  # both runs' lines: "real · ... done", "randX 1 · ... done"
                "() => [...document.querySelectorAll('p')].filter(e => e.offsetParent !== null && "
                "/^(real|randX 1) · .*done/.test(e.innerText)).length === 2",
                timeout=300_000,
            )
            _wait_drawn(page, 3, 300_000)  # the Gini curves and a class heatmap per run
            timings["sensitivity_run_to_drawn_s"] = time.time() - t
            time.sleep(1.0)
            page.screenshot(path=str(ARTIFACTS / "browser_3b_sensitivity.png"))
            page.get_by_role("tab", name="Training run").click()

            # the default run on the now warm worker (the usual case after the first run)
            default = preset("digits-mlp-k4").key
            page.get_by_role("combobox", name="Preset").click()
            page.get_by_role("option", name="digits-mlp-k4", exact=True).click()
            page.wait_for_function(
                "() => [...document.querySelectorAll('input')].some(i => i.getAttribute("
                "'aria-label') === 'Width (hidden units)' && i.value === '256')"
            )
            time.sleep(1.0)
            t = time.time()
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text(re.compile(r"^\d+ / 30$")).wait_for(timeout=180_000)  # its epochs
            _wait_drawn(page, 1, 180_000)
            timings["default_run_warm_worker_to_first_curve_point_s"] = time.time() - t
            page.evaluate(WATCH_JS)
            page.get_by_text("30 / 30", exact=True).wait_for(timeout=300_000)
            timings["default_run_warm_worker_to_done_s"] = time.time() - t
            _wait_drawn(page, 2, 120_000)  # a slack for loaded machines; timings are kept apart
            timings["default_run_placeholder_samples"] = page.evaluate("window.__flash")
            timings.update(_store_timings(server["store"], default, "default_run"))
        finally:
            browser.close()
            timings["load"] = _load()
            (ARTIFACTS / "browser_timings.json").write_text(json.dumps(timings, indent=2))
            print(json.dumps(timings, indent=2))


def test_runs_page_lists_exports_and_links_back(server):
    """The Runs page of a stored run: listed, overlaid, exported, linked back to Explore."""
    from app_helpers import fake_records

    from memcore.jobs.worker import Worker

    spec = preset("digits-mlp", **{"model.width": 16, "train.epochs": 3})
    store = pool.open_store(server["store"])
    api.submit(spec, store)
    # serve() leaves no heartbeat behind (a bare run_job would, and stopping the server's
    # workers would then signal this test process)
    runner = lambda s, resume=None, should_stop=None: fake_records(s)  # noqa: E731
    Worker(store, runner=runner).serve(idle_exit=0.2)
    assert api.status(spec.key, store).status == "done"
    chart = "[data-testid='stVegaLiteChart']"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server['url']}/runs")
            page.get_by_role("heading", name="Runs").wait_for(timeout=120_000)
            page.get_by_text("Open in Explore", exact=False).wait_for(timeout=60_000)
            page.locator(chart).first.wait_for(timeout=60_000)
            time.sleep(2.0)
            page.screenshot(path=str(ARTIFACTS / "browser_4_runs.png"), full_page=True)
            body = page.inner_text("body")
            assert "Traceback" not in body
            for label, needle in (
                ("Records with configuration (CSV)", b"config.model.width"),
                ("Chart (PNG)", b"\x89PNG"),
            ):
                with page.expect_download(timeout=90_000) as download:
                    page.get_by_role("button", name=label).click()
                data = Path(download.value.path()).read_bytes()
                assert needle in data[:4000], (label, data[:100])
            page.get_by_text("Open in Explore", exact=False).click()  # a link with the spec
            page.get_by_role("heading", name="Explore memorization").wait_for(timeout=60_000)
            page.get_by_text("3 / 3", exact=True).wait_for(timeout=60_000)
            assert "model.width=16" in page.url
        finally:
            browser.close()
