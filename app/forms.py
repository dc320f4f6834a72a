"""The run form: widgets <-> RunSpec <-> URL query parameters.

A form lives in `st.session_state` under keys "<prefix>:<dotted field>" (one per widget) plus
"<prefix>:base", the flat spec the form started from (a preset, a link or the last run). Fields
without a widget (e.g. train.schedule of the CNN preset) come from the base, so a link or a
preset keeps them. `spec_from_state` turns the state into a validated `RunSpec` and raises the
spec's `ValueError` (naming field and allowed values) on an invalid combination.

Links stay short: `short_params` keeps only the fields that differ from `RunSpec()`.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from memcore.spec import (
    DATASET_DEFAULTS,
    DATASETS,
    DEFAULT_PRESET,
    LABEL_MODES,
    NOISE_KINDS,
    OFFLINE_DATASETS,
    PRESETS,
    REGULARIZERS,
    RunSpec,
    field_types,
    from_flat,
    preset,
)

CUSTOM = "custom"


@dataclass(frozen=True)
class Field:
    """One widget: dotted spec field, label, kind (select|slider|int|float), options/limits."""

    name: str
    label: str
    kind: str
    options: tuple = ()
    lo: float = 0
    hi: float = 0
    step: float = 1
    fmt: str | None = None
    help: str = ""


FIELDS: tuple[Field, ...] = (
    Field(
        "data.dataset",
        "Dataset",
        "select",
        DATASETS,
        help="digits and mnist1d work offline; the others need their files in the data folder.",
    ),
    Field(
        "noise.kind",
        "Noise",
        "select",
        NOISE_KINDS,
        help="randX: inputs replaced by Gaussian noise. randY: labels replaced by random ones.",
    ),
    Field(
        "noise.level",
        "Noise level (fraction p)",
        "slider",
        lo=0.0,
        hi=1.0,
        step=0.05,
        help="Exactly round(p*N) training examples are corrupted. Must be 0 for 'none'.",
    ),
    Field(
        "noise.labels",
        "Labels",
        "select",
        LABEL_MODES,
        help="unique: every training example is its own class (N-way output).",
    ),
    Field("model.width", "Width (hidden units)", "int", lo=1, hi=65536, step=16),
    Field("model.depth", "Depth (hidden layers)", "int", lo=1, hi=16),
    Field("train.regularizer", "Regularizer", "select", REGULARIZERS),
    Field(
        "train.strength",
        "Strength",
        "float",
        lo=0.0,
        hi=10.0,
        step=0.05,
        fmt="%.3f",
        help="Rate (dropout), std (noise) or L2 coefficient (weight decay); 0 for 'none'.",
    ),
    Field("train.epochs", "Epochs", "int", lo=1, hi=100_000),
    Field(
        "train.members",
        "Members (models trained together)",
        "int",
        lo=1,
        hi=4096,
        help="K models with seeds seed..seed+K-1; bands show their spread. Easiness needs K>1.",
    ),
    Field("train.batch_size", "Batch size", "int", lo=1, hi=1_000_000, step=16),
    Field("train.lr", "Learning rate", "float", lo=0.0001, hi=100.0, step=0.01, fmt="%.4f"),
    Field("train.momentum", "Momentum", "float", lo=0.0, hi=0.99, step=0.1, fmt="%.2f"),
    Field("metrics.csr_every", "CSR every (epochs, 0 = off)", "int", lo=0, hi=100_000),
    Field(
        "metrics.csr_radius",
        "CSR radius (0-255 pixel units)",
        "float",
        lo=0.0,
        hi=255.0,
        step=0.1,
        fmt="%.2f",
        help="L-inf radius of the LASS search; the paper uses 0.3.",
    ),
    Field("metrics.csr_probes", "CSR probes", "int", lo=1, hi=100_000, step=100),
    Field(
        "metrics.csr_min_new",
        "CSR early stop (new per iteration)",
        "int",
        lo=0,
        hi=100_000,
        help="LASS stops when an iteration finds fewer new critical samples than this (the "
        "paper: 20 for 1,000 probes); 0 runs every iteration.",
    ),
    Field("train.seed", "Seed", "int", lo=0, hi=2**31 - 1),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)
SECTIONS = {
    "Data": ("data.dataset", "noise.kind", "noise.level", "noise.labels"),
    "Model": ("model.width", "model.depth", "train.regularizer", "train.strength"),
    "Training": (
        "train.epochs",
        "train.members",
        "train.batch_size",
        "train.lr",
        "train.momentum",
        "train.seed",
    ),
    "Critical sample ratio": (
        "metrics.csr_every",
        "metrics.csr_radius",
        "metrics.csr_probes",
        "metrics.csr_min_new",
    ),
}


def key(prefix: str, name: str) -> str:
    return f"{prefix}:{name}"


def default_spec() -> RunSpec:
    """The offline default (DEFAULT_PRESET)."""
    return preset(DEFAULT_PRESET)


# -- spec <-> state ---------------------------------------------------------------------------
def _widget_value(f: Field, value: Any) -> Any:
    """Spec value -> the type the widget expects (number_input is strict about int/float)."""
    if f.kind == "int":
        return int(value)
    if f.kind in ("float", "slider"):
        return float(value)
    return value


def load(state: MutableMapping, prefix: str, spec: RunSpec, preset_name: str = CUSTOM) -> None:
    """Put `spec` into the form: base and every widget's value."""
    flat = spec.to_flat()
    state[key(prefix, "base")] = flat
    state[key(prefix, "values")] = {f.name: _widget_value(f, flat[f.name]) for f in FIELDS}
    for f in FIELDS:
        state[key(prefix, f.name)] = _widget_value(f, flat[f.name])
    state[key(prefix, "preset")] = preset_name


def ensure(state: MutableMapping, prefix: str, spec: RunSpec | None = None) -> None:
    """Initialise the form once per session; restore widget values Streamlit dropped.

    Streamlit deletes a widget's state when a rerun does not draw it (another page was shown);
    the last values are kept in "<prefix>:values" and put back here.
    """
    if key(prefix, "base") not in state:
        load(state, prefix, spec or default_spec(), DEFAULT_PRESET if spec is None else CUSTOM)
        return
    saved = state.get(key(prefix, "values"), {})
    base = state[key(prefix, "base")]
    for f in FIELDS:
        if key(prefix, f.name) not in state:
            state[key(prefix, f.name)] = saved.get(f.name, _widget_value(f, base[f.name]))
    state.setdefault(key(prefix, "preset"), CUSTOM)


def values(state: Mapping, prefix: str) -> dict[str, Any]:
    """The widgets' current values by dotted field name."""
    out = {}
    for f in FIELDS:
        if key(prefix, f.name) in state:
            v = state[key(prefix, f.name)]
            # sliders and float inputs can return 0.15000000000000002; keep links and keys exact
            out[f.name] = round(v, 8) if isinstance(v, float) else v
    return out


def spec_from_state(state: Mapping, prefix: str) -> RunSpec:
    """The form's spec; raises ValueError (field, value, allowed) when invalid."""
    base = from_flat(state[key(prefix, "base")], base=RunSpec())
    return from_flat(values(state, prefix), base=base)


def apply_preset(state: MutableMapping, prefix: str) -> None:
    """on_change of the preset select: load the chosen preset."""
    name = state[key(prefix, "preset")]
    if name in PRESETS:
        load(state, prefix, preset(name), name)


def apply_dataset_defaults(state: MutableMapping, prefix: str) -> None:
    """on_change of the dataset select: that dataset's lr, batch size and CSR radius."""
    dataset = state[key(prefix, "data.dataset")]
    base = dict(state[key(prefix, "base")])
    base["data.dataset"] = dataset
    for name, value in DATASET_DEFAULTS.get(dataset, {}).items():
        base[name] = value
        match = [f for f in FIELDS if f.name == name]
        if match:
            state[key(prefix, name)] = _widget_value(match[0], value)
    state[key(prefix, "base")] = base


# -- spec <-> URL -----------------------------------------------------------------------------
def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(_to_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


def short_params(spec: RunSpec) -> dict[str, str]:
    """{dotted field: text} for the fields that differ from RunSpec() (a short, exact link)."""
    default = RunSpec().to_flat()
    return {k: _to_text(v) for k, v in spec.to_flat().items() if v != default[k]}


def spec_params(params: Mapping[str, Any]) -> dict[str, str]:
    """The spec fields among URL parameters (others, like 'run', are ignored)."""
    types = field_types()
    return {k: params[k] for k in params if k in types}


def spec_from_params(params: Mapping[str, Any]) -> RunSpec:
    """Spec from URL parameters on top of RunSpec(); raises ValueError when invalid."""
    return from_flat(spec_params(params), base=RunSpec())


# -- widgets ----------------------------------------------------------------------------------
def _dataset_label(name: str) -> str:
    return f"{name} (offline)" if name in OFFLINE_DATASETS else name


def _draw(f: Field, prefix: str) -> None:
    k = key(prefix, f.name)
    if f.kind == "select":
        on_change = apply_dataset_defaults if f.name == "data.dataset" else None
        st.selectbox(
            f.label,
            f.options,
            key=k,
            help=f.help or None,
            format_func=_dataset_label if f.name == "data.dataset" else str,
            on_change=on_change,
            args=(st.session_state, prefix) if on_change else None,
        )
    elif f.kind == "slider":
        st.slider(f.label, f.lo, f.hi, step=f.step, key=k, help=f.help or None)
    elif f.kind == "int":
        st.number_input(f.label, int(f.lo), int(f.hi), step=int(f.step), key=k, help=f.help or None)
    else:
        st.number_input(
            f.label,
            float(f.lo),
            float(f.hi),
            step=float(f.step),
            format=f.fmt,
            key=k,
            help=f.help or None,
        )


def draw_form(prefix: str) -> None:
    """Preset select and one expander-free section per group of widgets (call in a sidebar)."""
    st.selectbox(
        "Preset",
        (CUSTOM, *PRESETS),
        key=key(prefix, "preset"),
        on_change=apply_preset,
        args=(st.session_state, prefix),
        help="Loads a configuration from the paper or a quick offline default.",
    )
    by_name = {f.name: f for f in FIELDS}
    for title, names in SECTIONS.items():
        st.markdown(f"**{title}**")
        for name in names:
            _draw(by_name[name], prefix)
    st.session_state[key(prefix, "values")] = values(st.session_state, prefix)
