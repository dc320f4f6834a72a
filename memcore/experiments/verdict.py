"""A claim check's outcome: holds, fails or inconclusive, with its parts and the numbers behind it.

Regime first: every check first tests the preconditions of the regime its claim is about (the
recipe's `regime`, e.g. "the noisy runs have fitted their training labels"). When one is not met
the verdict is "inconclusive" and names the failed precondition with its measured value
(`unmet`); a check never says "holds" or "fails" about a net outside the claim's regime.

Parts: a claim with parts (e.g. "randY is slower than real" and "noisy time grows faster with
dataset size") gets one sub-verdict per part in `Verdict.parts`; `combine` gives the overall
verdict:
- "holds" only if every part holds;
- "fails" if any part fails (a part fails only with its own preconditions met: a part whose
  regime was not reached is inconclusive);
- "inconclusive" otherwise (no part fails, at least one could not be decided).
The overall summary says which parts hold, fail and are open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

VERDICTS = ("holds", "fails", "inconclusive")


@dataclass(frozen=True)
class Verdict:
    """Outcome of a claim check: verdict in VERDICTS, a one-line summary, the numbers behind it,
    and the sub-verdicts of the claim's parts (name -> Verdict; empty for a one-part claim)."""

    verdict: str
    summary: str
    numbers: dict[str, Any] = field(default_factory=dict)
    parts: dict[str, Verdict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} is invalid: must be one of {VERDICTS}")

    def to_dict(self) -> dict[str, Any]:
        out = {"verdict": self.verdict, "summary": self.summary, "numbers": jsonable(self.numbers)}
        if self.parts:
            out["parts"] = {name: p.to_dict() for name, p in self.parts.items()}
        return out


def inconclusive(reason: str, **numbers: Any) -> Verdict:
    return Verdict("inconclusive", reason, numbers)


def unmet(conditions: Iterable[tuple[bool, str]], **numbers: Any) -> Verdict | None:
    """The "inconclusive" verdict naming every precondition not met, or None when all are met.

    `conditions`: (met, text) pairs; the text states the precondition's measured value, e.g.
    (fit >= 0.95, f"randY 75% fitted only {fit:.0%} of its labels after 60 epochs")."""
    failed = [text for met, text in conditions if not met]
    if not failed:
        return None
    return inconclusive("regime not reached: " + "; ".join(failed), **numbers)


def combine(parts: Mapping[str, Verdict], numbers: dict[str, Any] | None = None) -> Verdict:
    """The overall verdict of a claim with parts (rules in the module docstring)."""
    if not parts:
        raise ValueError("parts is invalid: a claim needs at least one part")
    kinds = [p.verdict for p in parts.values()]
    if all(k == "holds" for k in kinds):
        overall = "holds"
    elif "fails" in kinds:
        overall = "fails"
    else:
        overall = "inconclusive"
    tally = ", ".join(
        f"{v}: {', '.join(n for n, p in parts.items() if p.verdict == v)}"
        for v in VERDICTS
        if v in kinds
    )
    detail = "; ".join(f"[{n}] {p.summary}" for n, p in parts.items())
    return Verdict(overall, f"{tally}. {detail}", dict(numbers or {}), dict(parts))


def rnd(x: Any, digits: int = 3) -> Any:
    """Round floats for summaries and JSON; leave others alone."""
    if isinstance(x, float | np.floating):
        return None if not np.isfinite(x) else round(float(x), digits)
    return x


def jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, float | np.floating):
        return rnd(x, 4)
    return x
