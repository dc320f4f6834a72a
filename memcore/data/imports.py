"""Importing a user's dataset: validate it once, store it as one .npz, register it.

`add(path, name)` reads the file (memcore.data.readers: .npz, image folder or its zip, CSV),
validates it, stores float32 inputs and int64 labels 0..C-1 as `<data folder>/user/<name>-<hash
prefix>.npz` and writes its entry (memcore.datasets.DatasetInfo, source "imported") into the
user registry file, which memcore.datasets reads as part of its one table. `remove(name)` deletes
the stored file and keeps the entry marked removed, so runs stored on it still read.

Every problem raises `BadDataset` (a ValueError) naming the problem and the fix, before anything
is written: a refused file changes nothing. Inputs keep their values (no rescaling; images are
pixels / 255): the value range is measured and registered, and every distance-like setting (CSR
radius, adversarial radius) is a share of it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from memcore.data.files import folder_lock
from memcore.data.readers import Arrays, BadDataset, read, read_zip
from memcore.data.validate import Clean, content_hash, validate
from memcore.datasets import (
    BUILTIN,
    DIGITS_VAL_FRACTION,
    OFFLINE_RUN,
    DatasetInfo,
    data_root,
    user_datasets,
    user_registry_path,
)

__all__ = ["BadDataset", "add", "add_upload", "read_stored", "remove", "validate"]

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


def check_name(name: str, replace: bool = False) -> None:
    if name in BUILTIN:
        raise BadDataset(f"{name!r} is a built-in dataset: choose another name for yours")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise BadDataset(
            f"name {name!r} is invalid: use 1-40 letters, digits, '_', '-' or '.', starting with "
            "a letter or digit"
        )
    old = user_datasets(strict=True).get(name)
    if old is not None and not old.removed and not replace:
        raise BadDataset(
            f"{name!r} is already imported (from {old.origin}); choose another name, or replace "
            "it (--replace; runs on the old data stay stored under its old content hash)"
        )


def _size(p: Path) -> int:
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size if p.exists() else 0


def _over_cap(size: int, max_bytes: int | None, shown: str) -> None:
    if max_bytes is not None and size > max_bytes:
        raise BadDataset(
            f"{shown} is {size / 2**20:.1f} MB, over the cap of {max_bytes / 2**20:.0f} MB "
            "(MEMCORE_MAX_UPLOAD_MB); import a smaller file, or import it from the command line"
        )


def add(
    path: str | os.PathLike,
    name: str,
    *,
    label: str | None = None,
    image_size: int | None = None,
    replace: bool = False,
    owner: str = "",
    max_bytes: int | None = None,
    origin: str | None = None,
) -> tuple[DatasetInfo, list[str]]:
    """Import the dataset at `path` as `name`: (its registry entry, notes for the user)."""
    p = Path(path).expanduser()
    shown = origin or p.name
    check_name(name, replace)
    _over_cap(_size(p), max_bytes, shown)
    if p.suffix.lower() == ".zip" and max_bytes is not None:
        raw = read_zip(p, image_size, max_bytes)
    else:
        raw = read(p, label, image_size)
    clean = validate(raw, shown, text_labels=p.is_dir() or p.suffix.lower() in (".csv", ".zip"))
    return _store(clean, raw, name, owner, origin or str(p.resolve())), raw.notes


def add_upload(
    data: bytes,
    filename: str,
    name: str,
    *,
    owner: str = "",
    max_bytes: int | None = None,
    image_size: int | None = None,
) -> tuple[DatasetInfo, list[str]]:
    """Import an uploaded .npz or zipped image folder (the app's "Add dataset")."""
    suffix = Path(filename).suffix.lower()
    if suffix not in (".npz", ".zip"):
        raise BadDataset(
            f"{filename}: upload an .npz (x, y) or a zipped folder of class subfolders of images"
        )
    _over_cap(len(data), max_bytes, filename)
    with tempfile.TemporaryDirectory(prefix="memcore-upload-") as tmp:
        p = Path(tmp) / f"upload{suffix}"
        p.write_bytes(data)
        return add(
            p, name, owner=owner, max_bytes=max_bytes, image_size=image_size,
            origin=f"upload {filename}",
        )  # fmt: skip


def _split(clean: Clean) -> tuple[str, str, int]:
    if clean.x_val is not None:
        return "given", "the file's own x_val / y_val", len(clean.x_val)
    counts = np.bincount(clean.y)
    n_val = int(np.round(counts * DIGITS_VAL_FRACTION).sum())  # as splits.stratified_split
    return "stratified", "20% stratified validation, seeded by data.seed", n_val


def _store(clean: Clean, raw: Arrays, name: str, owner: str, origin: str) -> DatasetInfo:
    digest = content_hash(clean)
    split, split_text, n_val = _split(clean)
    folder = data_root() / "user"
    rel = f"user/{name}-{digest[:16]}.npz"
    vals = [clean.x] + ([clean.x_val] if clean.x_val is not None else [])
    info = DatasetInfo(
        name=name,
        source="imported",
        input_shape=tuple(int(s) for s in clean.x.shape[1:]),
        n_train=len(clean.x) - (0 if split == "given" else n_val),
        n_val=n_val,
        n_images=len(clean.x),
        classes=clean.classes,
        split=split,
        split_text=split_text,
        run_defaults=dict(OFFLINE_RUN),
        preset="digits-mlp",
        value_range=(min(float(v.min()) for v in vals), max(float(v.max()) for v in vals)),
        content_hash=digest,
        file=rel,
        origin=origin,
        representation=raw.representation,
        owner=owner,
    )
    with folder_lock(folder, ".registry.lock"):
        check_name(name, replace=True)  # the registry may have changed while we read the file
        target = data_root() / rel
        if not target.exists():
            tmp = target.with_suffix(".tmp.npz")
            np.savez(tmp, **clean.arrays())
            os.replace(tmp, target)
        entries = user_datasets(strict=True)
        old = entries.get(name)
        _write({**entries, name: info})
        if old is not None and old.file != rel:
            (data_root() / old.file).unlink(missing_ok=True)
    return info


def remove(name: str) -> DatasetInfo:
    """Delete an imported dataset's stored file; its entry stays, marked removed, so its
    stored runs still read (it can no longer train)."""
    if name in BUILTIN:
        raise BadDataset(f"{name!r} is a built-in dataset: only imported datasets can be removed")
    with folder_lock(data_root() / "user", ".registry.lock"):
        entries = user_datasets(strict=True)
        info = entries.get(name)
        if info is None or info.removed:
            have = ", ".join(n for n, i in entries.items() if not i.removed) or "none"
            raise BadDataset(f"no imported dataset {name!r} (imported: {have})")
        gone = DatasetInfo.from_json({**info.to_json(), "removed": True})
        _write({**entries, name: gone})
        (data_root() / info.file).unlink(missing_ok=True)
    return gone


def read_stored(info: DatasetInfo) -> dict[str, np.ndarray]:
    """The stored arrays of an imported dataset, checked against its content hash."""
    p = data_root() / info.file
    try:
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as e:
        raise BadDataset(
            f"dataset {info.name!r}: its stored file {p} is missing or unreadable ({e}); "
            f"import it again: python -m memcore datasets add FILE --name {info.name} --replace"
        ) from e
    c = Clean(arrays["x"], arrays["y"], arrays.get("x_val"), arrays.get("y_val"), info.classes)
    if content_hash(c) != info.content_hash:
        raise BadDataset(
            f"dataset {info.name!r}: its stored file {p} was changed after import; import it "
            f"again: python -m memcore datasets add FILE --name {info.name} --replace"
        )
    return arrays


def _write(entries: dict[str, DatasetInfo]) -> None:
    path = user_registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"version": 1, "datasets": {n: i.to_json() for n, i in entries.items()}}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, indent=1), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a reader sees the old or the new table, never half
