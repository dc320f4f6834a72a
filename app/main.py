"""Entry point: `streamlit run app/main.py`.

Page config, navigation (grouped: Explore, Paper experiments, Runs, About), the background
workers (started once per server process, count from env MEMCORE_WORKERS, default 1; 0 = start
none) and a sidebar line on workers and device. Each paper experiment's page is generated from
the recipe list (memcore.experiments.RECIPES, app/figure_page.py); the hand-written pages are
the files in the top-level pages/ folder.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts app/ first, not the repo root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import errors, figure_page, state  # noqa: E402
from memcore.experiments import RECIPES  # noqa: E402

PAGES = ROOT / "pages"


def page_groups() -> dict[str, list[st.Page]]:
    """{section: [st.Page]}: hand-written pages from pages/, one generated page per recipe."""
    experiments = sorted(RECIPES, key=figure_page.url_path)  # the order the page files had
    return {
        "Explore": [
            st.Page(PAGES / "explore.py", title="Explore", icon=":material/science:", default=True)
        ],
        "Paper experiments": [
            *(figure_page.page(name) for name in experiments),
            st.Page(PAGES / "report.py", title="Reproduction report", icon=":material/fact_check:"),
        ],
        "Runs": [
            st.Page(PAGES / "runs.py", title="Runs", icon=":material/table_rows:"),
            st.Page(PAGES / "examples.py", title="Examples", icon=":material/image:"),
        ],
        "About": [st.Page(PAGES / "about.py", title="About", icon=":material/info:")],
    }


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
