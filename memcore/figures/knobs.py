"""A figure's knobs: the values a user may change from its defaults.

Two kinds, both written NAME=VALUE (`figure NAME --set train.members=8 --set widths=8,64,512`,
the figure page's knob fields, the page URL):
- spec knobs (SPEC_KNOBS): a spec field set on every spec of the sweep (members or seeds per
  run, epochs, training-set size, batch size, learning rate). Values are checked by the spec
  itself (its ValueError names the field and what is allowed).
- grid knobs (GRID_KNOBS): the figure's axes, replacing its grid's entry of that name (widths,
  noise levels, dataset sizes, seeds compared). A figure offers those its grid has.
A figure refuses a knob that would undo what it measures (`Figure.fixed`: e.g. easiness is
"after one epoch", so no train.epochs; regularization's members are its regularizer values).

`tune(fig, {name: value})` gives the figure with the knobs applied (Figure.knobs), so every
layer that takes a Figure (sweeps, the page, the demo caps) runs the changed grid; `changes`
says in words what differs from the figure's defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from memcore.figures.verdict import members_to_decide
from memcore.spec import RunSpec

SPEC_KNOBS = ("train.members", "train.epochs", "data.train_size", "train.batch_size", "train.lr")
# grid knob -> (element type, lowest value, highest value, what it is)
GRID_KNOBS: dict[str, tuple[type, float, float, str]] = {
    "widths": (int, 1, 65_536, "hidden units per layer, one curve point each"),
    "levels": (float, 0.0, 1.0, "noise levels (fractions), one curve each"),
    "sizes": (int, 10, 1_000_000, "training-set sizes (examples)"),
    "seeds": (int, 1, 1_000, "seeds per compared setting (one run each)"),
}


def parse(items: Iterable[str]) -> dict[str, str]:
    """{"train.members": "8", ...} from ["train.members=8", ...] (the CLI's --set); a later
    item wins. ValueError naming the item that is not NAME=VALUE."""
    out: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise ValueError(f"--set {item!r} is invalid: write NAME=VALUE, e.g. train.members=8")
        out[name.strip()] = value.strip()
    return out


def offered(fig: Any) -> tuple[str, ...]:
    """The knob names `fig` accepts: spec knobs, then the grid knobs its grid has."""
    grid_names = {k for g in fig.grids.values() for k in g} & set(GRID_KNOBS)
    names = (*SPEC_KNOBS, *(k for k in GRID_KNOBS if k in grid_names))
    return tuple(n for n in names if n not in fig.fixed)


def value(name: str, raw: Any) -> Any:
    """The knob's value from text (or a value): a grid knob's tuple (seeds: one int), a spec
    knob's field value. ValueError naming the knob and what is allowed."""
    if name in GRID_KNOBS:
        typ, lo, hi, what = GRID_KNOBS[name]
        text = raw if isinstance(raw, str) else ",".join(map(str, _items(raw)))
        try:
            vals = tuple(typ(float(t)) for t in text.replace(";", ",").split(",") if t.strip())
        except ValueError:
            vals = ()
        bad = (
            not vals
            or any(not lo <= v <= hi for v in vals)
            or (typ is int and any(float(t) != int(float(t)) for t in text.split(",") if t.strip()))
        )
        if bad or (name == "seeds" and len(vals) != 1):
            count = "one whole number" if name == "seeds" else "comma-separated numbers"
            raise ValueError(
                f"{name}={raw!r} is invalid: {what}; {count} in [{lo:g}, {hi:g}], e.g. "
                + ("8" if name == "seeds" else "8,64,512" if typ is int else "0,0.5,1")
            )
        return vals[0] if name == "seeds" else tuple(sorted(set(vals)))
    spec = RunSpec().replace(**{name: raw})  # the spec's own check names the field
    section, field = name.split(".")
    return getattr(getattr(spec, section), field)


def _items(v: Any) -> list:
    return list(v) if isinstance(v, list | tuple) else [v]


def tune(fig: Any, knobs: Mapping[str, Any]) -> Any:
    """`fig` with `knobs` applied on top of any it has (module docstring). ValueError names
    an unknown or refused knob (with the ones offered) or a bad value."""
    allowed = offered(fig)
    out: dict[str, Any] = dict(fig.knobs)
    for name, raw in knobs.items():
        if name in fig.fixed:
            raise ValueError(f"{name} is fixed for {fig.name}: {fig.fixed[name]}")
        if name not in allowed:
            raise ValueError(f"{name} is not a knob of {fig.name}: use one of {', '.join(allowed)}")
        out[name] = value(name, raw)
    return dataclasses.replace(fig, knobs=tuple(sorted(out.items())))


def defaults(fig: Any, dataset: str, scale: str) -> dict[str, Any]:
    """Each offered knob's value in the untuned figure at `scale` (spec knobs: the first
    spec's; grid knobs: the grid's entry)."""
    base = dataclasses.replace(fig, knobs=())
    first = base.grid(dataset, scale)[0]
    out: dict[str, Any] = {}
    for name in offered(fig):
        if name in GRID_KNOBS:
            v = fig.grids.get(scale, {}).get(name)
            if v is not None:
                out[name] = max(v.values()) if isinstance(v, dict) else v
        else:
            section, field = name.split(".")
            out[name] = getattr(getattr(first, section), field)
    return out


def text(v: Any) -> str:
    """A knob value as the URL and the CLI write it."""
    return (
        ",".join(f"{x:g}" for x in v)
        if isinstance(v, tuple)
        else f"{v:g}"
        if isinstance(v, float)
        else str(v)
    )


def changes(fig: Any, dataset: str, scale: str) -> str:
    """ "changed from the figure's defaults: train.members 6 -> 8; widths 8,32 -> 16,64" or ""."""
    if not fig.knobs:
        return ""
    base = defaults(fig, dataset, scale)
    rows = [
        f"{n} {text(base[n]) if n in base else '?'} -> {text(v)}"
        for n, v in fig.knobs
        if n not in base or base[n] != v
    ]
    return "changed from the figure's defaults: " + "; ".join(rows) if rows else ""


def second_stage(fig: Any, verdict: Any, dataset: str, scale: str) -> tuple[str, int] | None:
    """(knob, count) of the one second stage an open `verdict` asks for: the members (or seeds)
    that would decide it at the observed spread (figures.verdict.members_to_decide). None when
    the verdict is decided, names no count, the figure has no such knob, or the user already
    raised it (one second stage, decided before looking again; never more until it flips)."""
    need = members_to_decide(verdict)
    if verdict.verdict != "inconclusive" or not need:
        return None
    name = "seeds" if "seeds" in offered(fig) else "train.members"
    if name not in offered(fig):
        return None
    base = defaults(fig, dataset, scale).get(name)
    now = dict(fig.knobs).get(name, base)
    if base is not None and now is not None and now > base:
        return None
    return name, need
