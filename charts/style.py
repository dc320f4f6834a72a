"""The poster's look, shared by every chart so one colour means one thing.

Palette:
- real data / clean examples: blue   REAL  = #1f77b4
- randX (Gaussian inputs):     green  RANDX = #2ca02c
- randY (random labels):       red    RANDY = #d62728
- validation accuracy:         dark grey, dashed (always clean data)
- null references:             grey (dashed)
Noisy training examples take the colour of their noise kind (`noise_color`), so "noisy" is green
in a randX run and red in a randY run, and clean examples are always blue. Noise levels go from
blue (real, level 0) through orange to dark red (`level_scale`).
"""

from __future__ import annotations

from collections.abc import Iterable

import altair as alt
import numpy as np
import pandas as pd

from memcore.spec.words import SETTINGS

REAL = "#1f77b4"
RANDX = "#2ca02c"
RANDY = "#d62728"
VAL = "#444444"
REFERENCE = "#7f7f7f"
KIND_COLORS = dict(zip(SETTINGS, (REAL, RANDX, RANDY), strict=True))  # by setting(spec)
NOISE_RAMP = ["#fdae61", "#f46d43", "#d73027", "#a50026", "#67001f"]

SETTING_SCALE = alt.Scale(domain=list(SETTINGS), range=[KIND_COLORS[s] for s in SETTINGS])

# A figure's state and its symbol: plain text characters every common font has (the report and
# the pages need no emoji font), defined once in VERDICT_LEGEND.
VERDICT_SYMBOL = {"holds": "✓", "fails": "✗", "inconclusive": "?", "not run": "–", "running": "…"}
VERDICT_WORDS = {"holds": "the claim holds on these runs", "fails": "the claim does not hold",
                 "inconclusive": "not enough evidence either way", "not run": "no run stored yet",
                 "running": "runs still queued or running: no verdict yet"}  # fmt: skip
VERDICT_LEGEND = "; ".join(f"{VERDICT_SYMBOL[k]} {k}: {v}" for k, v in VERDICT_WORDS.items())

HEIGHT = 330  # a run chart's whole box: Streamlit fits title, axes and legend inside it
W, H = 280, 220  # one panel of a paper figure (pixels)


# Tooltips show at most 4 significant digits ("0.1333", not "0.133333340287") where a chart
# gives no format of its own: Altair's default theme plus Vega-Lite's tooltipFormat.
@alt.theme.register("memorization", enable=True)
def _theme() -> alt.theme.ThemeConfig:
    return alt.theme.ThemeConfig(
        {
            "config": {
                "view": {"continuousWidth": 300, "continuousHeight": 300},
                "tooltipFormat": {"numberFormat": ",.4~g"},
            }
        }
    )


# -- interaction: every line chart zooms and pans, and its legend hides and shows series --------
FADED = 0.06  # opacity of a series hidden from its legend (a trace stays, so the axis holds)


def zoom(name: str = "zoom") -> alt.Parameter:
    """Scales bound to the mouse: drag pans, the wheel zooms, a double-click resets. Each panel
    of a concatenated chart takes its own `name` (Vega-Lite rejects one name twice in a spec)."""
    return alt.selection_interval(bind="scales", name=name)


def legend_toggle(field: str, name: str = "shown") -> alt.Parameter:
    """A click on a legend entry shows that series alone; shift-click adds more; a click on
    empty space (or a double-click) shows all again."""
    return alt.selection_point(fields=[field], bind="legend", name=name)


def shown(toggle: alt.Parameter, on: float = 1.0) -> alt.OpacityValue:
    """Opacity `on` for series the legend shows, FADED for hidden ones."""
    return alt.condition(toggle, alt.value(on), alt.value(FADED * on))


def noise_color(kind: str) -> str:
    """Colour of a setting (real -> blue, randX -> green, randY -> red); KeyError otherwise."""
    return KIND_COLORS[kind]


def group_scale(noise_kind: str, present: Iterable[str] = ("clean", "noisy")) -> alt.Scale:
    """clean -> blue, noisy -> the noise kind's colour; only groups present get a legend entry."""
    colors = {"clean": REAL, "noisy": noise_color(noise_kind)}
    domain = [g for g in ("clean", "noisy") if g in set(present)] or ["clean"]
    return alt.Scale(domain=domain, range=[colors[g] for g in domain])


def level_scale(levels: Iterable[float]) -> alt.Scale:
    """Colour per noise level: real (0) blue, then orange -> dark red with the level."""
    levels = sorted({float(v) for v in levels})
    noisy = [v for v in levels if v > 0]
    idx = np.linspace(0, len(NOISE_RAMP) - 1, max(len(noisy), 1)).round().astype(int)
    colors = ([REAL] if 0.0 in levels else []) + [NOISE_RAMP[i] for i in idx[: len(noisy)]]
    return alt.Scale(domain=levels, range=colors)


def empty(title: str) -> alt.Chart:
    """A blank panel with a title: what a figure shows before any run has finished."""
    return alt.Chart(pd.DataFrame({"x": []})).mark_point().properties(title=title, width=W)
