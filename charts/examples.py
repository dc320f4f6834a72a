"""Examples drawn as pictures: images as pixel grids (one small panel each, a caption above),
1-D inputs (mnist1d) as line plots. Used for a run's easiest / hardest / most-forgotten training
examples and for critical samples beside their adversarial points.

`gallery(inputs, panels)` takes the inputs (N x C x H x W images with values in [0, 1], or
N x 1 x L / N x L signals) and one row per input in `panels`: caption (the panel's title,
lines separated by "\\n"), ink (a hex colour: grey images are drawn in it, white = 0; for RGB
images it is unused) and signed (True: a difference image in [-1, 1], drawn blue-white-red).
Pixel colours are computed here, so one chart mixes inks and scales.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from charts.style import RANDY, REAL

NEGATIVE, POSITIVE = REAL, RANDY  # a difference image: blue below 0, red above


def _hex(rgb_Nx3: np.ndarray) -> np.ndarray:
    """Colours in [0, 1] -> '#rrggbb' strings."""
    c = np.rint(np.clip(rgb_Nx3, 0, 1) * 255).astype(int)
    return np.array([f"#{r:02x}{g:02x}{b:02x}" for r, g, b in c])


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)])


def is_image(inputs: np.ndarray) -> bool:
    """N x C x H x W with H, W > 1 (else the inputs are drawn as signals)."""
    return inputs.ndim == 4 and inputs.shape[2] > 1 and inputs.shape[3] > 1


def pixel_frame(images: np.ndarray, panels: pd.DataFrame) -> pd.DataFrame:
    """N x C x H x W -> one row per pixel: caption, row, col, value (grey level or, for RGB,
    the mean over channels), color (hex). Values are clipped to [0, 1] for drawing (randX noise
    is not)."""
    x = np.asarray(images, dtype=np.float32)
    n, c, h, w = x.shape
    rows = []
    for i, p in enumerate(panels.itertuples(index=False)):
        if getattr(p, "signed", False):
            v = np.clip(x[i].mean(0), -1, 1)[..., None]
            toward = np.where(v < 0, _rgb(NEGATIVE), _rgb(POSITIVE))
            colors = 1 - np.abs(v) * (1 - toward)
        elif c == 3:
            colors = np.clip(x[i].transpose(1, 2, 0), 0, 1)
            v = colors.mean(-1, keepdims=True)
        else:
            v = np.clip(x[i, 0], 0, 1)[..., None]
            colors = 1 - v * (1 - _rgb(p.ink))
        rr, cc = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        rows.append(
            pd.DataFrame(
                {
                    "caption": p.caption,
                    "row": rr.ravel(),
                    "col": cc.ravel(),
                    "value": v[..., 0].ravel().round(3),
                    "color": _hex(colors.reshape(-1, 3)),
                }
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def signal_frame(signals: np.ndarray, panels: pd.DataFrame) -> pd.DataFrame:
    """N x 1 x L (or N x L) -> one row per point: caption, position, value, color."""
    x = np.asarray(signals, dtype=np.float32).reshape(len(signals), -1)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "caption": p.caption,
                    "position": np.arange(x.shape[1]),
                    "value": x[i],
                    "color": p.ink,
                }
            )  # fmt: skip
            for i, p in enumerate(panels.itertuples(index=False))
        ],
        ignore_index=True,
    )


def _facet(order: list[str], columns: int) -> dict:
    # captions carry "\n": split them into lines in the header
    header = alt.Header(
        labelExpr="split(datum.value, '\\n')", labelFontSize=11, labelPadding=4, labelColor="#333"
    )
    return {"facet": alt.Facet("caption:N", sort=order, title=None, header=header),
            "columns": columns, "spacing": {"row": 6, "column": 30}}  # fmt: skip


def gallery(
    inputs: np.ndarray,
    panels: pd.DataFrame,
    title: str = "",
    columns: int = 8,
    size: int = 84,
) -> alt.FacetChart:
    """One panel per input, captioned, in rows of `columns`; `size` pixels per panel side."""
    order = list(panels["caption"])
    if is_image(inputs):
        h, w = inputs.shape[2:]
        df = pixel_frame(inputs, panels)
        chart = (
            alt.Chart(df)
            .mark_rect()
            .encode(
                x=alt.X("col:O", axis=None),
                y=alt.Y("row:O", axis=None),
                color=alt.Color("color:N", scale=None),
                tooltip=[
                    alt.Tooltip("caption:N", title="example"),
                    "row:O",
                    "col:O",
                    alt.Tooltip("value:Q", format=".2f"),
                ],  # fmt: skip
            )
            .properties(width=size, height=round(size * h / w))
        )
    else:
        df = signal_frame(inputs, panels)
        chart = (
            alt.Chart(df)
            .mark_line(strokeWidth=1.5)
            .encode(
                x=alt.X("position:Q", axis=None),
                y=alt.Y("value:Q", axis=None),
                color=alt.Color("color:N", scale=None),
                tooltip=[
                    alt.Tooltip("caption:N", title="example"),
                    "position:Q",
                    alt.Tooltip("value:Q", format=".2f"),
                ],  # fmt: skip
            )
            .properties(width=size * 1.5, height=size * 0.75)
        )
    return (
        chart.facet(**_facet(order, columns))
        .properties(title=alt.Title(title, anchor="start") if title else "")
        .configure_view(stroke="#dddddd")
    )
