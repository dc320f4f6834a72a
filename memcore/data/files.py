"""Dataset files on disk: where they go, whether they are there, and fetching them safely.

`data_root()` is the data folder (argument, else env MEMCORE_DATA, else <repo>/cache/datasets);
`availability()` says per dataset whether it is offline, cached there or missing. torchvision
datasets (mnist, fashion_mnist, cifar10) live under a data folder. `open_torchvision`
first reads local files (download=False); archives placed by hand are checked (md5) and
extracted without network; otherwise it downloads only when env MEMCORE_OFFLINE is not set and a
TCP probe of the host answers within PROBE_TIMEOUT_S (the probe runs in a daemon thread, so a
hanging DNS lookup cannot block). Every failure is a `DatasetUnavailable` (a ValueError) naming
the folder and the exact files to put there. Concurrent downloads into one folder are serialised
with a file lock.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from memcore import settings
from memcore.datasets import OFFLINE_DATASETS, REGISTRY, DatasetInfo, data_root

PROBE_TIMEOUT_S = 2.0


class DatasetUnavailable(ValueError):
    """A dataset's files are missing and cannot be downloaded; the message says what to do."""


def have_files(info: DatasetInfo, root: Path, names: tuple[str, ...]) -> bool:
    """Whether all `names` exist in the dataset's folder under `root` (no checksums)."""
    return bool(names) and all((root / info.folder / n).is_file() for n in names)


@dataclass(frozen=True)
class Availability:
    """One row of `availability()`: status is offline (ships with a package), cached (files in
    the data folder), missing, imported (by `datasets add`) or removed (its runs still read)."""

    name: str
    status: str
    input_shape: tuple[int, ...]
    n_train: int
    n_val: int
    n_classes: int
    source: str
    split: str
    folder: str  # absolute folder of the files ("" for offline datasets)
    files: tuple[str, ...] = field(default=())  # files to put there when missing
    value_range: tuple[float, float] = (0.0, 1.0)  # min, max of the inputs as loaded
    representation: str = ""  # imported: how the values were made
    content_hash: str = ""  # imported: sha256 of the stored arrays (part of its run keys)
    origin: str = ""  # imported: what it was imported from


def availability(root: str | os.PathLike | None = None) -> list[Availability]:
    """Every registered dataset with its status; cheap (checks file names, loads nothing)."""
    base = data_root(root)
    rows = []
    for info in REGISTRY.values():
        if info.imported:  # stored in the data folder by `datasets add`
            status = "removed" if info.removed else "imported"
            folder = str((data_root() / info.file).parent)  # MEMCORE_DATA, not --root
        elif info.offline:
            status, folder = "offline", ""
        else:
            cached = have_files(info, base, info.extracted) or have_files(info, base, info.files)
            status, folder = ("cached" if cached else "missing"), str(base / info.folder)
        rows.append(
            Availability(
                info.name, status, info.input_shape, info.n_train, info.n_val,
                len(info.classes), info.source, info.split_text, folder.rstrip("/."), info.files,
                info.value_range, info.representation, info.content_hash, info.origin,
            )
        )  # fmt: skip
    return rows


def downloads_allowed() -> bool:
    """False when env MEMCORE_OFFLINE is set to a true value (tests and air-gapped machines)."""
    return not settings.get("MEMCORE_OFFLINE")


_probe_cache: dict[str, tuple[float, bool]] = {}


def _online(url: str, timeout: float | None = None) -> bool:
    """Whether `url`'s host accepts a TCP connection within `timeout` seconds.

    The probe runs in a daemon thread so a hanging DNS lookup cannot block us; the answer is
    remembered for a minute so a long-running worker re-checks now and then.
    """
    if not downloads_allowed():
        return False
    timeout = PROBE_TIMEOUT_S if timeout is None else timeout
    host = url.split("://", 1)[-1].split("/", 1)[0]
    port = 80 if url.startswith("http://") else 443
    hit = _probe_cache.get(host)
    if hit and time.monotonic() - hit[0] < 60:
        return hit[1]
    ok: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            ok.append(True)
        except OSError:
            pass

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout)
    _probe_cache[host] = (time.monotonic(), bool(ok))
    return bool(ok)


def unavailable(info: DatasetInfo, root: Path, why: str) -> DatasetUnavailable:
    folder = (root / info.folder).resolve()
    files = ", ".join(str(folder / f) for f in info.files)
    return DatasetUnavailable(
        f"dataset {info.name!r} is not available ({why}). Put these files in {folder}: {files} "
        f"(from {info.url}), or point MEMCORE_DATA at a folder that has them, or go online "
        "(and unset MEMCORE_OFFLINE) to download them automatically. Offline datasets: "
        + ", ".join(OFFLINE_DATASETS)
    )


def _archives_ok(info: DatasetInfo, root: Path) -> bool:
    """Hand-placed archives whose checksums match: torchvision extracts them without network."""
    if not have_files(info, root, info.files):
        return False
    from torchvision.datasets.utils import check_integrity

    cls = _tv_class(info)
    # MNIST-like classes list (file, md5) resources; CIFAR10 has one archive with its md5
    pairs = getattr(cls, "resources", None) or [(cls.filename, cls.tgz_md5)]
    return all(check_integrity(str(root / info.folder / f), m) for f, m in pairs)


def _tv_class(info: DatasetInfo):
    import torchvision.datasets as tvd

    return getattr(tvd, info.torchvision_class)


@contextlib.contextmanager
def folder_lock(root: Path, name: str = ".download.lock") -> Iterator[None]:
    """One writer per data folder at a time (several workers may ask for the same dataset; the
    CLI and the app may import datasets at once): an advisory lock on `root / name`."""
    root.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; concurrent writers are merely wasteful
        yield
        return
    with open(root / name, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def open_torchvision(info: DatasetInfo, root: Path, train: bool):
    """The torchvision dataset object; downloads only when allowed and reachable."""
    cls = _tv_class(info)
    try:
        return cls(str(root), train=train, download=False)
    except RuntimeError:
        pass
    if not _archives_ok(info, root):  # else download=True only extracts the local archives
        why = "files missing"
        if have_files(info, root, info.files):
            why = "the archives in the folder fail their checksums"
        if not downloads_allowed():
            raise unavailable(info, root, why + "; MEMCORE_OFFLINE is set")
        if not _online(info.url):
            raise unavailable(info, root, why + " and no network")
    with folder_lock(root):
        try:
            return cls(str(root), train=train, download=True)
        except Exception as e:  # network errors come in many types; report, never crash
            raise unavailable(info, root, f"download failed: {str(e).splitlines()[0]}") from e
