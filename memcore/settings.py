"""Every environment variable the project reads, in one table, read at call time.

One documented prefix: `MEMCORE_`. The demo settings were called `MEMLAB_*` before; those names
keep working for one release as deprecated aliases (read only when the new name is unset, with a
DeprecationWarning naming the new one).

    settings.get("MEMCORE_WORKERS")          -> 1 (int), or the value set in the environment
    settings.get("MEMCORE_DEMO", env={...})  -> read from a given mapping instead (tests, checks)

Values are parsed by the setting's type; an unset or empty variable gives the default; an invalid
value raises ValueError naming the variable actually set and what it must be. The shell entrypoint
(docker/entrypoint.sh) reads the settings marked "shell" itself; they are listed here so that this
table is the one place that documents them.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GiB = 2**30
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}
_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([KMGTP]?)(?:I?B)?", re.IGNORECASE)


class ByteSize(int):
    """A size in bytes, written as bytes or with a binary unit: 500M, 20G, 1.5T, 20GiB, 2 GB
    (K/M/G/T/P = powers of 1024)."""

    @classmethod
    def parse(cls, text: str) -> ByteSize:
        m = _SIZE.fullmatch(text.strip())
        if m is None:
            raise ValueError(text)
        return cls(round(float(m.group(1)) * _UNITS[m.group(2).upper()]))


@dataclass(frozen=True)
class Setting:
    """One environment variable: its type, default (None = unset), help, and old name."""

    name: str
    type: type  # str | int | float | bool | ByteSize
    default: Any
    help: str
    alias: str | None = None  # deprecated name, read when `name` is unset (one release)
    minimum: float | None = None  # numbers: smallest allowed value


def _demo_cap(field: str, default: float, typ: type, help: str, old: bool = True) -> Setting:
    alias = "MEMLAB_MAX_" + field if old else None  # caps added after the rename have none
    return Setting(f"MEMCORE_DEMO_MAX_{field}", typ, default, help + " (0 = no cap)", alias, 0)


_TABLE = (
    # store and workers
    Setting("MEMCORE_STORE", str, None, "job store folder (default <repo>/cache/store)"),
    Setting(
        "MEMCORE_WORKERS", int, 1, "worker processes the app or entrypoint keeps alive", minimum=0
    ),
    Setting(
        "MEMCORE_WORKERS_SUPERVISED",
        bool,
        False,
        "a supervisor (docker/entrypoint.sh) keeps the MEMCORE_WORKERS workers alive: the app "
        "starts none",
    ),
    Setting("MEMCORE_THREADS", int, None, "torch threads per worker (default: cores shared)"),
    Setting(
        "MEMCORE_STORE_LIMIT",
        ByteSize,
        ByteSize(20 * GiB),
        "store size (500M, 20G, 1.5T or bytes; 0 = no cap); oldest finished runs evicted",
        minimum=0,
    ),
    Setting("MEMCORE_MAX_QUEUE", float, 1000, "queued jobs at most", minimum=1),
    Setting("MEMCORE_LEASE_S", float, 30.0, "seconds a running job's lease lasts", minimum=0),
    Setting(
        "MEMCORE_MAX_ATTEMPTS",
        int,
        3,
        "worker deaths (e.g. out of memory) after which a job is failed",
        minimum=1,
    ),
    Setting(
        "MEMCORE_CHECKPOINT_EVERY_S",
        float,
        0.0,
        "seconds between checkpoints (0 = every epoch)",
        minimum=0,
    ),
    Setting(
        "MEMCORE_BATCH_SWEEPS",
        bool,
        True,
        "an in-process figure sweep trains its same-shape specs as one batched run",
    ),
    Setting(
        "MEMCORE_JOBS_RUNNER", str, None, "module:function replacing the workers' runner (tests)"
    ),
    Setting(
        "MEMCORE_FAKE_EPOCH_S",
        float,
        0.02,
        "seconds per epoch of the fake runner (tests)",
        minimum=0,
    ),
    Setting(
        "MEMCORE_FAKE_FAIL_AT",
        int,
        0,
        "epoch at which the fake runner raises (0 = never)",
        minimum=0,
    ),
    # Dask cluster (memcore/sweeps/dask_backend.py)
    Setting(
        "MEMCORE_DASK_SCHEDULER",
        str,
        None,
        "Dask scheduler for --backend dask and the figure pages, e.g. tcp://host:8786",
    ),
    Setting(
        "MEMCORE_DASK_RETRIES",
        int,
        2,
        "reruns of a Dask task that raised (dead workers: the scheduler's allowed-failures)",
        minimum=0,
    ),
    # datasets
    Setting(
        "MEMCORE_DATA", str, None, "downloaded datasets folder (default <repo>/cache/datasets)"
    ),
    Setting("MEMCORE_OFFLINE", bool, False, "never download datasets"),
    Setting(
        "MEMCORE_MAX_UPLOAD_MB",
        float,
        100.0,
        "largest dataset file the app's Add dataset accepts, in MB (the CLI has no cap)",
        minimum=0.001,
    ),
    # public demo (memcore/demo/)
    Setting("MEMCORE_DEMO", bool, False, "turn the per-visitor caps on", alias="MEMLAB_DEMO"),
    Setting(
        "MEMCORE_READONLY",
        bool,
        False,
        "serve stored runs only: queue nothing",
        alias="MEMLAB_READONLY",
    ),
    Setting(
        "MEMCORE_DEMO_UPLOADS",
        bool,
        False,
        "demo: visitors may upload datasets (each sees only their own; no server paths)",
    ),
    _demo_cap("WIDTH", 1024, int, "model.width (MLP hidden units per layer)"),
    _demo_cap("WIDTH_MULT", 2.0, float, "model.width_mult (CNN channel multiplier)"),
    _demo_cap("DEPTH", 4, int, "model.depth (MLP hidden layers)"),
    _demo_cap("EPOCHS", 50, int, "train.epochs"),
    _demo_cap("MEMBERS", 16, int, "train.members (models trained together)"),
    _demo_cap("TRAIN_SIZE", 5000, int, "training examples (a whole split counts its size)"),
    _demo_cap("STEPS", 20000, int, "SGD steps = epochs x ceil(examples / batch_size)"),
    _demo_cap("SENS_STEPS", 1000, int, "SGD steps of the unrolled sensitivity task"),
    _demo_cap("CSR_PROBES", 1000, int, "metrics.csr_probes", old=False),
    _demo_cap("CSR_ITERS", 100, int, "metrics.csr_iters (LASS iterations)", old=False),
    _demo_cap("TRACK_SIZE", 2000, int, "metrics.track_size (examples tracked)", old=False),
    _demo_cap("EARLY_STEPS", 100, int, "metrics.early_steps (evaluations in epoch 1)", old=False),
    _demo_cap("SECONDS", 600.0, float, "a run's estimated seconds (engine.cost)", old=False),
    _demo_cap("MEMORY_MB", 4096, int, "a run's estimated memory in MB (engine.cost)", old=False),
    _demo_cap(
        "QUEUED_PER_SESSION",
        10,
        int,
        "queued + running jobs per visitor (client address, else browser session)",
    ),
    _demo_cap("QUEUED", 50, int, "queued + running jobs in the whole store"),
    Setting(
        "MEMCORE_DEMO_PROXIES",
        int,
        0,
        "trusted reverse proxies in front of the app: the visitor's address is the N-th entry "
        "from the right of X-Forwarded-For (0 = the connection's address)",
        minimum=0,
    ),
    # read by docker/entrypoint.sh (shell)
    Setting(
        "MEMCORE_STOP_GRACE",
        int,
        8,
        "shell: whole seconds between SIGTERM and SIGKILL (under docker stop's 10 s)",
        minimum=0,
    ),
    Setting(
        "MEMCORE_PREFETCHED",
        str,
        "/opt/memlab/datasets",
        "shell: datasets baked into the image",
        alias="MEMLAB_PREFETCHED",
    ),
)

SETTINGS: dict[str, Setting] = {s.name: s for s in _TABLE}
ALIASES: dict[str, str] = {s.alias: s.name for s in _TABLE if s.alias}

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def raw(name: str, env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(variable actually set, its stripped text) for setting `name`, or None when unset or
    empty. Falls back to the deprecated alias, warning once per call site."""
    s = SETTINGS[name]
    env = os.environ if env is None else env
    text = env.get(name, "").strip()
    if text:
        return name, text
    if s.alias and env.get(s.alias, "").strip():
        warnings.warn(
            f"{s.alias} is deprecated and will be removed in the next release: use {name}",
            DeprecationWarning,
            stacklevel=3,
        )
        return s.alias, env[s.alias].strip()
    return None


def _parse(s: Setting, var: str, text: str) -> Any:
    if s.type is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"{var}={text!r} is invalid: use 1/true/yes/on or 0/false/no/off")
    if s.type is str:
        return text
    what = {int: "a whole number", ByteSize: "a size (e.g. 500M, 20G, 1.5T)"}.get(
        s.type, "a number"
    )
    if s.minimum is not None:
        what += f" >= {s.minimum:g}"
    try:
        value = ByteSize.parse(text) if s.type is ByteSize else s.type(text)
    except ValueError:
        raise ValueError(f"{var}={text!r} is invalid: must be {what}") from None
    if not math.isfinite(value) or (s.minimum is not None and value < s.minimum):
        raise ValueError(f"{var}={text!r} is invalid: must be {what}")
    return value


def get(name: str, env: Mapping[str, str] | None = None) -> Any:
    """Setting `name` from os.environ (or `env`), typed; its default when unset or empty."""
    found = raw(name, env)
    return SETTINGS[name].default if found is None else _parse(SETTINGS[name], *found)


def problems(env: Mapping[str, str] | None = None) -> list[str]:
    """Every setting that is set to an invalid value, one message each ([] = all valid). The
    programs check this once at start (the CLI exits 2 with the messages; the app shows them)
    instead of meeting the bad value later, where a long-lived worker would retry for ever."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # said when the value is read
        for name in SETTINGS:
            try:
                get(name, env)
            except ValueError as e:
                out.append(str(e))
    return out


def child_env(**extra: str) -> dict[str, str]:
    """A copy of this process's environment for a child process, with `extra` set."""
    return {**os.environ, **extra}
