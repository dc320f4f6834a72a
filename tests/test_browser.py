"""End to end in a real browser: `streamlit run app/main.py` with a real worker and a tmp store,
driven by headless Chromium through Playwright.

A new user's path: open the app, keep the offline default but shrink it (width 16, 3 epochs),
press Run, watch the accuracy chart reach epoch 3, reload the page and see the finished run
again without any new training. Screenshots and timings go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from memcore.jobs import api, pool
from memcore.presets import preset

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


def _stop(proc: subprocess.Popen, store: Path) -> None:
    """Kill the server's process group, then the workers it started (their own sessions)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    pids = pool.stop_workers(store)
    pids += [w["pid"] for w in pool.workers(store) if w["host"] == socket.gethostname()]
    pids += list(pool.open_store(store).cache.get("spawning", {}))
    deadline = time.time() + 15
    for pid in set(pids):
        while pool._pid_alive(pid) and time.time() < deadline:
            time.sleep(0.2)
        if pool._pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def server(tmp_path):
    if not Path(CHROMIUM).exists() or sync_playwright is None:
        pytest.skip(f"needs {CHROMIUM} and the playwright package")
    store = tmp_path / "store"
    env = dict(os.environ)
    env.update(
        MEMCORE_STORE=str(store),
        MEMCORE_WORKERS="1",
        MEMCORE_OFFLINE="1",
        MEMCORE_DATA=str(tmp_path / "data"),
    )
    port = _free_port()
    log = open(tmp_path / "streamlit.log", "wb")  # noqa: SIM115 - closed below
    started = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield {"url": url, "store": store, "started": started, "log": tmp_path / "streamlit.log"}
    finally:
        _stop(proc, store)
        log.close()


def _fill(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    page.wait_for_function(
        "([l, v]) => [...document.querySelectorAll('input')].some("
        "i => i.getAttribute('aria-label') === l && i.value === v)",
        arg=[label, value],
    )


def _drawn_in(page) -> float:
    """Server-side seconds of the last full script run (the sidebar's 'page drawn in')."""
    drawn = page.get_by_text("page drawn in", exact=False)
    drawn.wait_for(timeout=120_000)
    return float(drawn.inner_text().split("page drawn in")[1].split("s")[0])


def test_run_watch_and_reopen_in_a_real_browser(server):
    ARTIFACTS.mkdir(exist_ok=True)
    timings: dict[str, float] = {"server_healthy_s": time.time() - server["started"]}
    chart = "[data-testid='stVegaLiteChart']"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t = time.time()
            page.goto(server["url"])
            page.get_by_role("heading", name="Explore memorization").wait_for(timeout=120_000)
            timings["first_paint_s"] = time.time() - t
            timings["first_page_server_script_s"] = _drawn_in(page)
            page.get_by_label("Width (hidden units)", exact=True).wait_for(timeout=60_000)
            _fill(page, "Width (hidden units)", "16")
            _fill(page, "Epochs", "3")
            time.sleep(1.0)  # let the rerun after the last edit settle before clicking Run
            t = time.time()
            page.get_by_role("button", name="Run", exact=True).click()
            page.locator(chart).first.wait_for(timeout=180_000)
            timings["run_to_first_curve_point_s"] = time.time() - t
            page.screenshot(path=str(ARTIFACTS / "browser_1_running.png"), full_page=True)
            page.get_by_text("3 / 3", exact=True).wait_for(timeout=300_000)
            timings["run_to_done_s"] = time.time() - t
            assert "model.width=16" in page.url and "train.epochs=3" in page.url
            page.locator(chart).nth(1).wait_for(timeout=30_000)
            time.sleep(1.5)  # charts finish their last draw
            page.screenshot(path=str(ARTIFACTS / "browser_2_done.png"), full_page=True)

            runs = api.list_runs(server["store"])
            assert len(runs) == 1 and runs[0]["status"] == "done"
            key = runs[0]["key"]
            attempts = api.status(key, server["store"]).attempts

            t = time.time()
            page.reload()
            page.get_by_text("3 / 3", exact=True).wait_for(timeout=60_000)
            page.locator(chart).first.wait_for(timeout=60_000)
            timings["reload_finished_run_s"] = time.time() - t
            timings["reload_server_script_s"] = _drawn_in(page)
            time.sleep(1.0)
            page.screenshot(path=str(ARTIFACTS / "browser_3_reopened.png"), full_page=True)
            assert [r["key"] for r in api.list_runs(server["store"])] == [key]
            assert api.status(key, server["store"]).attempts == attempts  # nothing retrained
            assert page.get_by_text("Queued", exact=False).count() == 0

            # a second run on the now warm worker: the usual case after the first run
            second = preset("digits-mlp", **{"model.width": 17, "train.epochs": 3}).key
            _fill(page, "Width (hidden units)", "17")
            time.sleep(1.0)
            t = time.time()
            page.get_by_role("button", name="Run", exact=True).click()
            page.wait_for_function(
                "k => document.body.innerText.includes('run key ' + k) && "
                "!document.body.innerText.includes('Waiting for the first evaluation') && "
                "document.querySelectorAll(\"[data-testid='stVegaLiteChart']\").length > 0",
                arg=second[:12],
                timeout=180_000,
            )
            timings["warm_worker_run_to_first_curve_point_s"] = time.time() - t

            page.get_by_role("link", name="Runs").first.click()
            page.get_by_role("heading", name="Runs").wait_for(timeout=60_000)
            page.get_by_text("Open in Explore", exact=False).wait_for(timeout=60_000)
            page.locator(chart).nth(1).wait_for(timeout=60_000)
            time.sleep(2.0)
            page.screenshot(path=str(ARTIFACTS / "browser_4_runs.png"), full_page=True)
            body = page.inner_text("body")
            assert "Traceback" not in body and "Error" not in body.split("Runs", 1)[-1][:200]
            for label, needle in (("Records (CSV)", b"val_acc"), ("Chart (PNG)", b"\x89PNG")):
                with page.expect_download(timeout=90_000) as download:
                    page.get_by_role("button", name=label).click()
                    print(f"clicked {label}", flush=True)
                data = Path(download.value.path()).read_bytes()
                assert needle in data[:4000], (label, data[:100])
            page.get_by_text("Open in Explore", exact=False).click()  # a link with the spec
            page.get_by_role("heading", name="Explore memorization").wait_for(timeout=60_000)
            page.get_by_text("3 / 3", exact=True).wait_for(timeout=60_000)
            assert "model.width=1" in page.url
        finally:
            browser.close()
    (ARTIFACTS / "browser_timings.json").write_text(json.dumps(timings, indent=2))
    print(json.dumps(timings, indent=2))


def test_generated_figure_pages_open_by_url_nav_and_report_links(server):
    """The paper-experiment pages are generated from the recipe list; each keeps the URL its old
    page file had (/fig_<name>), appears under "Paper experiments" and is linked by the report.
    The capacity sweep is stored first (fake records, before the app starts its worker)."""
    from test_pages_figures import seed

    from memcore.experiments import get

    seed(pool.open_store(server["store"]), "capacity")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server['url']}/fig_capacity?scale=test")
            page.get_by_role("heading", name=get("capacity").title).wait_for(timeout=120_000)
            page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=60_000)
            page.get_by_text("9/9 runs done", exact=False).wait_for(timeout=60_000)
            nav = page.get_by_test_id("stSidebarNav")
            assert nav.get_by_text("Paper experiments").count() == 1
            for title in ("Capacity", "Class sensitivity", "Noise levels", "Reproduction report"):
                assert nav.get_by_role("link", name=title, exact=True).count() == 1, title
            time.sleep(1.5)  # the chart finishes its draw
            page.screenshot(path=str(ARTIFACTS / "browser_5_figure_page.png"), full_page=True)

            nav.get_by_role("link", name="Noise levels", exact=True).click()
            page.get_by_role("heading", name=get("noise-levels").title).wait_for(timeout=60_000)
            assert "/fig_noise_levels" in page.url

            page.goto(f"{server['url']}/report?scale=test")
            page.get_by_role("heading", name="Reproduction report").wait_for(timeout=120_000)
            link = page.get_by_role("link", name=f"{get('sharpness').title}: inconclusive")
            link.click()
            page.get_by_role("heading", name=get("sharpness").title).wait_for(timeout=60_000)
            assert "/fig_sharpness" in page.url
            assert "Traceback" not in page.inner_text("body")
        finally:
            browser.close()


def _seed_noise_levels(store: Path) -> list[str]:
    """Three real (engine) digits runs at randY 0, 0.2 and 0.5, stored before the app starts
    its worker (the Worker runs them in this process)."""
    from memcore.jobs import lease
    from memcore.jobs.worker import Worker, default_runner

    s = pool.open_store(store)
    keys = []
    for level in (0.0, 0.2, 0.5):
        noisy = {"noise.kind": "randY", "noise.level": level} if level else {}
        spec = preset(
            "digits-mlp",
            **{"model.width": 64, "train.epochs": 15, "train.members": 4, "train.device": "cpu",
               "metrics.csr_every": 15, "metrics.csr_iters": 20, "metrics.track_size": 400},
            **noisy,
        )  # fmt: skip
        keys.append(api.submit(spec, s))
        w = Worker(s, runner=default_runner)
        claim = lease.claim(s, w.id)
        assert claim is not None and claim.key == keys[-1]
        w.run_job(claim)
        assert api.status(keys[-1], s).status == "done"
    return keys


def test_runs_overlay_by_noise_level_and_the_examples_view(server):
    """The Runs page overlays three runs coloured by noise level; the Examples page draws a
    noisy run's easiest, hardest and most-forgotten digits and its critical samples."""
    keys = _seed_noise_levels(server["store"])
    ARTIFACTS.mkdir(exist_ok=True)
    chart = "[data-testid='stVegaLiteChart']"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            # tall: Streamlit scrolls inside the page, so a screenshot shows the viewport only
            page = browser.new_page(viewport={"width": 1400, "height": 1900})
            page.goto(f"{server['url']}/runs")
            page.get_by_role("heading", name="Runs").wait_for(timeout=120_000)
            page.locator(chart).first.wait_for(timeout=60_000)
            page.get_by_label("Colour by", exact=False).first.click()
            page.get_by_role("option", name="noise level", exact=True).click()
            page.get_by_text("Validation accuracy by noise level").wait_for(timeout=60_000)
            time.sleep(2.0)  # the chart finishes its draw
            page.screenshot(
                path=str(ARTIFACTS / "browser_6_runs_by_noise_level.png"), full_page=True
            )
            body = page.inner_text("body")
            assert "Traceback" not in body and "Not drawn" not in body

            page.goto(f"{server['url']}/examples?run={keys[2]}")
            page.get_by_role("heading", name="Examples").wait_for(timeout=120_000)
            page.get_by_role("heading", name="Critical samples").wait_for(timeout=60_000)
            page.locator(chart).nth(3).wait_for(timeout=60_000)
            time.sleep(2.0)
            page.screenshot(path=str(ARTIFACTS / "browser_7_examples.png"), full_page=True)
            body = page.inner_text("body")
            assert "Traceback" not in body and "cannot be drawn" not in body
            assert page.locator(chart).count() == 4  # easiest, hardest, forgotten, critical
        finally:
            browser.close()
