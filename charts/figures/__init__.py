"""The paper's figure charts: a figure's tidy frame (memcore.figures) in, `alt.Chart` out.

One module per figure module of memcore.figures; `chart(name, df)` picks the builder by
the figure's name. Every builder returns a titled blank panel for an empty frame. Colours follow
the poster (charts.style): real blue, randX green, randY red; noise levels blue -> dark red.
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import pandas as pd

from charts.figures import (
    capacity,
    convergence,
    critical,
    easiness,
    filters,
    regularization,
    sensitivity,
    sharpness,
)

BUILDERS: dict[str, Callable[[pd.DataFrame], alt.TopLevelMixin]] = {
    "capacity": capacity.chart,
    "convergence": convergence.chart,
    "easiness": easiness.chart,
    "sensitivity": sensitivity.chart,
    "class-sensitivity": sensitivity.class_chart,
    "critical": critical.chart,
    "noise-levels": critical.levels_chart,
    "regularization": regularization.chart,
    "sharpness": sharpness.chart,
    "filters": filters.chart,
}


def chart(name: str, df: pd.DataFrame) -> alt.TopLevelMixin:
    """The chart of figure `name` (a key of memcore.figures.FIGURES) from its frame."""
    return BUILDERS[name](df)
