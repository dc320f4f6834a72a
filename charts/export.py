"""Charts as files: PNG or SVG rendered by vl-convert (no browser needed)."""

from __future__ import annotations

import altair as alt


def svg(vl_spec: dict | str) -> str:
    """SVG text of a Vega-Lite spec (a dict or its JSON)."""
    import vl_convert as vlc  # imported when first used: a second or so at startup

    return vlc.vegalite_to_svg(vl_spec)


def png(vl_spec: dict | str, scale: float = 1.5) -> bytes:
    """PNG bytes of a Vega-Lite spec; `scale` multiplies its pixel size."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(vl_spec, scale=scale)


def export_image(chart: alt.TopLevelMixin, fmt: str = "png", scale: float = 2.0) -> bytes:
    """A chart as PNG or SVG bytes (fmt 'png' | 'svg')."""
    if fmt == "png":
        return png(chart.to_json(), scale=scale)
    if fmt == "svg":
        return svg(chart.to_json()).encode()
    raise ValueError(f"format={fmt!r} is invalid: must be png or svg")
