"""The app's shape ([P] #20 item 4): one door to the jobs side (app/state/), pure view-building
that imports without Streamlit (modules <= 300 lines: test_purity)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_purity import imported_names

ROOT = Path(__file__).resolve().parents[1]
APP_FILES = sorted(p for d in ("app", "pages", "charts") for p in (ROOT / d).rglob("*.py"))
JOBS_SIDE = ("memcore.jobs", "memcore.store", "memcore.sweeps")
PURE = ("app.views", "app.links", "app.runframes", "app.eta")


@pytest.mark.parametrize("path", APP_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_only_app_state_reaches_the_jobs_store_and_sweeps(path):
    if path.parent == ROOT / "app" / "state":  # the door itself (a package)
        return
    around = [n for n in imported_names(path) if n.startswith(JOBS_SIDE)]
    assert around == [], f"{path.name} goes around app/state/: {around}"


def test_view_building_and_links_import_without_streamlit():
    code = f"import sys, {', '.join(PURE)}\nprint('streamlit' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"
