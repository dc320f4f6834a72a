"""The core stays pure: memcore never imports streamlit (nor the app layer), and diskcache only
inside memcore/jobs. Walks every import statement (also those inside functions) with ast."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEMCORE = ROOT / "memcore"
FILES = sorted(MEMCORE.rglob("*.py"))


def imported_names(path: Path) -> set[str]:
    """Dotted names of every module `path` imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif (  # importlib.import_module("x.y") with a literal name
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value))
    return names


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module `path` imports."""
    return {n.split(".")[0] for n in imported_names(path)}


def app_closure(names: set[str]) -> set[Path]:
    """Source files of the app-layer modules in `names`, their packages and what they import
    from the app layer in turn (the app may be imported lazily by memcore; it must then not
    drag streamlit in)."""
    todo, seen = [n for n in names if n.split(".")[0] in ("app", "pages")], set()
    while todo:
        parts = todo.pop().split(".")
        for i in range(1, len(parts) + 1):
            base = ROOT.joinpath(*parts[:i])
            for f in (base / "__init__.py", base.with_suffix(".py")):
                if f.is_file() and f not in seen:
                    seen.add(f)
                    todo += [n for n in imported_names(f) if n.split(".")[0] in ("app", "pages")]
    return seen


def test_walker_sees_imports_everywhere(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(
        "import os.path\nfrom a.b import c\n"
        "def f():\n    import streamlit as st\n    importlib.import_module('diskcache')\n"
        "from . import rel\n"
    )
    assert imported_modules(src) == {"os", "a", "streamlit", "diskcache"}


def test_there_is_something_to_check():
    rel = {p.relative_to(MEMCORE).as_posix() for p in FILES}
    assert {"spec.py", "data/loading.py", "data/noise.py", "cli.py"} <= rel


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_streamlit_and_diskcache_only_in_jobs(path):
    mods = imported_modules(path)
    assert "streamlit" not in mods
    for f in app_closure(imported_names(path)):  # app modules memcore reaches (lazily)
        assert "streamlit" not in imported_modules(f), f"{path} reaches streamlit via {f}"
    if "jobs" not in path.relative_to(MEMCORE).parts:
        assert "diskcache" not in mods


def test_science_modules_import_without_streamlit_or_diskcache():
    code = (
        "import sys, memcore.spec, memcore.data.loading, memcore.data.noise, memcore.cli\n"
        "print(sorted(m for m in ('streamlit', 'diskcache') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
