"""memcore.spec on hostile input: JSON of any shape gives a ValueError naming a field (never
another exception), numbers are canonical before hashing (1 and 1.0, -0 and 0: one key) while
every existing key stays what it was, and values echoed in messages are cut."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.spec import SECTIONS, RunSpec, field_types
from memcore.spec.fields import SHOWN_CHARS

NAMES = sorted(field_types())  # "data.dataset", ..., "task"
# The pinned preset/default keys (unchanged by canonicalising numbers) are checked once, in
# tests/test_spec_fields.py::test_keys_are_unchanged.


def _field_named(message: str) -> bool:
    """The message starts with "<name>=" where name is the spec, a section, a field (possibly
    with an index) or an unknown name from the input."""
    return "=" in message and " is invalid: " in message


@pytest.mark.parametrize(
    "text, name",
    [
        ("[1]", "spec"),
        ("null", "spec"),
        ("3", "spec"),
        ('"x"', "spec"),
        ("{", "spec"),
        ('{"model": [1]}', "model"),
        ('{"model": null}', "model"),
        ('{"train": {"lr": 1e400}}', "train.lr"),
        ('{"train": {"epochs": 1e400}}', "train.epochs"),
        ('{"train": {"lr": ' + "9" * 400 + "}}", "train.lr"),
        ('{"train": {"member_strengths": 5}}', "train.member_strengths"),
        ('{"train": {"member_strengths": "ab"}}', "train.member_strengths"),
        ('{"train": {"member_strengths": [[1]]}}', "train.member_strengths[0]"),
        ('{"train": {"member_strengths": {"a": 1}}}', "train.member_strengths"),
        ('{"data": {"dataset": {"a": 1}}}', "data.dataset"),
        ('{"bogus": 1}', "bogus"),
        ('{"model": {"bogus": 1}}', "model.bogus"),
    ],
)
def test_malformed_json_names_the_field(text: str, name: str) -> None:
    with pytest.raises(ValueError) as err:
        RunSpec.from_json(text)
    assert str(err.value).startswith(f"{name}="), str(err.value)


def test_the_cli_reports_bad_spec_json_in_one_line(memcore_env) -> None:
    for text, name in (("[1]", "spec"), ('{"model": [1]}', "model"), ("null", "spec")):
        out = subprocess.run(
            [sys.executable, "-m", "memcore", "submit", "--spec-json", text],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr and f"{name}=" in out.stderr, out.stderr


def test_numbers_are_canonical_before_hashing() -> None:
    a = RunSpec.from_dict({"train": {"lr": 1, "momentum": -0.0, "epochs": 20.0}})
    b = RunSpec.from_dict({"train": {"lr": 1.0, "momentum": 0, "epochs": 20}})
    assert a == b and a.key == b.key and a.to_json() == b.to_json()
    assert type(a.train.lr) is float and type(a.train.epochs) is int
    assert str(a.train.momentum) == "0.0"  # not -0.0
    t = {"regularizer": "dropout", "members": 2, "member_strengths": [0, -0.0]}
    s = RunSpec.from_dict({"train": t})
    assert s.train.member_strengths == (0.0, 0.0) and "-0" not in s.to_json()
    with pytest.raises(ValueError, match=r"train\.epochs=20\.5"):
        RunSpec.from_dict({"train": {"epochs": 20.5}})


def test_long_values_are_cut_in_messages() -> None:
    with pytest.raises(ValueError) as err:
        RunSpec().replace(**{"data.dataset": "x" * 100_000})
    msg = str(err.value)
    assert len(msg) < 400 and "100,002 characters" in msg


# -- property: any JSON value, in any position, gives a spec or the spec's ValueError -----------
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # nan and +-inf included
    st.text(max_size=20),
    st.sampled_from(["1e400", "-0", "cuda:999", "mps", "randY", "dropout", "mlp", "cnn"]),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def _spec_like(draw) -> object:
    """Mostly spec-shaped dicts (known sections and fields) with arbitrary values, sometimes
    arbitrary JSON altogether."""
    if draw(st.integers(0, 9)) == 0:
        return draw(_json)
    d: dict = {}
    for name in draw(st.lists(st.sampled_from(NAMES), max_size=6, unique=True)):
        if name == "task":
            d["task"] = draw(_json)
            continue
        sec, field = name.split(".")
        part = d.setdefault(sec, {})
        if isinstance(part, dict):
            part[field] = draw(_json)
        if draw(st.integers(0, 19)) == 0:
            d[sec] = draw(_json)  # a section that is not an object
    if draw(st.integers(0, 19)) == 0:
        d[draw(st.text(max_size=6))] = draw(_json)
    return d


@settings(max_examples=400, deadline=None)
@given(_spec_like())
def test_any_json_gives_a_spec_or_a_value_error_naming_a_field(d) -> None:
    text = json.dumps(d)
    try:
        spec = RunSpec.from_json(text)
    except ValueError as e:
        msg = str(e)
        assert _field_named(msg), msg
        names = {"spec", "task", *SECTIONS, *NAMES}
        if isinstance(d, dict):  # unknown names are named as the input spelled them
            names |= {str(k) for k in d}
            names |= {f"{s}.{k}" for s in SECTIONS if isinstance(d.get(s), dict) for k in d[s]}
        indexed = re.match(r"train\.member_strengths\[\d+\]=", msg)
        assert indexed or any(msg.startswith(f"{n}=") for n in names), msg
        assert len(str(e)) < 3 * SHOWN_CHARS + 200
        return
    assert RunSpec.from_json(spec.to_json()) == spec  # what is accepted round-trips
