"""Validating a user's dataset once (memcore.data.imports stores what passes).

`validate(arrays)` checks what memcore.data.readers read and returns its canonical form: inputs
float32 (N x F becomes N x 1 x F, N x H x W becomes N x 1 x H x W), labels int64 0..C-1 (other
integer or text labels map to 0..C-1 in sorted order, their names kept as the class names).
Every problem raises `BadDataset` naming the problem and the fix. `content_hash` says what the
data is, whatever file it came from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from memcore.data.readers import Arrays, BadDataset

MAX_CLASSES = 1000


@dataclass(frozen=True)
class Clean:
    """Validated arrays: x float32 N x *shape, y int64 in 0..C-1 (x_val / y_val alike or None)."""

    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    classes: tuple[str, ...]

    def arrays(self) -> dict[str, np.ndarray]:
        d = {"x": self.x, "y": self.y}
        if self.x_val is not None and self.y_val is not None:
            d.update(x_val=self.x_val, y_val=self.y_val)
        return d


def _inputs(x: np.ndarray, what: str, shown: str) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise BadDataset(
            f"{shown}: {what} is not numeric (dtype {x.dtype}); store numbers (any int or float)"
        )
    if x.size == 0 or x.ndim == 0:
        raise BadDataset(f"{shown}: {what} is empty (shape {x.shape}); it needs examples")
    if x.ndim == 1:
        raise BadDataset(
            f"{shown}: {what} is one value per example (shape {x.shape}); make it N x features "
            "(x[:, None] for one feature)"
        )
    if x.ndim > 4:
        raise BadDataset(
            f"{shown}: {what} has shape {x.shape}; use N x features, N x H x W or N x C x H x W"
        )
    x32 = x.astype(np.float32)
    bad = ~np.isfinite(x32.reshape(len(x32), -1)).all(axis=1)
    if bad.any():
        raise BadDataset(
            f"{shown}: {what} has NaN or infinite values in {int(bad.sum())} examples (first: "
            f"example {int(np.argmax(bad))}); drop or fill those examples (values must also fit "
            "float32)"
        )
    # N x F -> N x 1 x F (as mnist1d); N x H x W -> N x 1 x H x W (one channel)
    return x32[:, None] if x32.ndim in (2, 3) else x32


def _labels(y: np.ndarray, what: str, shown: str, text_ok: bool) -> np.ndarray:
    if y.ndim != 1:
        raise BadDataset(
            f"{shown}: {what} has shape {y.shape}; give one label per example (for one-hot "
            "labels, y.argmax(1))"
        )
    if y.dtype.kind in "biu":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or not (np.round(y) == y).all():
            first = y[~(np.isfinite(y) & (np.round(y) == y))][0]
            raise BadDataset(
                f"{shown}: {what} holds non-integer labels (e.g. {first}); labels must be whole "
                "class numbers: map them to 0..C-1"
            )
        return y.astype(np.int64)
    if text_ok and y.dtype.kind in "USO":
        return y.astype(str)
    raise BadDataset(
        f"{shown}: {what} holds non-integer labels (dtype {y.dtype}); save integer class numbers "
        "0..C-1"
    )


def validate(a: Arrays, shown: str, text_labels: bool = False) -> Clean:
    """The checked, canonical form of `a`, or BadDataset naming the first problem."""
    if a.y is None:
        raise BadDataset(f"{shown}: no labels; give one label per example")
    x, y = _inputs(a.x, "x", shown), _labels(a.y, "y", shown, text_labels)
    if len(x) != len(y):
        raise BadDataset(
            f"{shown}: x has {len(x)} examples but y has {len(y)} labels; give one label per "
            "example"
        )
    values = np.unique(y)
    if len(values) < 2:
        raise BadDataset(
            f"{shown}: every example has the label {values[0]}: a single class; a classifier "
            "needs at least 2 classes"
        )
    if len(values) > MAX_CLASSES:
        raise BadDataset(
            f"{shown}: {len(values)} classes, more than {MAX_CLASSES}; merge classes or check "
            "that y holds class labels, not values to regress"
        )
    x_val = y_val = None
    if a.x_val is not None and a.y_val is not None:
        x_val = _inputs(a.x_val, "x_val", shown)
        y_val = _labels(a.y_val, "y_val", shown, text_labels)
        if len(x_val) != len(y_val):
            raise BadDataset(
                f"{shown}: x_val has {len(x_val)} examples but y_val has {len(y_val)} labels; "
                "give one label per example"
            )
        if x_val.shape[1:] != x.shape[1:]:
            raise BadDataset(
                f"{shown}: x_val examples have shape {x_val.shape[1:]}, x's {x.shape[1:]}; "
                "make them equal"
            )
        unknown = np.setdiff1d(np.unique(y_val), values)
        if len(unknown):
            raise BadDataset(
                f"{shown}: y_val has label {unknown[0]}, a class with no training example; "
                "drop those examples or add training examples of that class"
            )
    lo = min(float(x.min()), float(x_val.min()) if x_val is not None else np.inf)
    hi = max(float(x.max()), float(x_val.max()) if x_val is not None else -np.inf)
    if lo == hi:
        raise BadDataset(f"{shown}: every input value is {lo:g}; the inputs carry no information")
    if y.dtype.kind in "iu" and np.array_equal(values, np.arange(len(values))):
        classes = tuple(str(v) for v in values)
    else:  # any other labels map to 0..C-1 in sorted order; their names are kept
        classes = tuple(str(v) for v in values)
        y = np.searchsorted(values, y)
        y_val = np.searchsorted(values, y_val) if y_val is not None else None
    return Clean(x, y.astype(np.int64), x_val, None if y_val is None else y_val.astype(np.int64),
                 classes)  # fmt: skip


def content_hash(c: Clean) -> str:
    """sha256 of the arrays (names, dtypes, shapes and bytes): what the data is, whatever the
    file it came from."""
    h = hashlib.sha256()
    for k, v in c.arrays().items():
        h.update(f"{k}|{v.dtype.str}|{v.shape}|".encode())
        h.update(np.ascontiguousarray(v).tobytes())
    return h.hexdigest()
