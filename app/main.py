"""Entry point: `streamlit run app/main.py`.

Page config, navigation over the files in the top-level pages/ folder (grouped: Explore, Paper
experiments, Runs, About), the background workers (started once per server process, count from
env MEMCORE_WORKERS, default 1; 0 = start none) and a sidebar line on workers and device.
Paper-experiment pages are discovered by name (pages/fig_*.py, pages/report.py), so pages added
later appear without touching this file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts app/ first, not the repo root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import errors, state  # noqa: E402

PAGES = ROOT / "pages"


def _title(path: Path) -> str:
    """pages/fig_critical_ratio.py -> 'Critical ratio'."""
    stem = path.stem.removeprefix("fig_").replace("_", " ").strip()
    return stem[:1].upper() + stem[1:]


def page_groups() -> dict[str, list[st.Page]]:
    """{section: [st.Page]} over pages/; empty sections are left out."""
    groups: dict[str, list[st.Page]] = {
        "Explore": [
            st.Page(PAGES / "explore.py", title="Explore", icon=":material/science:", default=True)
        ],
        "Paper experiments": [
            st.Page(p, title=_title(p), icon=":material/insert_chart:")
            for p in sorted(PAGES.glob("fig_*.py"))
        ],
        "Runs": [st.Page(PAGES / "runs.py", title="Runs", icon=":material/table_rows:")],
        "About": [st.Page(PAGES / "about.py", title="About", icon=":material/info:")],
    }
    report = PAGES / "report.py"
    if report.exists():
        groups["Paper experiments"].append(
            st.Page(report, title="Reproduction report", icon=":material/fact_check:")
        )
    return {name: pages for name, pages in groups.items() if pages}


started = time.perf_counter()
st.set_page_config(page_title="Memorization explorer", page_icon=":material/memory:", layout="wide")
state.start_session()
nav = st.navigation(page_groups(), expanded=True)
with errors.guarded("Could not start the background workers"):
    state.ensure_workers()
status = st.sidebar.empty()  # filled after the page: the device check imports torch (seconds)
try:
    with errors.guarded("This page hit an error"):
        nav.run()
finally:
    state.sidebar_status(status, time.perf_counter() - started)
