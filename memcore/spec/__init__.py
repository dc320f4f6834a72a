"""Run specifications: one frozen spec fully describes a run, and its hash is the cache key.

A `RunSpec` nests five frozen dataclasses of scalars and tuples (data, noise, model, train,
metrics). Every field carries its allowed values, unit and help once, as metadata
(memcore.spec.fields; `field_meta("train.lr")`); construction checks every field against it and
rejects an invalid value with a `ValueError` that names the field, the value and what is allowed.
Derive variants with `spec.replace(**{"noise.level": 0.5})` or `dataclasses.replace`. Named
presets: memcore.spec.presets.

`spec.key` = sha256(canonical JSON + CODE_VERSION): the same spec gives the same key in any
process; any field change gives a new key. Bump CODE_VERSION whenever results would change.

Flat form: `to_flat()` / `from_flat()` map a spec to {"section.field": value} (URL query params,
CLI flags, table columns); values may be strings there and are parsed to the field's type. The
text form both ways: memcore.spec.text. A spec in words (its description, its setting label
real / randX / randY): memcore.spec.words.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields  # `fields` is also our submodule spec.fields
from typing import Any

from memcore.datasets import REGISTRY
from memcore.spec.fields import FieldMeta, fail, meta_of, spec_field, validate_fields
from memcore.spec.schedule import csr_epochs
from memcore.spec.sections import (
    TASKS,
    DataSpec,
    MetricsSpec,
    ModelSpec,
    NoiseSpec,
    TrainSpec,
    check_dataset_fit,
)
from memcore.spec.text import parse_value

__all__ = [
    "CODE_VERSION",
    "SECTIONS",
    "DataSpec",
    "MetricsSpec",
    "ModelSpec",
    "NoiseSpec",
    "RunSpec",
    "TrainSpec",
    "field_meta",
    "field_types",
    "from_flat",
]

# 2: CSR after the last epoch; 3: first-layer filters stored; 4: mnist1d in its own
# representation (not min-max scaled), "/255" values relative to each dataset's value range,
# critical (probe, adversarial) pairs stored, and a tracked subset drawn independently of the
# noisy examples (it used to equal them first); 5: metrics.csr_schedule (CSR from epoch 0 on an
# early-dense schedule) and mnist1d's default CSR radius recalibrated (memcore.datasets)
CODE_VERSION = "5"

SECTIONS = {
    "data": DataSpec,
    "noise": NoiseSpec,
    "model": ModelSpec,
    "train": TrainSpec,
    "metrics": MetricsSpec,
}


def canonical_noise(n: NoiseSpec) -> NoiseSpec:
    """Level 0 corrupts no example: real data whatever the kind, so one spec and one key (kind
    none, the noise-only fields at their defaults)."""
    if n.level != 0 or (n.kind, n.x_stats, n.y_mode) == ("none", "global", "uniform"):
        return n
    return dataclasses.replace(n, kind="none", x_stats="global", y_mode="uniform")


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines a run's results; `task` picks what the worker computes."""

    data: DataSpec = field(default_factory=DataSpec)
    noise: NoiseSpec = field(default_factory=NoiseSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    metrics: MetricsSpec = field(default_factory=MetricsSpec)
    task: str = spec_field(
        "train",
        "train: the engine's records. sensitivity: unrolled loss-sensitivity (PAPER.md 4-5).",
        choices=TASKS,
    )

    def __post_init__(self) -> None:
        validate_fields(self, "")
        for name, cls in SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                fail(name, getattr(self, name), f"must be a {cls.__name__}")
        check_dataset_fit(self.data, REGISTRY[self.data.dataset])
        if self.model.arch == "cnn" and len(REGISTRY[self.data.dataset].input_shape) != 3:
            fail("model.arch", "cnn", f"the CNN needs image data; use mlp for {self.data.dataset}")
        if self.task == "sensitivity" and self.model.arch != "mlp":
            fail("model.arch", self.model.arch, "the sensitivity task supports mlp only")
        object.__setattr__(self, "noise", canonical_noise(self.noise))

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no spaces; tuples as lists."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        """A spec from {"section": {"field": value}, "task": ...}; missing fields keep their
        defaults. Anything else (a list, null, a section that is not an object, an unknown
        name) raises the spec's ValueError naming where it is."""
        if not isinstance(d, dict):
            fail("spec", d, 'must be an object {"data": {...}, "model": {...}, ...}')
        unknown = sorted(map(str, set(d) - set(SECTIONS) - {"task"}))
        if unknown:
            fail(
                unknown[0],
                next(v for k, v in d.items() if str(k) == unknown[0]),
                "unknown spec section",
            )
        parts = {}
        for name, sec in SECTIONS.items():
            values = d.get(name, {})
            if not isinstance(values, dict):
                fail(
                    name,
                    values,
                    f'must be an object of fields, e.g. {{"{dataclass_fields(sec)[0].name}": ...}}',
                )
            bad = sorted(map(str, set(values) - {f.name for f in dataclass_fields(sec)}))
            if bad:
                fail(
                    f"{name}.{bad[0]}",
                    next(v for k, v in values.items() if str(k) == bad[0]),
                    "unknown field",
                )
            parts[name] = sec(**values)
        return cls(**parts, task=d.get("task", "train"))

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        try:
            # A number too long for int() (over 4,300 digits) stays text, so the field it
            # belongs to rejects it by name instead of the parser failing without one.
            d = json.loads(text, parse_int=_json_int)
        except (ValueError, RecursionError) as e:
            fail("spec", text, f"is not JSON ({str(e)[:80]})")
        return cls.from_dict(d)

    @property
    def csr_epochs(self) -> tuple[int, ...]:
        """The epochs whose end measures CSR (memcore.spec.schedule: the one home)."""
        m = self.metrics
        return csr_epochs(m.csr_every, self.train.epochs, m.csr_schedule)

    @property
    def key(self) -> str:
        """Stable cache key: sha256 of canonical JSON plus CODE_VERSION (hex); on an imported
        dataset also its content hash, so a changed file under the same name never serves the
        old file's runs (built-in datasets' keys are unchanged)."""
        payload = self.to_json() + "|" + CODE_VERSION
        if content := REGISTRY[self.data.dataset].content_hash:
            payload += "|data:" + content
        return hashlib.sha256(payload.encode()).hexdigest()

    # -- flat form -------------------------------------------------------------------------
    def to_flat(self) -> dict[str, Any]:
        """{"data.dataset": "digits", ..., "task": "train"}."""
        flat: dict[str, Any] = {"task": self.task}
        for name in SECTIONS:
            for k, v in dataclasses.asdict(getattr(self, name)).items():
                flat[f"{name}.{k}"] = v
        return flat

    def replace(self, **changes: Any) -> RunSpec:
        """Copy with dotted-name changes, e.g. replace(**{"noise.level": 0.5}); strings parse."""
        return from_flat(changes, base=self)


def _json_int(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


def field_types() -> dict[str, type]:
    """Dotted field name -> Python type of its default (used to parse strings)."""
    out: dict[str, type] = {"task": str}
    for name, sec in SECTIONS.items():
        for f in dataclass_fields(sec):
            has_default = f.default is not dataclasses.MISSING
            out[f"{name}.{f.name}"] = type(f.default) if has_default else tuple
    return out


def field_meta(name: str) -> FieldMeta:
    """The metadata (allowed values, unit, help) of a dotted spec field, e.g. "train.lr"."""
    section, _, fname = name.rpartition(".")
    owner = SECTIONS[section] if section else RunSpec
    for f in dataclass_fields(owner):
        if f.name == fname and (meta := meta_of(f)) is not None:
            return meta
    raise KeyError(name)


def from_flat(flat: dict[str, Any], base: RunSpec | None = None) -> RunSpec:
    """Build a spec from {"section.field": value} (strings allowed), on top of `base`."""
    base = base or RunSpec()
    types = field_types()
    d = base.to_dict()
    for name, value in flat.items():
        if name not in types:
            fail(name, value, "unknown spec field")
        value = parse_value(name, value, types[name])
        if name == "task":
            d["task"] = value
        else:
            sec, fname = name.split(".", 1)
            d[sec][fname] = value
    return RunSpec.from_dict(d)
