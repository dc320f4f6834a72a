"""The paper's experiments as recipes (PAPER.md "The experiments" 1-8).

`RECIPES` maps a name to its `Recipe` (experiments.recipe): the spec grid at a scale, the tidy
frame of the stored results, and the claim check. Run one with memcore.sweeps.sweep (through the
job store) or `python -m memcore figure NAME`.
"""

from __future__ import annotations

from memcore.experiments import (
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
from memcore.experiments.recipe import SCALES, VERDICTS, Recipe, RunData, Verdict

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        capacity.RECIPE,
        convergence.RECIPE,
        easiness.RECIPE,
        sensitivity.RECIPE,
        class_sensitivity.RECIPE,
        critical.RECIPE,
        noise_levels.RECIPE,
        regularization.RECIPE,
        sharpness.RECIPE,
        filters.RECIPE,
    )
}


def get(name: str) -> Recipe:
    """The recipe called `name`; ValueError listing the names otherwise."""
    if name not in RECIPES:
        raise ValueError(f"figure={name!r} is invalid: must be one of {', '.join(RECIPES)}")
    return RECIPES[name]


__all__ = ["RECIPES", "SCALES", "VERDICTS", "Recipe", "RunData", "Verdict", "get"]
