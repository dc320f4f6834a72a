"""Entry point: `streamlit run app/main.py`.

Page config, navigation (a top bar: Explore, Runs, About and a Paper figures menu), the
background workers (started once per server process, count from env MEMCORE_WORKERS, default 1;
0 = start none) and a status line on workers and device (Explore's sidebar, else the page foot).
Each paper figure's page is generated from the figure list (memcore.figures.FIGURES,
app/figure_page.py); the hand-written pages are the files in the top-level pages/ folder.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts app/ first, not the repo root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

PAGES = ROOT / "pages"
ICON = ROOT / "app" / "icon.png"
started = time.perf_counter()
# the icon is a file of the app: an emoji or material icon would be fetched from a font host,
# which fails offline
st.set_page_config(page_title="Memorization explorer", page_icon=str(ICON), layout="wide")
# A fresh server's first visit imports PyTorch and the figures (seconds): say so at once
# instead of a blank page; later runs find them imported and skip the note.
loading = st.empty()
if "torch" not in sys.modules:
    loading.info("Starting the explorer: loading PyTorch and the paper's figures …")

from app import errors, figure_page, state  # noqa: E402
from memcore import settings  # noqa: E402
from memcore.figures import FIGURES  # noqa: E402

loading.empty()


def page_groups() -> dict[str, list[st.Page]]:
    """{section: [st.Page]}: hand-written pages from pages/, one generated page per figure
    (section "": top-level links)."""
    figures = sorted(FIGURES, key=figure_page.url_path)  # the order the page files had
    explore = st.Page(
        PAGES / "explore.py", title="Explore", icon=":material/science:", default=True
    )
    runs = st.Page(PAGES / "runs.py", title="Runs", icon=":material/table_rows:")
    examples = st.Page(PAGES / "examples.py", title="Examples", icon=":material/image:")
    about = st.Page(PAGES / "about.py", title="About", icon=":material/info:")
    return {
        "": [explore, runs, examples, about],  # links of their own in the top bar
        "Paper figures": [  # a menu
            *(figure_page.page(name) for name in figures),
            st.Page(PAGES / "report.py", title="Reproduction report", icon=":material/fact_check:"),
        ],
    }


state.start_session()
if bad := settings.problems():  # checked once per run, before any worker is started
    st.error("Invalid settings: fix these environment variables and restart the app.")
    for problem in bad:
        st.error(errors.message(problem))
    st.stop()
# The navigation is a top bar (sections as menus), so the sidebar holds only the run form: its
# fields start at the top of a 1000 px window instead of under a 17-entry list.
nav = st.navigation(page_groups(), position="top")
# Only Explore has a sidebar (its run form): elsewhere it is collapsed, so an empty one does not
# stay behind after leaving Explore and take the width from the page's tables and figures.
st.set_page_config(initial_sidebar_state="expanded" if nav.title == "Explore" else "collapsed")
with errors.guarded("Could not start the background workers"):
    state.ensure_workers()
try:
    with errors.guarded("This page hit an error"):
        nav.run()
finally:  # under Explore's form; elsewhere at the page's foot, so those pages get no sidebar
    # and their figures the full width (the device check imports torch: seconds, so last)
    where = st.sidebar if nav.title == "Explore" else st.container()
    state.sidebar_status(where.empty(), time.perf_counter() - started)
