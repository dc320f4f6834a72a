"""Spec field metadata: each field's allowed values, unit and help, stated once.

`spec_field(default, ...)` makes a dataclass field that carries a `FieldMeta`. The spec's
validation reads it (memcore.spec: a section checks every field against its metadata, in field
order) and the app's form reads it (choices, limits, help). A check that needs other fields (the
strength range depends on the regularizer) is the field's `rule`: a function of the section,
run right after the field's own check, that raises with `fail`.

Every failure is a ValueError "<field>=<value> is invalid: <what is allowed>".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

META = "spec"  # the key of a FieldMeta in a dataclass field's metadata


SHOWN_CHARS = 60  # a value echoed in a message is cut here (a link may carry 100 KB)


def shown(value: Any) -> str:
    """repr(value), cut to SHOWN_CHARS characters with the full length said (an integer too
    long for Python to write out, over 4,300 digits, is described by its size)."""
    try:
        text = repr(value)
    except ValueError:  # int -> str conversion limit (sys.get_int_max_str_digits)
        return f"an integer of about {int(value.bit_length() * 0.30103):,} digits"
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}… ({len(text):,} characters)"


def fail(name: str, value: Any, allowed: str) -> None:
    """Raise the spec's ValueError naming the field, the value (cut) and what is allowed."""
    raise ValueError(f"{name}={shown(value)} is invalid: {allowed}")


def check_choice(name: str, value: Any, options: tuple) -> None:
    if value not in options:
        fail(name, value, "must be one of " + ", ".join(map(str, options)))


def check_int(name: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        fail(name, value, f"must be an integer in [{lo}, {hi}]")


def check_number(
    name: str, value: Any, lo: float, hi: float, *, open_hi: bool = False, what: str = ""
) -> None:
    # an int is finite whatever its size (math.isfinite(10**400) would raise OverflowError)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and (isinstance(value, int) or math.isfinite(value))
    if not ok or not lo <= value <= hi or (open_hi and value == hi):
        fail(name, value, f"{what}must be a number in [{lo}, {hi}{')' if open_hi else ']'}")


@dataclass(frozen=True)
class FieldMeta:
    """What one spec field means and allows.

    Either `choices` (a select) or a range [lo, hi] (integer or real; `open_lo` / `open_hi`
    exclude an end), or neither when `rule` does all the checking. Limits keep the type the
    messages print (0 for integers, 0.0 for reals).
    """

    help: str  # what the field means, for people (form tooltips, docs)
    unit: str = ""  # e.g. "epochs", "0-255 pixel units"; "" when it has none
    choices: tuple = ()
    lo: float | None = None
    hi: float | None = None
    integer: bool = False
    open_lo: bool = False  # lo itself is not allowed ("must be > lo")
    open_hi: bool = False  # hi itself is not allowed ([lo, hi))
    rule: Callable[[Any], None] | None = None  # check of the whole section, after this field's

    def check(self, name: str, value: Any) -> None:
        """Raise the spec's ValueError when `value` breaks the choices or the range."""
        if self.choices:
            check_choice(name, value, self.choices)
        elif self.lo is not None and self.hi is not None:
            if self.integer:
                check_int(name, value, int(self.lo), int(self.hi))
            else:
                check_number(name, value, self.lo, self.hi, open_hi=self.open_hi)
                if self.open_lo and value == self.lo:
                    fail(name, value, f"must be > {self.lo:g}")


def spec_field(
    default: Any,
    help: str,
    *,
    unit: str = "",
    choices: tuple = (),
    lo: float | None = None,
    hi: float | None = None,
    open_lo: bool = False,
    open_hi: bool = False,
    rule: Callable[[Any], None] | None = None,
) -> Any:
    """A dataclass field with its metadata; integer ranges for int defaults."""
    integer = isinstance(default, int) and not isinstance(default, bool)
    meta = FieldMeta(help, unit, choices, lo, hi, integer, open_lo, open_hi, rule)
    return dataclasses.field(default=default, metadata={META: meta})


def meta_of(f: dataclasses.Field) -> FieldMeta | None:
    """The FieldMeta of a dataclass field (None for a field without one)."""
    return f.metadata.get(META)


def _real(value: Any) -> Any:
    """A number of a real field as a float, -0.0 as 0.0 (1 and 1.0, -0 and 0: one key)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53:
        return float(value)
    return 0.0 if isinstance(value, float) and value == 0 else value


def canonical(name: str, value: Any, default: Any) -> Any:
    """The canonical form of a field's value, by the type of its default: an integral float
    for an integer field becomes an int, an int for a real field a float, -0.0 is 0.0, a list
    of numbers a tuple of floats. Anything else is returned as is for the check to reject."""
    if isinstance(default, bool):
        if not isinstance(value, bool):  # 1, 0, 1.0 would be another key for the same run
            fail(name, value, "must be one of True, False")
        return value
    if isinstance(default, int):
        ok = isinstance(value, float) and math.isfinite(value) and value.is_integer()
        return int(value) if ok else value
    if isinstance(default, float):
        return _real(value)
    if isinstance(default, tuple):
        if not isinstance(value, tuple | list):
            fail(name, value, "must be a list of numbers")
        return tuple(_real(v) for v in value)
    return value


def validate_fields(obj: Any, prefix: str) -> None:
    """Canonicalise (`canonical`) and check every field of the frozen dataclass `obj` against
    its metadata, in field order; a field's rule runs right after the field's own check. Names
    in messages are "<prefix>.<field>"."""
    for f in dataclasses.fields(obj):
        meta = meta_of(f)
        if meta is None:
            continue
        name = f"{prefix}.{f.name}" if prefix else f.name
        value = canonical(name, getattr(obj, f.name), f.default)
        object.__setattr__(obj, f.name, value)  # frozen: set once, while constructing
        meta.check(name, value)
        if meta.rule is not None:
            meta.rule(obj)
