"""A spec's text form, both ways: {"section.field": "text"} (URL query parameters, CLI flags).

`to_text(spec)` writes it (`changed_only=True`: only the fields that differ from `RunSpec()`,
or from `base`'s flat form: a short and exact link); `memcore.spec.from_flat` reads it back,
each value through `parse_value`, so `from_flat(to_text(spec)) == spec` for every spec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memcore.spec.fields import fail

if TYPE_CHECKING:
    from memcore.spec import RunSpec

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def value_text(value: Any) -> str:
    """One field's value as text: booleans as true/false, tuples comma-separated."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(value_text(v) for v in value)
    return str(value)  # a float's str is its shortest exact form (repr)


def to_text(
    spec: RunSpec, *, changed_only: bool = False, base: dict[str, Any] | None = None
) -> dict[str, str]:
    """{dotted field: text} of every field, or only of those that differ from RunSpec()
    (`changed_only`) or from `base` ({dotted field: value})."""
    default = base if base is not None else type(spec)().to_flat() if changed_only else {}
    flat = spec.to_flat()
    return {k: value_text(v) for k, v in flat.items() if k not in default or v != default[k]}


def parse_value(name: str, value: Any, typ: type) -> Any:
    """Field `name`'s value read from text as `typ` (non-strings pass; a list becomes a tuple);
    the spec's ValueError naming the field when the text cannot be read so."""
    if not isinstance(value, str) or typ is str:
        return tuple(value) if typ is tuple and isinstance(value, list) else value
    text = value.strip()
    try:
        if typ is bool:
            if text.lower() in TRUE:
                return True
            if text.lower() in FALSE:
                return False
            raise ValueError
        if typ is int:
            return int(float(text)) if float(text).is_integer() else float(text)
        if typ is float:
            return float(text)
        if typ is tuple:
            return tuple(float(t) for t in text.replace(";", ",").split(",") if t.strip())
    except ValueError:
        fail(name, value, f"cannot be read as {typ.__name__}")
    return value
