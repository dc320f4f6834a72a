"""Facts about this machine that go next to timings: the load average (other processes share
the cores, so a time means little without it) and the installed torch version (read without
importing torch)."""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version


def load_average() -> tuple[float, float, float] | None:
    """The 1/5/15-minute load averages; None where the OS has none."""
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None


def load1() -> float | None:
    """The 1-minute load average, rounded to 0.01; None where the OS has none."""
    la = load_average()
    return None if la is None else round(la[0], 2)


def torch_version() -> str:
    try:
        return version("torch")
    except PackageNotFoundError:
        return "not installed"
