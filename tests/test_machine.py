"""memcore.machine: the facts printed next to timings."""

from __future__ import annotations

import os

import torch

from memcore import machine


def test_load_average_is_the_os_triple_or_none_where_there_is_none(monkeypatch):
    la = machine.load_average()
    assert la is not None and len(la) == 3 and all(x >= 0 for x in la)
    one = machine.load1()
    assert isinstance(one, float) and one == round(one, 2)

    def missing():
        raise OSError("no load average here")

    monkeypatch.setattr(os, "getloadavg", missing)
    assert machine.load_average() is None and machine.load1() is None


def test_torch_version_is_the_installed_one_without_importing_it():
    assert torch.__version__.startswith(machine.torch_version())
