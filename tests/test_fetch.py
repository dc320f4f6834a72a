"""memcore.data.files (through loading.load): offline requests fail fast with the folder and file
names; no test touches the network (MEMCORE_OFFLINE=1, or the socket/download is replaced)."""

from __future__ import annotations

import threading
import time

import pytest

from memcore.data import files as fetch
from memcore.data.files import DatasetUnavailable, availability
from memcore.data.loading import load
from memcore.datasets import REGISTRY
from memcore.spec import DataSpec

TORCHVISION = [n for n, i in REGISTRY.items() if not i.offline]


@pytest.mark.parametrize("name", TORCHVISION)
def test_offline_torchvision_request_fails_fast_naming_the_folder(name, tmp_path):
    import torchvision.datasets  # noqa: F401  (import time is not the failure's time)

    t0 = time.monotonic()
    with pytest.raises(DatasetUnavailable) as err:
        load(DataSpec(dataset=name), root=tmp_path)
    assert time.monotonic() - t0 < 10
    msg = str(err.value)
    folder = (tmp_path / REGISTRY[name].folder).resolve()
    assert str(folder) in msg
    assert all(f in msg for f in REGISTRY[name].files)
    assert isinstance(err.value, ValueError)


def test_unreachable_network_probe_gives_up_fast(tmp_path, monkeypatch):
    """Downloads allowed but the connection attempt hangs: load still fails within the probe
    timeout (no real network: create_connection is replaced)."""
    release = threading.Event()

    def hang(*args, **kwargs):
        release.wait(30)
        raise OSError("unreachable")

    monkeypatch.delenv("MEMCORE_OFFLINE")
    monkeypatch.setattr(fetch.socket, "create_connection", hang)
    monkeypatch.setattr(fetch, "_probe_cache", {})
    monkeypatch.setattr(fetch, "PROBE_TIMEOUT_S", 0.5)
    import torchvision.datasets  # noqa: F401

    t0 = time.monotonic()
    try:
        with pytest.raises(DatasetUnavailable, match="no network"):
            load(DataSpec(dataset="mnist"), root=tmp_path)
    finally:
        release.set()
    assert time.monotonic() - t0 < 5


def test_bad_archives_are_reported_not_trusted(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in REGISTRY["mnist"].files:
        (raw / f).write_bytes(b"not a gzip")
    assert {a.name: a.status for a in availability(tmp_path)}["mnist"] == "cached"
    with pytest.raises(DatasetUnavailable, match="checksums"):
        load(DataSpec(dataset="mnist"), root=tmp_path)


def test_failed_download_becomes_dataset_unavailable(tmp_path, monkeypatch):
    """Online and allowed, but the download breaks: a clear error, not a traceback (the
    download itself is replaced, so no network is touched)."""
    from torchvision.datasets import MNIST

    def broken(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz\nmore detail")

    monkeypatch.delenv("MEMCORE_OFFLINE")
    monkeypatch.setattr(fetch, "_online", lambda url, timeout=None: True)
    monkeypatch.setattr(MNIST, "download", broken)
    with pytest.raises(DatasetUnavailable, match="download failed: Error downloading") as err:
        load(DataSpec(dataset="mnist"), root=tmp_path)
    assert "more detail" not in str(err.value) and str(tmp_path.resolve()) in str(err.value)


def test_offline_switch_values(monkeypatch):
    for value, allowed in [("1", False), ("true", False), ("YES", False), ("0", True), ("", True)]:
        monkeypatch.setenv("MEMCORE_OFFLINE", value)
        assert fetch.downloads_allowed() is allowed
    monkeypatch.setenv("MEMCORE_OFFLINE", "1")
    assert fetch._online("https://example.invalid/") is False  # no probe at all when offline
