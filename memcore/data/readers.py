"""Reading a user's dataset from disk into plain arrays (validated by memcore.data.imports).

Three formats, picked by what `path` is:
- an .npz with arrays `x` (N x features, N x H x W or N x C x H x W; any numeric dtype) and `y`
  (N integer labels), optionally `x_val` and `y_val`;
- a folder of class subfolders of images (torchvision's ImageFolder layout), or such a folder
  zipped; a folder holding `train/` and `val/` (or `test/`) class folders gives its own
  validation split. Images are read with Pillow as grayscale when all are, else RGB, and
  resized to `image_size` x `image_size` when a size is stated;
- a CSV with one label column (`label`) and numeric feature columns.

Every problem is a `BadDataset` (a ValueError) naming the problem and the fix.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")
VAL_FOLDERS = ("val", "test")
MAX_UNZIPPED = 4  # a zip may unpack to at most this many times its cap (a zip bomb is refused)


class BadDataset(ValueError):
    """A dataset that cannot be imported; the message names the problem and the fix."""


@dataclass
class Arrays:
    """What a file holds, before validation: labels as read (ints, floats or strings)."""

    x: np.ndarray
    y: np.ndarray | None
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    representation: str = "as in the file, as float32"
    notes: list[str] = field(default_factory=list)  # said to the user (e.g. images resized)


def read(path: str | Path, label: str | None = None, image_size: int | None = None) -> Arrays:
    """The arrays in `path` (.npz, .csv, .zip of an image folder, or an image folder)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise BadDataset(f"{p} does not exist: give the path of an .npz, a .csv or an image folder")
    if p.is_dir():
        return read_images(p, image_size)
    suffix = p.suffix.lower()
    if suffix == ".npz":
        return read_npz(p)
    if suffix == ".csv":
        return read_csv(p, label)
    if suffix == ".zip":
        return read_zip(p, image_size, max_bytes=None)
    raise BadDataset(
        f"{p.name}: unknown format {suffix or '(no suffix)'}; import an .npz (x, y), a .csv "
        "(with --label COL), a folder of class subfolders of images, or that folder zipped"
    )


def read_npz(p: Path) -> Arrays:
    try:
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as e:  # numpy raises many types for a damaged file
        raise BadDataset(
            f"{p.name} is corrupt or not an .npz ({type(e).__name__}: {str(e)[:120]}); save it "
            "with numpy.savez(path, x=inputs, y=labels)"
        ) from e
    if "x" not in arrays:
        raise BadDataset(
            f"{p.name} has no array 'x' (it has: {', '.join(arrays) or 'nothing'}); save the "
            "inputs as x: numpy.savez(path, x=inputs, y=labels)"
        )
    if "y" not in arrays:
        raise BadDataset(
            f"{p.name} has no labels: no array 'y' (it has: {', '.join(arrays)}); save the labels "
            "as y: numpy.savez(path, x=inputs, y=labels)"
        )
    if ("x_val" in arrays) != ("y_val" in arrays):
        raise BadDataset(
            f"{p.name} has {'x_val' if 'x_val' in arrays else 'y_val'} without its partner; save "
            "both x_val and y_val, or neither (then 20% of each class is held out)"
        )
    return Arrays(arrays["x"], arrays["y"], arrays.get("x_val"), arrays.get("y_val"))


def read_csv(p: Path, label: str | None) -> Arrays:
    import pandas as pd

    try:
        df = pd.read_csv(p)
    except Exception as e:
        raise BadDataset(
            f"{p.name} is not a readable CSV ({type(e).__name__}: {str(e)[:120]}); save it as "
            "comma-separated text with a header row"
        ) from e
    cols = ", ".join(map(str, df.columns))
    if not label:
        raise BadDataset(f"{p.name}: no labels: name the label column with --label COL ({cols})")
    if label not in df.columns:
        raise BadDataset(f"{p.name} has no column {label!r} for the labels: use one of {cols}")
    features = df.drop(columns=[label])
    text = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if text:
        raise BadDataset(
            f"{p.name}: feature column {text[0]!r} is not numeric; drop it or encode it as "
            "numbers (every column but the label must be numeric)"
        )
    if features.shape[1] == 0:
        raise BadDataset(f"{p.name} has no feature columns besides {label!r}: add some")
    return Arrays(
        features.to_numpy(),
        df[label].to_numpy(),
        representation="the CSV's feature columns, as float32",
    )


def read_zip(p: Path, image_size: int | None, max_bytes: int | None) -> Arrays:
    """A zipped image folder (one top folder inside is skipped over)."""
    try:
        with zipfile.ZipFile(p) as z:
            unpacked = sum(i.file_size for i in z.infolist())
            if max_bytes is not None and unpacked > MAX_UNZIPPED * max_bytes:
                raise BadDataset(
                    f"{p.name} unpacks to {unpacked / 2**20:.0f} MB, more than {MAX_UNZIPPED}x "
                    "the upload cap: upload a smaller image folder"
                )
            with tempfile.TemporaryDirectory(prefix="memcore-zip-") as tmp:
                z.extractall(tmp)  # zipfile drops absolute paths and ".." from member names
                root = Path(tmp)
                inner = [c for c in root.iterdir() if not c.name.startswith(("__", "."))]
                if len(inner) == 1 and inner[0].is_dir() and _is_image_root(inner[0]):
                    root = inner[0]
                return read_images(root, image_size, shown=p.name)
    except zipfile.BadZipFile as e:
        raise BadDataset(
            f"{p.name} is corrupt or not a zip ({e}); zip the image folder again"
        ) from e


def _is_image_root(p: Path) -> bool:
    """Whether `p` holds class folders (or train/val folders) rather than being one."""
    return any(c.is_dir() for c in p.iterdir())


def _class_folders(root: Path, shown: str) -> list[Path]:
    folders = sorted(c for c in root.iterdir() if c.is_dir() and not c.name.startswith("."))
    if not folders:
        raise BadDataset(
            f"{shown} has no class subfolders: put each class's images in its own folder "
            "(root/cat/1.png, root/dog/2.png)"
        )
    return folders


def read_images(root: Path, image_size: int | None, shown: str | None = None) -> Arrays:
    """Image folder(s) -> N x C x H x W pixels in [0, 1] and the class names as labels."""
    shown = shown or str(root)
    subs = {c.name.lower(): c for c in root.iterdir() if c.is_dir()}
    val = next((subs[v] for v in VAL_FOLDERS if v in subs), None)
    if "train" in subs and val is not None and len(subs) == 2:
        parts = {"train": subs["train"], "val": val}
    else:
        parts = {"train": root}
    files = {
        k: [
            (f, c.name)
            for c in _class_folders(d, shown)
            for f in sorted(c.rglob("*"))
            if f.suffix.lower() in IMAGE_SUFFIXES
        ]
        for k, d in parts.items()
    }
    if not files["train"]:
        raise BadDataset(
            f"{shown} has no images (looked for {', '.join(IMAGE_SUFFIXES)}) in its class folders"
        )
    images = {k: _open_all(v, shown) for k, v in files.items()}
    sizes = {im.size for ims in images.values() for im in ims}
    notes = []
    if image_size is None:
        if len(sizes) > 1:
            few = ", ".join(f"{w}x{h}" for w, h in sorted(sizes)[:3])
            raise BadDataset(
                f"{shown}: the images have mixed sizes ({few}, ...); state a size with "
                "--image-size N and every image is resized to N x N"
            )
    else:
        if len(sizes) > 1:
            notes.append(f"images of mixed sizes were resized to {image_size}x{image_size}")
        elif sizes != {(image_size, image_size)}:
            notes.append(f"images resized to {image_size}x{image_size}")
    mode = "L" if all(im.mode in ("L", "1") for ims in images.values() for im in ims) else "RGB"
    x = {k: _stack(v, mode, image_size).astype(np.float32) / 255 for k, v in images.items()}
    y = {k: np.array([c for _, c in v]) for k, v in files.items()}
    side = f"resized to {image_size}x{image_size}" if image_size else "at their size"
    return Arrays(
        x["train"],
        y["train"],
        x.get("val"),
        y.get("val"),
        representation=f"{'grayscale' if mode == 'L' else 'RGB'} pixels / 255, {side}",
        notes=notes,
    )


def _open_all(files: list[tuple[Path, str]], shown: str) -> list:
    from PIL import Image

    out = []
    for f, _ in files:
        try:
            with Image.open(f) as im:
                im.load()
                out.append(im.copy())
        except Exception as e:
            raise BadDataset(
                f"{shown}: {f.name} is not a readable image ({type(e).__name__}); remove or "
                "replace it"
            ) from e
    return out


def _stack(images: list, mode: str, size: int | None) -> np.ndarray:
    from PIL import Image

    def one(im) -> np.ndarray:
        im = im.convert(mode)
        if size is not None and im.size != (size, size):
            im = im.resize((size, size), Image.Resampling.BILINEAR)
        a = np.asarray(im, dtype=np.uint8)
        return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)

    return np.stack([one(im) for im in images])
