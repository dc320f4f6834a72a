"""memcore.spec and memcore.spec.presets: validation names the field, canonical JSON, stable keys,
flat form, presets."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore import spec as S
from memcore.datasets import DATASETS, REGISTRY
from memcore.spec import RunSpec, field_meta, field_types, from_flat
from memcore.spec.presets import PRESETS, preset
from memcore.spec.text import to_text

# A base where every field matters (noise on, a regularizer with a range), so each field has a
# valid alternative value.
BASE = preset(
    "digits-mlp",
    **{"noise.kind": "randY", "noise.level": 0.2, "train.regularizer": "dropout",
       "train.strength": 0.1},
)  # fmt: skip
OPTION_TUPLES = [c for n in field_types() if (c := field_meta(n).choices) and isinstance(c[0], str)]
OPTION_TUPLES.append(DATASETS)  # data.dataset is checked against the registry, not choices


def _candidates(name: str, value):
    """Plausible alternatives to `value`, tried in order until one gives a valid spec."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, str):
        return [o for t in OPTION_TUPLES if value in t for o in t if o != value] + ["cpu", "cuda"]
    if isinstance(value, int):
        return [value + 1, value - 1, 1, 2]
    if isinstance(value, float):
        return [value / 2, value * 2, value + 0.1, 0.5, 1.0]
    if isinstance(value, tuple):
        return [(0.3,), (0.3, 0.4)]
    raise AssertionError(f"no candidates for {name}")


def _alternative(name: str) -> RunSpec:
    current = BASE.to_flat()[name]
    for c in _candidates(name, current):
        if c == current:
            continue
        try:
            return BASE.replace(**{name: c})
        except ValueError:
            continue
    raise AssertionError(f"found no valid alternative value for {name}")


def test_key_changes_with_every_field():
    keys = {"base": BASE.key}
    for name in field_types():
        alt = _alternative(name)
        assert alt.to_flat()[name] != BASE.to_flat()[name]
        keys[name] = alt.key
    assert len(set(keys.values())) == len(keys), "two different specs share a key"


_KEY_SCRIPT = """
import json, sys
from memcore.spec.presets import PRESETS, preset
from memcore.spec.text import to_text
print(json.dumps({n: preset(n).key for n in PRESETS}))
"""


def test_key_stable_across_processes():
    here = {n: preset(n).key for n in PRESETS}
    for _ in range(2):  # two fresh interpreters (different hash seeds)
        out = subprocess.run(
            [sys.executable, "-c", _KEY_SCRIPT], capture_output=True, text=True, check=True
        )
        assert json.loads(out.stdout) == here


def test_key_is_sha256_hex_and_depends_on_code_version(monkeypatch):
    key = BASE.key
    assert len(key) == 64 and int(key, 16) >= 0
    monkeypatch.setattr(S, "CODE_VERSION", S.CODE_VERSION + "x")
    assert BASE.key != key


# Invalid values per field: a wrong type or option for every field, via the flat (dotted) path.
def _invalid_values(name: str, value):
    if isinstance(value, bool):
        return [2, "maybe"]
    if isinstance(value, str):
        return ["bogus", 3]
    if isinstance(value, int):
        return [-1, 10**12, 1.5, "x"]
    if isinstance(value, float):
        return [-1.0, 1e9, math.nan, math.inf, "x"]
    if isinstance(value, tuple):
        return [(-1.0,), (0.1, 0.2, 0.3)]
    raise AssertionError(name)


@pytest.mark.parametrize("name", sorted(field_types()))
def test_every_invalid_field_is_rejected_with_its_name(name):
    current = BASE.to_flat()[name]
    for bad in _invalid_values(name, current):
        with pytest.raises(ValueError) as err:
            BASE.replace(**{name: bad})
        assert name in str(err.value), (bad, str(err.value))


# Numeric ranges, as the fields' metadata states them: (lo, hi) inclusive.
RANGES = {
    "data.train_size": (0, 10_000_000),
    "data.downscale": (0, 1024),
    "data.val_fraction": (0.0, 0.9),
    "data.seed": (0, 2**31 - 1),
    "noise.level": (0.0, 1.0),
    "noise.seed": (0, 2**31 - 1),
    "model.width": (1, 65536),
    "model.depth": (1, 16),
    "model.width_mult": (0.0, 16.0),
    "train.lr": (0.0, 100.0),
    "train.momentum": (0.0, 1.0),
    "train.step_epochs": (1, 100_000),
    "train.gamma": (0.0, 1.0),
    "train.batch_size": (1, 1_000_000),
    "train.epochs": (1, 100_000),
    "train.members": (1, 4096),
    "train.seed": (0, 2**31 - 1),
    "train.strength": (0.0, 0.95),  # with BASE's dropout
    "train.adv_weight": (0.0, 1.0),
    "metrics.eval_every": (1, 100_000),
    "metrics.track_size": (0, 100_000),
    "metrics.early_steps": (0, 100_000),
    "metrics.csr_every": (0, 100_000),
    "metrics.csr_probes": (1, 100_000),
    "metrics.csr_radius": (0.0, 255.0),
    "metrics.csr_alpha": (0.0, 255.0),
    "metrics.csr_beta": (0.0, 255.0),
    "metrics.csr_iters": (1, 10_000),
    "metrics.csr_min_new": (0, 100_000),
    "metrics.sens_every": (1, 100_000),
    "metrics.sens_class_every": (1, 100_000),
}


def test_range_table_covers_every_numeric_field():
    numeric = {n for n, t in field_types().items() if t in (int, float)}
    assert numeric == set(RANGES)


def test_range_table_is_the_field_metadata():
    for name, (lo, hi) in RANGES.items():
        meta = field_meta(name)
        if name != "train.strength":  # its range depends on the regularizer
            assert (meta.lo, meta.hi) == (lo, hi), name


@st.composite
def _out_of_range(draw):
    name = draw(st.sampled_from(sorted(RANGES)))
    lo, hi = RANGES[name]
    typ = field_types()[name]
    if typ is int:
        v = draw(st.one_of(st.integers(max_value=lo - 1), st.integers(min_value=hi + 1)))
    else:
        v = draw(
            st.one_of(
                st.floats(max_value=lo, exclude_max=True, allow_nan=False),
                st.floats(min_value=hi, exclude_min=True, allow_nan=False),
            )
        )
    return name, v


@settings(max_examples=200, deadline=None)
@given(_out_of_range())
def test_out_of_range_numbers_rejected(case):
    name, v = case
    with pytest.raises(ValueError) as err:
        BASE.replace(**{name: v})
    assert name in str(err.value)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_in_range_numbers_accepted_unless_a_rule_says_otherwise(data):
    name = data.draw(st.sampled_from(sorted(RANGES)))
    lo, hi = RANGES[name]
    if field_types()[name] is int:
        v = data.draw(st.integers(lo, hi))
    else:
        v = data.draw(st.floats(lo, hi, allow_nan=False))
    try:
        s = BASE.replace(**{name: v})
    except ValueError as e:
        # Documented exceptions inside the range: open ends, downscale 1 or larger than the
        # dataset's images (digits: 8 x 8), lr/gamma/width_mult 0.
        assert name in str(e)
        too_big = name == "data.downscale" and v > REGISTRY[BASE.data.dataset].input_shape[-1]
        assert (name, v) in {("data.downscale", 1), ("train.momentum", 1.0)} or v == 0 or too_big
        return
    assert s.to_flat()[name] == v


def _random_spec(draw) -> RunSpec:
    changes = {}
    for name in draw(st.lists(st.sampled_from(sorted(RANGES)), max_size=6, unique=True)):
        lo, hi = RANGES[name]
        if field_types()[name] is int:
            changes[name] = draw(st.integers(lo, hi))
        else:
            changes[name] = draw(st.floats(lo, hi, allow_nan=False))
    try:
        return BASE.replace(**changes)
    except ValueError:
        return BASE


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_json_round_trip(data):
    s = _random_spec(data.draw)
    back = RunSpec.from_json(s.to_json())
    assert back == s and back.key == s.key and back.to_json() == s.to_json()


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_text_round_trip(data):
    s = _random_spec(data.draw)
    assert from_flat(to_text(s)) == s and from_flat(to_text(s, changed_only=True)) == s


def test_canonical_json_is_sorted_and_compact():
    text = BASE.to_json()
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_valid_and_round_trip(name):
    s = preset(name)
    assert s.data.dataset in DATASETS
    assert RunSpec.from_json(s.to_json()) == s
    for field, value in PRESETS[name].items():
        assert s.to_flat()[field] == value


def test_unknown_preset_and_fields_are_named():
    with pytest.raises(ValueError, match="preset"):
        preset("nope")
    with pytest.raises(ValueError, match="data.bogus"):
        from_flat({"data.bogus": 1})
    with pytest.raises(ValueError, match="model.nope"):
        RunSpec.from_dict({"model": {"nope": 1}})


def test_from_flat_parses_strings():
    s = from_flat(
        {
            "noise.kind": "randY",
            "noise.level": "0.5",
            "data.balanced": "false",
            "data.train_size": "100",
            "train.members": "2",
            "train.regularizer": "dropout",
            "train.member_strengths": "0.1, 0.2",
            "metrics.sharpness": "yes",
        }
    )
    assert s.noise.level == 0.5 and s.data.balanced is False and s.data.train_size == 100
    assert s.train.member_strengths == (0.1, 0.2) and s.metrics.sharpness is True
    with pytest.raises(ValueError, match="data.train_size"):
        from_flat({"data.train_size": "1.5"})
    with pytest.raises(ValueError, match="data.balanced"):
        from_flat({"data.balanced": "perhaps"})


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_flat_text_round_trip(name):
    k = preset(name).train.members  # one strength per member
    s = preset(name, **{"train.regularizer": "dropout", "train.member_strengths": (0.25,) * k})
    text = to_text(s)
    assert set(text) == set(s.to_flat()) and all(isinstance(v, str) for v in text.values())
    assert from_flat(text) == s
    short = to_text(s, changed_only=True)
    assert short.items() <= text.items() and "train.regularizer" in short
    assert from_flat(short) == s


@pytest.mark.parametrize("kind", ["randX", "randY"])
def test_noise_level_0_is_real_data_whatever_the_kind(kind):
    """One spec, one key: level 0 corrupts nothing, so randX 0 and randY 0 are real data (kind
    none, noise-only fields at their defaults); real data's pinned keys do not move."""
    real = preset("digits-mlp")
    zero = preset("digits-mlp", **{"noise.kind": kind, "noise.level": 0.0, "noise.y_mode": "other"})
    assert zero == real and zero.key == real.key and zero.noise.kind == "none"
    assert preset("digits-mlp", **{"noise.kind": kind, "noise.level": 0.1}).noise.kind == kind


def test_a_run_stored_under_an_old_level_0_key_stays_readable(memcore_env, monkeypatch):
    """A randY-0 run stored before level 0 became real data keeps its key: its status, spec and
    records read back by that key (its spec reads as the real-data spec it always was)."""
    from memcore.jobs import api
    from memcore.jobs.worker import Worker

    store = memcore_env["store"]
    with monkeypatch.context() as m:  # the code before: no canonical form for level 0
        m.setattr(S, "canonical_noise", lambda n: n)
        old = preset("digits-mlp", **{"noise.kind": "randY", "noise.level": 0.0})
        old_key = old.key
        api.submit(old, store)

        def runner(spec, resume=None, should_stop=None):
            yield {"type": "meta", "members": 1}
            yield {"type": "done", "wall": 0.1, "epochs_run": 0, "summary": {}}

        Worker(store, runner=runner).serve(idle_exit=0.2)
    assert old_key != preset("digits-mlp").key
    assert api.status(old_key, store).status == "done"
    assert api.spec(old_key, store) == preset("digits-mlp")
    assert [r["type"] for r in api.records(old_key, 0, store)][:1] == ["meta"]
    assert old_key in {r["key"] for r in api.list_runs(store)}
