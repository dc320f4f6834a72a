"""The paper's figures, one module each (PAPER.md "The experiments" 1-8).

`FIGURES` maps a name to its `Figure` (figures.figure): the spec grid at a scale, the tidy
frame of the stored results, and the claim check. Run one with memcore.sweeps.sweep (through the
job store) or `python -m memcore figure NAME`.
"""

from __future__ import annotations

from memcore.figures import (
    capacity,
    class_sensitivity,
    convergence,
    critical,
    easiness,
    filters,
    noise_levels,
    regularization,
    sensitivity,
    sharpness,
)
from memcore.figures.figure import SCALES, VERDICTS, Figure, RunData, Verdict

FIGURES: dict[str, Figure] = {
    r.name: r
    for r in (
        capacity.FIGURE,
        convergence.FIGURE,
        easiness.FIGURE,
        sensitivity.FIGURE,
        class_sensitivity.FIGURE,
        critical.FIGURE,
        noise_levels.FIGURE,
        regularization.FIGURE,
        sharpness.FIGURE,
        filters.FIGURE,
    )
}


def get(name: str) -> Figure:
    """The figure called `name`; ValueError listing the names otherwise."""
    if name not in FIGURES:
        raise ValueError(f"figure={name!r} is invalid: must be one of {', '.join(FIGURES)}")
    return FIGURES[name]


__all__ = ["FIGURES", "SCALES", "VERDICTS", "Figure", "RunData", "Verdict", "get"]
