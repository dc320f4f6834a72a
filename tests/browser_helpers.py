"""Shared by the browser tests (test_browser_*.py): `streamlit run app/main.py` with a real
worker and a tmp store (the `server` fixture), headless Chromium through Playwright, and the
waits and pixel checks the tests use. Screenshots and timings go to test-artifacts/."""

from __future__ import annotations

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


def serve(tmp_path):
    """The `server` fixture's body (tests/conftest.py): a streamlit server with a real worker
    on a tmp store; yields its url, store, start time and log path; stopped afterwards."""
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
