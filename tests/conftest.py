"""Shared fixtures. Every test session runs offline and away from the repo's cache/:

- MEMCORE_OFFLINE=1: no test may touch the network (torchvision downloads are refused).
- MEMCORE_DATA and MEMCORE_STORE point at a fresh per-session temporary folder, so the
  developer's cached datasets and job store are neither used nor modified. Subprocesses inherit
  these. Tests that need an empty store of their own use the `memcore_env` fixture.

Fixtures: `memcore_env` (fresh data + store folders for one test), `tiny_spec` (a seconds-scale
digits RunSpec), `digits_data` (its clean Dataset), `one_thread` (torch on one intra-op thread;
a module opts in with `pytestmark = pytest.mark.usefixtures("one_thread")`), `demo_env` (a
fresh store and demo visitor ledger, the demo's settings cleared; returns a setter of settings),
`server` (the browser tests' streamlit server with a worker: tests/browser_helpers.py).
Helper: `wait_for(cond, timeout, what)` (`from conftest import wait_for`).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from memcore import demo
from memcore.demo import visitors
from memcore.demo.visitors import Ledger
from memcore.spec import RunSpec
from memcore.spec.presets import preset

ENV_VARS = ("MEMCORE_OFFLINE", "MEMCORE_DATA", "MEMCORE_STORE")
_MAIN = sys.modules["__main__"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Container tests build a 7 GB image: they run only when asked for (`pytest -m docker`)."""
    if "docker" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="container test: run with `pytest -m docker` (make docker-test)")
    for item in items:
        if item.get_closest_marker("docker"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _restore_main_module():
    """AppTest runs app/main.py as the __main__ module and leaves it there; a process started
    later with multiprocessing's spawn (a Dask worker) would then run the Streamlit script on
    start-up. Put pytest's own __main__ back after every test."""
    yield
    sys.modules["__main__"] = _MAIN


@pytest.fixture(scope="session", autouse=True)
def _offline_session_env(tmp_path_factory: pytest.TempPathFactory):
    """Session-wide isolation from the network and the repo's cache folder."""
    base = tmp_path_factory.mktemp("memcore-session")
    saved = {k: os.environ.get(k) for k in ENV_VARS}
    os.environ["MEMCORE_OFFLINE"] = "1"
    os.environ["MEMCORE_DATA"] = str(base / "datasets")
    os.environ["MEMCORE_STORE"] = str(base / "store")
    yield base
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def memcore_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Fresh, empty MEMCORE_DATA and MEMCORE_STORE folders for this test (offline)."""
    paths = {"data": tmp_path / "datasets", "store": tmp_path / "store"}
    monkeypatch.setenv("MEMCORE_OFFLINE", "1")
    monkeypatch.setenv("MEMCORE_DATA", str(paths["data"]))
    monkeypatch.setenv("MEMCORE_STORE", str(paths["store"]))
    return paths


@pytest.fixture
def tiny_spec() -> RunSpec:
    """200 balanced digits, 2 x 32 MLP, 2 epochs on CPU, small probe sets: a run in seconds."""
    return preset(
        "digits-mlp",
        **{
            "data.train_size": 200,
            "model.width": 32,
            "train.epochs": 2,
            "train.batch_size": 32,
            "train.device": "cpu",
            "metrics.track_size": 50,
            "metrics.csr_every": 0,
            "metrics.csr_probes": 50,
        },
    )


@pytest.fixture
def digits_data(tiny_spec: RunSpec):
    """The clean digits Dataset of `tiny_spec` (cached in-process; do not modify in place)."""
    from memcore.data.loading import load

    return load(tiny_spec.data)


@pytest.fixture
def one_thread():
    """One intra-op torch thread: on a shared 2-core box, 2 threads under load are many times
    slower for tiny tensors (OpenMP waits). Results are compared within one setting."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def demo_env(memcore_env, monkeypatch: pytest.MonkeyPatch):
    """A fresh store and visitor ledger; returns a setter of settings for this test."""
    monkeypatch.setattr(visitors, "LEDGER", Ledger())
    for var in ("MEMCORE_DEMO", "MEMCORE_READONLY", *demo.CAPS.values()):
        monkeypatch.delenv(var, raising=False)
    for var in [v for v in os.environ if v.startswith("MEMLAB_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("MEMCORE_WORKERS", "0")
    return lambda **kv: [monkeypatch.setenv(k, str(v)) for k, v in kv.items()]


def wait_for(cond, timeout: float, what: str, every: float = 0.05):
    """cond()'s first truthy value, polled every `every` s; AssertionError naming `what` after
    `timeout` s."""
    end = time.time() + timeout
    while time.time() < end:
        if value := cond():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def server(tmp_path):
    """The browser tests' streamlit server (tests/browser_helpers.py; skips without Chromium)."""
    from browser_helpers import serve

    yield from serve(tmp_path)
