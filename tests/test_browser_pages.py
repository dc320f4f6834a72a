"""In a real browser (tests/browser_helpers.py): the generated figure pages by URL, navigation
and report links; the Runs overlay by noise level and the Examples view; zoom, legend, a shared
comparison and a 1024 px window (nothing runs past it). Screenshots go to test-artifacts/.
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
    CHROMIUM,
    _drawn_in,
    _load,
    _wait_drawn,
    sync_playwright,
)

from app.links import short_params
from memcore.jobs import api, pool
from memcore.spec.presets import preset

pytestmark = pytest.mark.browser


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
