"""End to end in a real browser: `streamlit run app/main.py` with a real worker and a tmp store,
driven by headless Chromium through Playwright.

A new user's path: open a shared link to a configuration nobody has run (the offline default
shrunk to width 16, 3 epochs), press Run, watch the curves reach epoch 3, reload the page and
open the link in a second page: the finished run again without any new training; then the
default run on the warm worker. Screenshots and timings go to test-artifacts/ (git-ignored);
the timings are printed (a benchmark: the README quotes them), never asserted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from app.links import short_params
from memcore.jobs import api, pool
from memcore.spec.presets import preset

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
    # A Worker run in this process (to store runs before the app starts) leaves a worker record
    # with pytest's own pid: never wait for, or kill, ourselves.
    for pid in set(pids) - {os.getpid()}:
        while pool.pid_alive(pid) and time.time() < deadline:
            time.sleep(0.2)
        if pool.pid_alive(pid):
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


# Visible Vega-Lite charts that have drawn their marks (a sized canvas or svg), and the visible
# ones that have not (a placeholder). Charts in a hidden tab do not count.
CHARTS_JS = """() => {
  const all = [...document.querySelectorAll("[data-testid='stVegaLiteChart']")]
    .filter(e => e.offsetParent !== null);
  const drawn = all.filter(e => {
    const g = e.querySelector('canvas, svg.marks');
    return g && g.getBoundingClientRect().width > 0 && g.getBoundingClientRect().height > 0;
  });
  return {shown: all.length, drawn: drawn.length};
}"""
# Counts, every 50 ms, the times a chart was on screen but not drawn after the first one was.
WATCH_JS = f"""() => {{
  window.__flash = 0;
  window.__seenDrawn = false;
  window.__watch = setInterval(() => {{
    const c = ({CHARTS_JS})();
    if (c.drawn > 0) window.__seenDrawn = true;
    if (window.__seenDrawn && c.shown > c.drawn) window.__flash += 1;
  }}, 50);
}}"""


def _wait_drawn(page, n: int, timeout_ms: int = 120_000) -> None:
    """Until at least `n` charts are on screen and every one of them is drawn."""
    page.wait_for_function(
        f"n => {{ const c = ({CHARTS_JS})(); return c.shown >= n && c.drawn === c.shown; }}",
        arg=n,
        timeout=timeout_ms,
    )


def _store_timings(store: Path, key: str, name: str) -> dict[str, float]:
    """Seconds from a run's submit to a worker's claim (a starting worker shows here)."""
    js = api.status(key, store)
    return {f"{name}_submit_to_claim_s": js.started - js.submitted}


def _load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


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
    from test_app_pages import fake_records

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


def test_generated_figure_pages_open_by_url_nav_and_report_links(server):
    """The paper-figure pages are generated from the figure list; each keeps the URL its old
    page file had (/fig_<name>), appears under "Paper figures" and is linked by the report.
    The capacity sweep is stored first (fake records, before the app starts its worker)."""
    from test_pages_figures import seed

    from memcore.figures import get

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
            nav = page.get_by_test_id("stTopNav")  # a top bar: the sidebar is left to the form
            for title in ("Explore", "Runs", "About"):
                assert nav.get_by_text(title, exact=True).count() == 1, title
            nav.get_by_text("Paper figures", exact=True).click()
            menu = page.get_by_test_id("stTopNavDropdownLink")
            for title in ("Capacity", "Class sensitivity", "Noise levels", "Reproduction report"):
                assert menu.get_by_text(title, exact=True).count() == 1, title
            page.keyboard.press("Escape")
            time.sleep(1.5)  # the chart finishes its draw
            page.screenshot(path=str(ARTIFACTS / "browser_5_figure_page.png"), full_page=True)

            nav.get_by_text("Paper figures", exact=True).click()
            menu.get_by_text("Noise levels", exact=True).click()
            page.get_by_role("heading", name=get("noise-levels").title).wait_for(timeout=60_000)
            assert "/fig_noise_levels" in page.url

            page.goto(f"{server['url']}/report?scale=test")
            page.get_by_role("heading", name="Reproduction report").wait_for(timeout=120_000)
            link = page.get_by_role("link", name=f"{get('sharpness').title}: not run")
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
        w.beat(gone=True)  # this process is no worker of the app's: drop its record
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


# -- interactive charts, a shared comparison, a 1024 px window ([Q] #23) ----------------------
WIDE_JS = """() => {
  const w = document.documentElement.clientWidth;
  const main = document.querySelector("[data-testid='stMain']");
  const bad = [...main.querySelectorAll(
      "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg.marks, "
      + "[data-testid='stDataFrame'], [data-testid='stHorizontalBlock'], "
      + "[data-testid='stMarkdownContainer'], [data-testid='stCaptionContainer']")]
    .filter(e => e.offsetParent !== null && e.getBoundingClientRect().right > w + 1)
    .map(e => `${e.dataset.testid || e.tagName} ${Math.round(e.getBoundingClientRect().right)}`);
  return {width: w, bad};
}"""


def _pixels(png: bytes, rgb: tuple[int, int, int], box=None, tol: int = 40) -> list[tuple]:
    """(x, y) of the pixels within `tol` of colour `rgb` in a PNG (or in box x0, y0, x1, y1)."""
    import io

    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    x0, y0, x1, y1 = box or (0, 0, a.shape[1], a.shape[0])
    sub = a[y0:y1, x0:x1]
    ys, xs = np.nonzero(np.abs(sub - np.array(rgb)).sum(axis=2) < tol)
    return list(zip((xs + x0).tolist(), (ys + y0).tolist(), strict=True))


def test_zoom_legend_a_shared_comparison_and_a_1024_px_window(server):
    """The Runs overlay zooms (wheel), resets (double-click) and hides a series from its legend;
    a comparison link restores the comparison; at 1024 px no chart, table or text runs past the
    window on Explore, Runs, a figure page and About, and no empty sidebar stays behind. Prints
    the first-visit timings of a fresh server (a benchmark: README)."""
    from test_app_pages import fake_records

    from memcore.jobs.worker import Worker

    store = pool.open_store(server["store"])
    keys = []
    for level in (0.0, 0.5):
        noisy = {"noise.kind": "randY", "noise.level": level} if level else {}
        spec = preset("digits-mlp", **{"model.width": 16, "train.epochs": 6, **noisy})
        keys.append(api.submit(spec, store))

    def runner(s, resume=None, should_stop=None):  # two curves apart: val_acc lower with noise
        for r in fake_records(s):
            if r["type"] == "epoch":
                r = {**r, "val_acc": r["val_acc"] * (1 - s.noise.level)}
            yield r

    Worker(store, runner=runner).serve(idle_exit=0.2)
    ARTIFACTS.mkdir(exist_ok=True)
    chart = "[data-testid='stVegaLiteChart']"
    timings: dict[str, float | str] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 900})
            # first visit of a fresh server, to a stored run: content, then its charts
            t = time.time()
            page.goto(server["url"] + "/?" + urlencode(short_params(spec)))
            page.get_by_text(
                re.compile("Starting the explorer|Explore memorization")
            ).first.wait_for(timeout=120_000)
            timings["first_visit_note_or_content_s"] = time.time() - t
            page.get_by_role("heading", name="Explore memorization").wait_for(timeout=120_000)
            timings["first_visit_content_s"] = time.time() - t
            _wait_drawn(page, 2, 120_000)
            timings["first_visit_stored_run_charts_s"] = time.time() - t
            layout = page.evaluate(WIDE_JS)
            assert layout["bad"] == [], ("explore", layout)
            page.screenshot(path=str(ARTIFACTS / "browser_8_explore_1024.png"), full_page=True)

            link = {"runs": ",".join(k[:12] for k in keys), "metric": "validation accuracy",
                    "color": "run", "smooth": "none", "x": "epoch", "facet": "none"}  # fmt: skip
            page.get_by_test_id("stTopNav").get_by_text("Runs", exact=True).click()
            page.get_by_role("heading", name="Runs").wait_for(timeout=60_000)
            _drawn_in(page)  # the script has ended: stale elements are gone
            page.wait_for_function(
                "() => ![...document.querySelectorAll('[data-testid=stStatusWidget]')].length"
            )
            time.sleep(1.0)
            page.screenshot(path=str(ARTIFACTS / "browser_8b_runs_after_explore.png"))
            side = page.locator("[data-testid='stSidebar']")
            box = side.bounding_box() if side.count() else None
            assert box is None or box["x"] + box["width"] <= 1, f"an empty sidebar stayed: {box}"
            t = time.time()
            page.goto(f"{server['url']}/runs?{urlencode(link)}")
            page.get_by_text("Validation accuracy by run").wait_for(timeout=60_000)
            _wait_drawn(page, 1, 60_000)
            timings["shared_comparison_drawn_s"] = time.time() - t
            for k in keys:
                assert f"runs={link['runs'].replace(',', '%2C')}" in page.url or k[:12] in page.url
            layout = page.evaluate(WIDE_JS)
            assert layout["bad"] == [], ("runs", layout)
            overlay = page.locator(chart).first
            overlay.scroll_into_view_if_needed()
            page.mouse.move(0, 0)
            time.sleep(1.0)
            before = overlay.screenshot()
            box = overlay.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.3)
            page.mouse.wheel(0, -600)  # zoom in
            time.sleep(0.5)
            page.mouse.move(0, 0)
            time.sleep(0.5)
            zoomed = overlay.screenshot()
            assert zoomed != before, "the wheel did not zoom"
            page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.3)
            page.mouse.move(0, 0)
            time.sleep(0.8)
            reset = overlay.screenshot(path=str(ARTIFACTS / "browser_9a_overlay_reset.png"))
            # legend toggle: click the second run's legend entry (tableau10 orange, under the plot)
            orange, blue = (245, 133, 24), (76, 120, 168)
            h = int(box["height"])
            plot = (0, 0, int(box["width"]), int(h * 0.7))
            entry = _pixels(reset, orange, (0, int(h * 0.7), int(box["width"]), h))
            assert entry, "no orange legend symbol found"
            shown_blue = len(_pixels(reset, blue, plot))
            ex, ey = entry[len(entry) // 2]
            page.mouse.click(box["x"] + ex, box["y"] + ey)
            page.mouse.move(0, 0)
            time.sleep(0.8)
            toggled = overlay.screenshot(path=str(ARTIFACTS / "browser_9b_overlay_toggled.png"))
            assert len(_pixels(toggled, blue, plot)) < shown_blue / 4, "the other run stayed"
            page.screenshot(path=str(ARTIFACTS / "browser_9_runs_1024.png"), full_page=True)
            timings["zoom_changed_pixels"] = "yes"

            for url, heading in (("/fig_critical?scale=test", "Critical sample ratio"),
                                 ("/about", "About the memorization explorer")):  # fmt: skip
                page.goto(server["url"] + url)
                page.get_by_role("heading", name=heading, exact=False).first.wait_for(
                    timeout=60_000
                )
                time.sleep(1.5)
                layout = page.evaluate(WIDE_JS)
                assert layout["bad"] == [], (url, layout)
            page.screenshot(path=str(ARTIFACTS / "browser_10_about_1024.png"), full_page=True)
            assert "Traceback" not in page.inner_text("body")
        finally:
            browser.close()
            timings["load"] = _load()
            (ARTIFACTS / "browser_timings_1024.json").write_text(json.dumps(timings, indent=2))
            print(json.dumps(timings, indent=2))
