"""The run form: widgets <-> RunSpec.

A form lives in `st.session_state` under keys "<prefix>:<dotted field>" (one per widget) plus
"<prefix>:base", the flat spec the form started from (a preset, a link or the last run). Fields
without a widget (e.g. train.schedule of the CNN preset) come from the base, so a link or a
preset keeps them. `spec_from_state` turns the state into a validated `RunSpec` and raises the
spec's `ValueError` (naming field and allowed values) on an invalid combination.

Links (spec <-> URL query parameters) are app/links.py.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from app import state
from app.links import app_default
from memcore.datasets import OFFLINE_DATASETS, REGISTRY
from memcore.spec import RunSpec, field_meta, from_flat
from memcore.spec.fields import FieldMeta
from memcore.spec.presets import APP_PRESET, PRESETS, preset
from memcore.spec.sections import REG_RANGES

CUSTOM = "custom"
# train.strength's range depends on the regularizer: the widget allows the widest one
STRENGTH_BOUNDS = (
    min(lo for lo, _ in REG_RANGES.values()),
    max(hi for _, hi in REG_RANGES.values()),
)


@dataclass(frozen=True)
class Field:
    """One widget: dotted spec field, label, kind (select|slider|int|float), step and format.

    Its options, limits and help are the spec field's metadata (memcore.spec.field_meta). A
    number widget has no open bounds, so an open end moves in by the smallest step `fmt` shows.
    """

    name: str
    label: str
    kind: str
    step: float = 1
    fmt: str | None = None

    @property
    def meta(self) -> FieldMeta:
        return field_meta(self.name)

    @property
    def options(self) -> tuple:
        if self.name == "data.dataset":  # the registry's now (imported ones this visitor sees)
            return state.dataset_names()
        return self.meta.choices

    @property
    def help(self) -> str:
        return self.meta.help

    @property
    def limits(self) -> tuple[float, float]:
        """The widget's (min, max): the spec's range, open ends moved in by one shown step."""
        m = self.meta
        # no range in the spec: selects, and train.strength (its range depends on the regularizer)
        if m.lo is None or m.hi is None:
            return STRENGTH_BOUNDS
        shown = 10.0 ** -int(self.fmt[2:-1]) if self.fmt else self.step  # "%.4f" -> 0.0001
        lo = round(m.lo + shown, 10) if m.open_lo else m.lo
        hi = round(m.hi - shown, 10) if m.open_hi else m.hi
        return lo, hi

    @property
    def lo(self) -> float:
        return self.limits[0]

    @property
    def hi(self) -> float:
        return self.limits[1]


FIELDS: tuple[Field, ...] = (
    Field("data.dataset", "Dataset", "select"),
    Field("noise.kind", "Noise", "select"),
    Field("noise.level", "Noise level (fraction p)", "slider", step=0.05),
    Field("noise.labels", "Labels", "select"),
    Field("model.width", "Width (hidden units)", "int", step=16),
    Field("model.depth", "Depth (hidden layers)", "int"),
    Field("train.regularizer", "Regularizer", "select"),
    Field("train.strength", "Strength", "float", step=0.05, fmt="%.3f"),
    Field("train.epochs", "Epochs", "int"),
    Field("train.members", "Members (models trained together)", "int"),
    Field("train.batch_size", "Batch size", "int", step=16),
    Field("train.lr", "Learning rate", "float", step=0.01, fmt="%.4f"),
    Field("train.momentum", "Momentum", "float", step=0.1, fmt="%.2f"),
    Field("metrics.csr_every", "CSR every (epochs, 0 = off)", "int"),
    Field("metrics.csr_schedule", "CSR schedule (early: also epochs 1, 2, 4, 8, 16)", "select"),
    Field("metrics.csr_radius", "CSR radius (0-255 pixel units)", "float", step=0.1, fmt="%.2f"),
    Field("metrics.csr_probes", "CSR probes", "int", step=100),
    Field("metrics.csr_min_new", "CSR early stop (new per iteration)", "int"),
    Field("train.seed", "Seed", "int"),
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
        "metrics.csr_schedule",
        "metrics.csr_radius",
        "metrics.csr_probes",
        "metrics.csr_min_new",
    ),
}


def key(prefix: str, name: str) -> str:
    return f"{prefix}:{name}"


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
    state[key(prefix, "dataset_note")] = ""


def ensure(state: MutableMapping, prefix: str, spec: RunSpec | None = None) -> None:
    """Initialise the form once per session; restore widget values Streamlit dropped.

    Streamlit deletes a widget's state when a rerun does not draw it (another page was shown);
    the last values are kept in "<prefix>:values" and put back here.
    """
    if key(prefix, "base") not in state:
        load(state, prefix, spec or app_default(), APP_PRESET if spec is None else CUSTOM)
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


def preset_of(spec: RunSpec) -> str:
    """The name of the preset `spec` is exactly, else CUSTOM (what the Preset box shows)."""
    return next((name for name in PRESETS if preset(name) == spec), CUSTOM)


def apply_preset(state: MutableMapping, prefix: str) -> None:
    """on_change of the preset select: load the chosen preset."""
    name = state[key(prefix, "preset")]
    if name in PRESETS:
        load(state, prefix, preset(name), name)


def _shown(value: Any) -> str:
    return (
        f"{value:g}"
        if isinstance(value, int | float) and not isinstance(value, bool)
        else str(value)
    )


def apply_dataset_defaults(state: MutableMapping, prefix: str) -> None:
    """on_change of the dataset select: that dataset's lr, batch size and CSR fields, with
    a note (`dataset_note`) naming each value that changed, old -> new, and why."""
    dataset = state[key(prefix, "data.dataset")]
    base = dict(state[key(prefix, "base")])
    base["data.dataset"] = dataset
    defaults = REGISTRY[dataset].run_defaults if dataset in REGISTRY else {}
    by_name = {f.name: f for f in FIELDS}
    changed = []
    for name, value in defaults.items():
        f = by_name.get(name)
        old = state.get(key(prefix, name), base.get(name)) if f else base.get(name)
        if old != value:
            changed.append(f"{f.label if f else name} {_shown(old)} → {_shown(value)}")
        base[name] = value
        if f:
            state[key(prefix, name)] = _widget_value(f, value)
    state[key(prefix, "base")] = base
    state[key(prefix, "dataset_note")] = (
        f"Switching to {dataset} set its run defaults: {'; '.join(changed)}. These suit "
        f"{dataset}'s size and value range; change them back below if you want yours."
        if changed
        else ""
    )


# -- widgets ----------------------------------------------------------------------------------
def _dataset_label(name: str) -> str:
    if name in OFFLINE_DATASETS:
        return f"{name} (offline)"
    return f"{name} (imported)" if name in REGISTRY and REGISTRY[name].imported else name


def edited(state: MutableMapping, prefix: str) -> None:
    """on_change of every field: the form no longer is the preset it started from."""
    state[key(prefix, "preset")] = CUSTOM


def dataset_edited(state: MutableMapping, prefix: str) -> None:
    apply_dataset_defaults(state, prefix)
    edited(state, prefix)


def _draw(f: Field, prefix: str) -> None:
    k = key(prefix, f.name)
    on_change = dataset_edited if f.name == "data.dataset" else edited
    common = {"key": k, "help": f.help or None, "on_change": on_change,
              "args": (st.session_state, prefix)}  # fmt: skip
    if f.kind == "select":
        fmt = _dataset_label if f.name == "data.dataset" else str
        st.selectbox(f.label, f.options, format_func=fmt, **common)
    elif f.kind == "slider":
        st.slider(f.label, f.lo, f.hi, step=f.step, **common)
    elif f.kind == "int":
        st.number_input(f.label, int(f.lo), int(f.hi), step=int(f.step), **common)
    else:
        st.number_input(
            f.label, float(f.lo), float(f.hi), step=float(f.step), format=f.fmt, **common
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
            if name == "data.dataset" and st.session_state.get(key(prefix, "dataset_note")):
                st.info(st.session_state[key(prefix, "dataset_note")], icon=":material/info:")
    st.session_state[key(prefix, "values")] = values(st.session_state, prefix)
