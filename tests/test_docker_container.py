"""The Docker demo for real: build the image, run containers on 127.0.0.1 (host networking), and
check what an operator and a visitor meet. `pytest -m docker` (or `make docker-test`); skipped,
saying why, without that marker or without a Docker engine.

Build args come from the environment, so a machine without Docker Hub or the PyTorch CPU index
can use a local base image and PyPI's torch: BASE_IMAGE=memlab-base:bookworm
TORCH_INDEX_URL=https://pypi.org/simple (README, "Share a demo"). DOCKER=podman swaps the CLI.
Timings (build, start to healthy, stop) are printed, never asserted beyond the limits the README
promises (healthy within the HEALTHCHECK's start period, stopped within MEMCORE_STOP_GRACE).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from browser_helpers import ARGS, CHROMIUM, _free_port, _wait_drawn, sync_playwright

from app.links import short_params
from memcore.spec.presets import preset

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[1]
DOCKER = os.environ.get("DOCKER", "docker")
IMAGE = os.environ.get("MEMLAB_TEST_IMAGE", "memlab:test")
GRACE = 8  # MEMCORE_STOP_GRACE, the image's default
START_PERIOD = 60  # the HEALTHCHECK's --start-period
TIMINGS: dict[str, object] = {}


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError(f"{DOCKER} {' '.join(args)}: {out.returncode}\n{out.stderr}")
    return out


def _build_args() -> list[str]:
    out = ["--network", "host"]  # the build's pip reaches the index like the host does
    for name in ("BASE_IMAGE", "TORCH_INDEX_URL"):
        if os.environ.get(name):
            out += ["--build-arg", f"{name}={os.environ[name]}"]
    return out


def _build(tag: str, *extra: str) -> tuple[str, float]:
    t = time.time()
    out = subprocess.run(
        [DOCKER, "build", *_build_args(), *extra, "-t", tag, str(ROOT)],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    return log, time.time() - t


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which(DOCKER) is None:
        pytest.skip(f"no {DOCKER} command: install a Docker engine (README, 'Share a demo')")
    info = subprocess.run([DOCKER, "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        pytest.skip(f"no Docker engine answers ({DOCKER} info: {info.stderr.strip()[:200]})")
    log, seconds = _build(IMAGE)
    TIMINGS["build_s (layers cached if built before)"] = round(seconds, 1)
    size = docker("image", "inspect", "-f", "{{.Size}}", IMAGE).stdout.strip()
    TIMINGS["image_size_GB"] = round(int(size) / 1e9, 2)
    yield IMAGE
    print("\ncontainer timings:", json.dumps(TIMINGS, indent=2))


@pytest.fixture
def containers() -> Iterator[Callable[..., dict]]:
    """run(*docker_run_args, env=..., args=...) -> {name, port, url}; all removed afterwards,
    with the named volumes they created."""
    names: list[str] = []
    volumes: list[str] = []

    def run(*opts: str, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> dict:
        name = f"memlab-test-{uuid.uuid4().hex[:8]}"
        port = _free_port()
        env = {"PORT": str(port), "STREAMLIT_ADDRESS": "127.0.0.1", **(env or {})}
        flags = [f for k, v in env.items() for f in ("-e", f"{k}={v}")]
        docker("run", "-d", "--name", name, "--network", "host", *flags, *opts, IMAGE, *args)
        names.append(name)
        return {"name": name, "port": port, "url": f"http://127.0.0.1:{port}", "t0": time.time()}

    def volume() -> str:
        name = f"memlab-test-{uuid.uuid4().hex[:8]}"
        docker("volume", "create", name)
        volumes.append(name)
        return name

    run.volume = volume  # type: ignore[attr-defined]
    yield run
    for name in names:
        docker("rm", "-f", "-v", name, check=False)  # -v: its anonymous /data volume too
    for name in volumes:
        docker("volume", "rm", "-f", name, check=False)


def _logs(c: dict) -> str:
    out = docker("logs", c["name"], check=False)
    return out.stdout + out.stderr


def _state(c: dict) -> dict:
    return json.loads(docker("inspect", "-f", "{{json .State}}", c["name"]).stdout)


def _wait(what: str, ok: Callable[[], object], timeout: float, c: dict, every=0.2) -> object:
    end = time.time() + timeout
    while time.time() < end:
        value = ok()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; logs:\n{_logs(c)}")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200 and r.read().strip() == b"ok"
    except OSError:
        return False


def _docker_healthy(c: dict) -> bool:
    state = _state(c)
    assert state["Status"] == "running", _logs(c)
    return state.get("Health", {}).get("Status") == "healthy"


def _memcore(c: dict, *args: str, volume: str | None = None) -> str:
    """`python -m memcore ARGS` in the running container, or in a throwaway one on `volume`."""
    if volume is None:
        return docker("exec", c["name"], "python", "-m", "memcore", *args).stdout
    out = docker("run", "--rm", "--network", "none", "-v", f"{volume}:/data", "--entrypoint",
                 "python", IMAGE, "-m", "memcore", *args)  # fmt: skip
    return out.stdout


def _status(c: dict, key: str, volume: str | None = None) -> dict:
    return json.loads(_memcore(c, "status", key, "--json", volume=volume))


# -- the build ------------------------------------------------------------------------------------
def test_changing_prefetch_datasets_keeps_the_dependency_layer(image) -> None:
    log, seconds = _build(f"{IMAGE}-prefetch", "--build-arg", "PREFETCH_DATASETS=digits")
    try:
        TIMINGS["rebuild_with_new_PREFETCH_DATASETS_s"] = round(seconds, 1)
        assert "digits ships with its package" in log  # the new value reached its RUN ...
        # ... and the pip layer came from the cache (legacy builder: "Using cache"; BuildKit:
        # "CACHED" on the step's line block)
        steps = re.split(r"\n(?=Step \d+/\d+ :|#\d+ \[)", log)
        pip = [s for s in steps if "pip install --no-cache-dir -r requirements.txt" in s]
        assert pip and all("Using cache" in s or "CACHED" in s for s in pip), pip
    finally:
        docker("rmi", f"{IMAGE}-prefetch", check=False)


# -- operator ------------------------------------------------------------------------------------
def test_health_non_root_licence_and_the_healthcheck_under_a_base_url_path(
    image, containers
) -> None:
    plain = containers("--health-interval", "1s")
    based = containers("--health-interval", "1s", env={"STREAMLIT_SERVER_BASE_URL_PATH": "memlab"})
    for c, url, name in ((plain, plain["url"], "plain"), (based, based["url"] + "/memlab", "base")):
        _wait(f"{url}/_stcore/health", lambda u=url: _http_ok(f"{u}/_stcore/health"), 60, c)
        TIMINGS[f"start_to_health_ok_s ({name})"] = round(time.time() - c["t0"], 1)
        # docker's own HEALTHCHECK (the image's command, run every second here) agrees
        _wait("docker health 'healthy'", lambda c=c: _docker_healthy(c), START_PERIOD, c)
    assert not _http_ok(f"{based['url']}/_stcore/health")  # the path really moved

    status = docker("exec", plain["name"], "cat", "/proc/1/status").stdout
    uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
    assert set(uids) == {"10001"}, uids  # the entrypoint (and all it starts) is not root
    assert docker("exec", plain["name"], "id", "-u").stdout.strip() == "10001"
    # the packages live in the venv, whatever the base's own Python allows (PEP 668)
    prefix = docker("exec", plain["name"], "python", "-c", "import sys; print(sys.prefix)")
    assert prefix.stdout.strip() == "/opt/venv"
    managed = docker("exec", plain["name"], "sh", "-c", "ls /usr/lib/python3*/EXTERNALLY-MANAGED",
                     check=False)  # fmt: skip
    TIMINGS["base_python_externally_managed"] = managed.returncode == 0
    licence = docker("exec", plain["name"], "cat", "/app/LICENSE").stdout
    assert licence.startswith("MIT License")


def test_a_base_url_path_flag_is_refused_with_the_variable_to_use(image, containers) -> None:
    c = containers(args=("--server.baseUrlPath=memlab",))
    _wait("the container to exit", lambda: _state(c)["Status"] == "exited", 60, c)
    assert _state(c)["ExitCode"] == 2
    assert "STREAMLIT_SERVER_BASE_URL_PATH" in _logs(c)


def test_an_unwritable_store_stops_the_container_saying_why(image, containers, tmp_path) -> None:
    host = tmp_path / "data"
    host.mkdir()
    host.chmod(0o755)  # root's folder: the app's user (10001) cannot write it
    os.chown(host, 0, 0)
    c = containers("-v", f"{host}:/data")
    _wait("the container to exit", lambda: _state(c)["Status"] == "exited", 60, c)
    logs = _logs(c)
    assert _state(c)["ExitCode"] == 2, logs
    assert "cannot be written by uid 10001" in logs and "chown" in logs
    assert "worker 0 started" not in logs and "app started" not in logs


def test_sigterm_requeues_the_job_and_a_new_container_resumes_it(image, containers) -> None:
    vol = containers.volume()
    first = containers("-v", f"{vol}:/data")
    _wait("health", lambda: _http_ok(f"{first['url']}/_stcore/health"), 60, first)
    # A run of a few dozen seconds: CSR every epoch on the offline default.
    args = ["--preset", "digits-mlp", "--train-epochs", "20", "--metrics-csr-every", "1"]
    key = _memcore(first, "submit", *args).split()[-1]  # its last line: "queued KEY"

    def epoch_two() -> bool:
        st = _status(first, key)
        assert st["status"] != "done", "the run finished before the stop: make it longer"
        return st["status"] == "running" and st["epoch"] >= 2

    _wait("the run's second epoch", epoch_two, 120, first, every=0.5)
    t = time.time()
    docker("stop", "-t", "10", first["name"], timeout=60)
    TIMINGS["docker_stop_s (worker mid-run)"] = round(time.time() - t, 1)
    logs = _logs(first)
    assert time.time() - t < GRACE, logs  # nobody needed SIGKILL
    assert _state(first)["ExitCode"] == 0 and "stopped" in logs
    assert "ignored SIGTERM" not in logs
    st = _status(first, key, volume=vol)
    assert st["status"] == "queued" and st["epoch"] >= 2, st  # requeued, with its progress

    second = containers("-v", f"{vol}:/data")
    done = lambda: _status(second, key)["status"] in ("done", "failed")  # noqa: E731
    _wait("the resumed run to finish", done, 300, second, every=1)
    st = _status(second, key)
    assert st["status"] == "done" and st["attempts"] == 2, st
    assert st["epoch"] == 20


# -- visitor -------------------------------------------------------------------------------------
def test_a_visitor_runs_a_configuration_and_is_refused_a_too_wide_one(image, containers) -> None:
    if not Path(CHROMIUM).exists() or sync_playwright is None:
        pytest.skip(f"needs {CHROMIUM} and the playwright package")
    c = containers(env={"MEMCORE_DEMO": "1"})
    _wait("health", lambda: _http_ok(f"{c['url']}/_stcore/health"), 60, c)
    spec = preset("digits-mlp", **{"model.width": 16, "train.epochs": 3})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{c['url']}/?{urlencode(short_params(spec))}")
            page.get_by_text("not been run yet", exact=False).wait_for(timeout=120_000)
            # the supervisor's worker, and the number the operator asked for
            page.get_by_text("workers alive: 1 (wanted 1)", exact=False).wait_for(timeout=60_000)
            t = time.time()
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("3 / 3", exact=True).wait_for(timeout=180_000)
            _wait_drawn(page, 2, 60_000)
            TIMINGS["browser_run_to_done_s"] = round(time.time() - t, 1)
            assert _status(c, spec.key)["status"] == "done"

            box = page.get_by_label("Width (hidden units)", exact=True)
            box.fill("4096")
            box.press("Enter")
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("exceeds this demo's cap of 1024", exact=False).wait_for(
                timeout=60_000
            )
        finally:
            browser.close()
    wide = preset("digits-mlp", **{"model.width": 4096, "train.epochs": 3})
    out = docker("exec", c["name"], "python", "-m", "memcore", "status", wide.key, check=False)
    assert out.returncode != 0, f"a too-wide run was queued: {out.stdout}"
