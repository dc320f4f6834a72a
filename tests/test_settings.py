"""memcore/settings.py: the one place that reads environment variables, one prefix, old names as
deprecated aliases, typed values read at call time."""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import pytest

from memcore import settings

ROOT = Path(__file__).resolve().parents[1]
_ENV = {"environ", "getenv", "putenv", "unsetenv"}


def _python_files() -> list[Path]:
    return [p for d in ("memcore", "app", "pages") for p in sorted((ROOT / d).rglob("*.py"))]


def _environment_reads(tree: ast.AST) -> list[int]:
    """Lines that touch os.environ / os.getenv / os.putenv, or import them by name."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _ENV:
            lines.append(node.lineno)
        names = {a.name for a in node.names} if isinstance(node, ast.ImportFrom) else set()
        if isinstance(node, ast.ImportFrom) and node.module == "os" and names & _ENV:
            lines.append(node.lineno)
    return lines


def test_every_environment_read_goes_through_settings() -> None:
    offenders = {
        str(p.relative_to(ROOT)): _environment_reads(ast.parse(p.read_text()))
        for p in _python_files()
        if p != ROOT / "memcore" / "settings.py"
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert _environment_reads(ast.parse("import os\nos.environ.get('X')"))  # the check bites


def test_every_variable_named_in_code_and_docs_is_in_the_table() -> None:
    files = [
        *_python_files(),
        *(p for p in (ROOT / "docker").iterdir() if p.is_file()),
        ROOT / "Dockerfile",
        ROOT / "README.md",
    ]
    named = set()
    for p in files:
        named |= set(re.findall(r"\bMEMCORE_[A-Z0-9_]*[A-Z0-9]\b", p.read_text()))
    assert named - set(settings.SETTINGS) == set()
    # The old prefix survives only as the deprecated aliases (and the README says so).
    for p in files:
        where = p.relative_to(ROOT).as_posix()
        if where not in ("memcore/settings.py", "memcore/demo/__init__.py", "README.md") and (
            p.name != "entrypoint.sh"
        ):
            assert "MEMLAB_" not in p.read_text(), p


def test_defaults_types_and_reading_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("MEMCORE_WORKERS", "MEMCORE_LEASE_S", "MEMCORE_DEMO", "MEMLAB_DEMO"):
        monkeypatch.delenv(var, raising=False)
    assert settings.get("MEMCORE_WORKERS") == 1 and settings.get("MEMCORE_LEASE_S") == 30.0
    assert settings.get("MEMCORE_DEMO") is False and settings.get("MEMCORE_THREADS") is None
    monkeypatch.setenv("MEMCORE_WORKERS", " 3 ")
    monkeypatch.setenv("MEMCORE_DEMO", "Yes")
    assert settings.get("MEMCORE_WORKERS") == 3 and settings.get("MEMCORE_DEMO") is True
    monkeypatch.setenv("MEMCORE_WORKERS", "")  # empty = unset
    assert settings.get("MEMCORE_WORKERS") == 1
    assert settings.get("MEMCORE_WORKERS", env={"MEMCORE_WORKERS": "7"}) == 7
    for s in settings.SETTINGS.values():
        assert s.name.startswith("MEMCORE_")
        assert s.type in (str, int, float, bool, settings.ByteSize)
        assert s.default is None or isinstance(s.default, s.type) or s.type is float


@pytest.mark.parametrize(
    "var,value,message",
    [
        ("MEMCORE_WORKERS", "two", "a whole number >= 0"),
        ("MEMCORE_LEASE_S", "-1", "a number >= 0"),
        ("MEMCORE_OFFLINE", "maybe", "1/true/yes/on"),
        ("MEMCORE_STORE_LIMIT", "inf", r"a size \(e.g. 500M, 20G, 1.5T\) >= 0"),
        ("MEMCORE_STORE_LIMIT", "20 gallons", "a size"),
        ("MEMCORE_STORE_LIMIT", "-1G", "a size"),
    ],
)
def test_invalid_values_name_the_variable(var: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{var}={value!r} is invalid: .*{message}"):
        settings.get(var, env={var: value})


def test_old_names_are_deprecated_aliases_the_new_name_wins() -> None:
    assert settings.ALIASES["MEMLAB_MAX_WIDTH"] == "MEMCORE_DEMO_MAX_WIDTH"
    assert settings.ALIASES["MEMLAB_DEMO"] == "MEMCORE_DEMO"
    with pytest.warns(DeprecationWarning, match="MEMLAB_MAX_WIDTH is deprecated.*use MEMCORE_DEMO"):
        assert settings.get("MEMCORE_DEMO_MAX_WIDTH", env={"MEMLAB_MAX_WIDTH": "64"}) == 64
    both = {"MEMLAB_MAX_WIDTH": "64", "MEMCORE_DEMO_MAX_WIDTH": "32"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new name set: no warning
        assert settings.get("MEMCORE_DEMO_MAX_WIDTH", env=both) == 32
    with pytest.raises(ValueError, match="^MEMLAB_MAX_WIDTH='wide'"), pytest.warns(Warning):
        settings.get("MEMCORE_DEMO_MAX_WIDTH", env={"MEMLAB_MAX_WIDTH": "wide"})


def test_child_env_copies_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMCORE_STORE", "/somewhere")
    env = settings.child_env(PYTHONPATH="x")
    assert env["MEMCORE_STORE"] == "/somewhere" and env["PYTHONPATH"] == "x"


@pytest.mark.parametrize(
    "text,size",
    [
        ("20G", 20 * 2**30),  # the README's spelling of the default
        ("500M", 500 * 2**20),
        ("1.5T", int(1.5 * 2**40)),
        ("20GiB", 20 * 2**30),
        ("2 gb", 2 * 2**30),
        ("4096", 4096),
        ("0", 0),  # no cap
    ],
)
def test_store_limit_reads_sizes_with_units(text: str, size: int) -> None:
    assert settings.get("MEMCORE_STORE_LIMIT", env={"MEMCORE_STORE_LIMIT": text}) == size


def test_store_limit_zero_means_no_cap_for_the_store(tmp_path, monkeypatch) -> None:
    from memcore.store import Store

    monkeypatch.setenv("MEMCORE_STORE_LIMIT", "0")
    assert Store(tmp_path / "s").size_limit == 0
    monkeypatch.setenv("MEMCORE_STORE_LIMIT", "1.5T")
    assert Store(tmp_path / "s").size_limit == int(1.5 * 2**40)


@pytest.mark.parametrize("value", ["0", "abc", "-1"])
def test_a_worker_with_an_invalid_setting_exits_2_at_start_saying_which(tmp_path, value) -> None:
    """Issue 25 item 8: MEMCORE_MAX_ATTEMPTS=0/abc/-1 left a worker alive that never claimed,
    logging every second."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root), MEMCORE_MAX_ATTEMPTS=value)
    cmd = [sys.executable, "-m", "memcore", "worker", "--store", str(tmp_path / "s")]
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"MEMCORE_MAX_ATTEMPTS='{value}' is invalid: must be a whole number >= 1" in done.stderr
    assert not (tmp_path / "s").exists()  # nothing started


def test_every_invalid_setting_is_reported_at_once_by_the_app(monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MEMCORE_WORKERS", "many")
    monkeypatch.setenv("MEMCORE_LEASE_S", "-3")
    assert len(settings.problems()) == 2
    main = str(Path(__file__).resolve().parents[1] / "app" / "main.py")
    at = AppTest.from_file(main, default_timeout=60).run()
    said = " ".join(e.value for e in at.error)
    assert "MEMCORE\\_WORKERS" in said and "MEMCORE\\_LEASE\\_S" in said, said
    assert not at.exception
