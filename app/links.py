"""A run's link: RunSpec <-> URL query parameters. No Streamlit.

One default for the form and for links (`app_default`): the app's preset (APP_PRESET), with the
run defaults of the link's dataset when it names another one (what the form does when the
dataset changes). Links stay short: `short_params` keeps only the fields that differ from that
default, and `read_link` fills a partial or hand-written link's missing fields from it, so
"the rest are defaults" means the form's defaults. Unknown names and invalid values become
messages, never exceptions.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memcore.datasets import REGISTRY
from memcore.spec import RunSpec, field_types, from_flat
from memcore.spec.presets import APP_PRESET, preset
from memcore.spec.text import to_text

DATASET = "data.dataset"


def app_default(dataset: str | None = None) -> RunSpec:
    """The app's default run: APP_PRESET, on `dataset` with its run defaults (lr, batch
    size, CSR radius and early stop) when another dataset is named."""
    spec = preset(APP_PRESET)
    if dataset is None or dataset == spec.data.dataset or dataset not in REGISTRY:
        return spec
    return spec.replace(**{DATASET: dataset, **REGISTRY[dataset].run_defaults})


def short_params(spec: RunSpec) -> dict[str, str]:
    """{dotted field: text} for the fields that differ from app_default of the spec's dataset,
    and the dataset when not the default one (a short, exact link)."""
    out = to_text(spec, base=app_default(spec.data.dataset).to_flat())
    if spec.data.dataset != app_default().data.dataset:
        out = {DATASET: spec.data.dataset, **out}
    return out


def spec_params(params: Mapping[str, Any]) -> dict[str, str]:
    """The spec fields among URL parameters (others, like 'run', are ignored)."""
    types = field_types()
    return {k: params[k] for k in params if k in types}


@dataclass(frozen=True)
class Link:
    """A link's parameters read leniently: the spec of its valid fields (on app_default)
    and one message per problem (an unknown name, with the closest field; an invalid value, in
    the spec's words). No problems: `spec` is exactly the link's run."""

    spec: RunSpec
    problems: tuple[str, ...]


def _bad_field(message: str, names: Mapping[str, Any]) -> str | None:
    """The field a spec ValueError ("<field>=<value> is invalid: ...") names, if in `names`."""
    name = message.split("=", 1)[0].strip()
    return name if name in names else None


def read_link(params: Mapping[str, Any]) -> Link:
    """Read URL parameters: unknown names and invalid values become messages, the rest a spec."""
    types = field_types()
    problems = []
    for name in params:
        if name not in types:
            close = difflib.get_close_matches(name, list(types), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"unknown parameter {name}{hint}")
    good = dict(spec_params(params))
    while True:  # drop the field each error names, so every invalid one is reported
        try:
            base = app_default(good.get(DATASET))
            return Link(from_flat(good, base=base), tuple(problems))
        except ValueError as e:
            problems.append(str(e))
            bad = _bad_field(str(e), good)
            if bad is None:  # a rule across fields that names none of the link's: drop them all
                good = {}
            else:
                del good[bad]


def resolve_run(wanted: str, keys: list[str]) -> tuple[str | None, str | None]:
    """A ?run= value -> (the key among `keys` it names, None) or (None, why not). Any unique
    prefix names a run (the app and CLI print 12 characters); case and spaces do not matter."""
    w = wanted.strip().lower()
    if not w:
        return None, None
    found = [k for k in keys if k.startswith(w)]
    if len(found) == 1:
        return found[0], None
    if found:
        return None, f"{len(found)} runs have keys starting {w!r}: give more characters"
    return None, f"no training run with key {w[:12]!r} is stored"
