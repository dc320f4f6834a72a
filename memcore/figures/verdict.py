"""A claim check's outcome: holds, fails or inconclusive, with its parts and the numbers behind it.

Regime first: every check first tests the preconditions of the regime its claim is about (the
figure's `regime`, e.g. "the noisy runs have fitted their training labels"). When one is not met
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

Claims as the source states them: the headline verdict reads the claim of the figure's source
(the poster; or the ICML or workshop paper, named by the figure's `source`), and its parts are
only the sub-claims that source states. Anything else a figure shows (a reference curve, where a
third setting falls, a plateau, which regularizer is flattest) is an `Observation`: a summary
and its numbers, shown beside the verdict, never changing it (`observe`).

Regime predicates, once: `learned` (a net has learned real data: accuracy at least
LEARNED_SHARE of the way from chance to 1, chance = 1 / classes) and `fitted` (a net has fitted
its training labels: training accuracy >= a threshold). Figures state their regime with these,
so the words and the thresholds' meaning are the same on every figure. The class count comes
from the frame (`classes`: a column every figure's frame carries, from the dataset registry).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

VERDICTS = ("holds", "fails", "inconclusive")
# "The net has learned": accuracy this share of the way from chance to 1 (0.28 with 10 classes,
# "well above chance" on both offline datasets: mnist1d's MLP reaches .38 on 500 examples).
LEARNED_SHARE = 0.2
FITTED = 0.95  # "the net has fitted its labels": training accuracy at least this (the default)


@dataclass(frozen=True)
class Verdict:
    """Outcome of a claim check: verdict in VERDICTS, a one-line summary, the numbers behind it,
    and the sub-verdicts of the claim's parts (name -> Verdict; empty for a one-part claim)."""

    verdict: str
    summary: str
    numbers: dict[str, Any] = field(default_factory=dict)
    parts: dict[str, Verdict] = field(default_factory=dict)
    observations: dict[str, Observation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} is invalid: must be one of {VERDICTS}")

    def to_dict(self) -> dict[str, Any]:
        out = {"verdict": self.verdict, "summary": self.summary, "numbers": jsonable(self.numbers)}
        if self.parts:
            out["parts"] = {name: p.to_dict() for name, p in self.parts.items()}
        if self.observations:
            out["observations"] = {n: o.to_dict() for n, o in self.observations.items()}
        return out


@dataclass(frozen=True)
class Observation:
    """Something a figure shows that is not the source's claim: reported with its numbers,
    never part of the verdict."""

    summary: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "numbers": jsonable(self.numbers)}


def observe(v: Verdict, observations: Mapping[str, Observation]) -> Verdict:
    """`v` with observations added (its verdict, summary, numbers and parts unchanged)."""
    return dataclasses.replace(v, observations={**v.observations, **observations})


def chance(df: pd.DataFrame) -> float:
    """1 / the number of classes of the frame's runs: its `classes` column (from the registry),
    else attrs["n_classes"] (set by Figure.evaluate from the registry)."""
    if "classes" in df and not df["classes"].dropna().empty:
        return 1.0 / float(df["classes"].dropna().iloc[0])
    if "n_classes" in df.attrs:
        return 1.0 / float(df.attrs["n_classes"])
    raise ValueError("frame is invalid: it has no 'classes' column (the dataset's classes)")


def learned_at(chance_: float, share: float = LEARNED_SHARE) -> float:
    """The accuracy that counts as "has learned": `share` of the way from chance to 1."""
    return chance_ + share * (1.0 - chance_)


def learned(
    acc: float,
    chance_: float,
    what: str = "real data's validation accuracy",
    share: float = LEARNED_SHARE,
) -> tuple[bool, str]:
    """(met, text) for the precondition "the net has learned": `what` >= learned_at."""
    need = learned_at(chance_, share)
    return bool(acc >= need), (
        f"{what} is only {pct(acc)} (has learned: >= {pct(need)}, {share:.0%} of the way from "
        f"chance {pct(chance_)} to 100%)"
    )


def pct(x: float) -> str:
    """A share in percent: one decimal below 10% (chance with 1,000 classes is 0.1%)."""
    return f"{x:.1%}" if abs(x) < 0.1 else f"{x:.0%}"


def fitted(acc: float, who: str, at_least: float = FITTED) -> tuple[bool, str]:
    """(met, text) for the precondition "`who` has fitted its training labels"."""
    return bool(acc >= at_least), (
        f"{who} fitted only {acc:.0%} of its training labels (fitted: >= {at_least:.0%})"
    )


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


def with_plan(v: Verdict, diff: float, se: float, n: int, members: int, groups: int = 2) -> Verdict:
    """An inconclusive `v` with how many members would decide it at the observed spread
    (metrics.spread.to_decide on its `n` values per group, from `members` members each:
    the values scale with the members); other verdicts unchanged."""
    from memcore.metrics import spread

    if v.verdict != "inconclusive" or n < 2:
        return v
    need = spread.to_decide(diff, se, n, groups=groups)
    if need is None:
        return v
    k = max(members + 1, int(np.ceil(need * members / n)))
    return dataclasses.replace(
        v,
        summary=f"{v.summary}; about {k} members would decide it at this spread",
        numbers={**v.numbers, "members_to_decide": k},
    )


def members_to_decide(v: Verdict) -> int | None:
    """The most members any open part of `v` asks for (None when none says)."""
    asks = [p for p in (v, *v.parts.values()) if "members_to_decide" in p.numbers]
    inner = [members_to_decide(p) for p in v.parts.values()]
    found = [p.numbers["members_to_decide"] for p in asks] + [k for k in inner if k]
    return max(found) if found else None
