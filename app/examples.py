"""The Examples page's data: the inputs of a run's tracked training examples and the captions
and colours of their panels (charts.examples draws them).

The run stores per-example arrays for its tracked subset (indices in its "meta" record), not the
inputs; these come from the dataset: memcore.data.noise.prepare(spec) gives the training inputs
as the network saw them (randX noise included) and the labels it was trained on. That is a read:
offline datasets always, torchvision ones only when their files are present (never a download
from here), cached per run. The critical pairs are read from the run's arrays as stored by the
engine (memcore.engine.measurements.critical_pairs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from app import state
from charts.style import REAL, noise_color
from memcore.data import files, noise
from memcore.datasets import REGISTRY
from memcore.spec import RunSpec
from memcore.spec.words import setting

GREY = "#333333"  # critical probes: validation data, neither clean nor noisy training data


@dataclass(frozen=True)
class TrackedInputs:
    """Inputs and labels of the tracked examples, in the order of the meta record's list:
    x float32[T, *input_shape]; y_train (trained on) and y_clean (before noise) int64[T];
    noisy bool[T]."""

    x: np.ndarray
    y_train: np.ndarray
    y_clean: np.ndarray
    noisy: np.ndarray


def unavailable(spec: RunSpec) -> str | None:
    """Why the run's inputs cannot be shown here (files missing), or None."""
    info = REGISTRY[spec.data.dataset]
    if info.offline:
        return None
    row = next(a for a in files.availability() if a.name == info.name)
    if row.status == "missing":
        return f"the {info.name} files are not in {row.folder}; the examples need them there"
    return None


def tracked_inputs(key: str, tracked: tuple[int, ...]) -> TrackedInputs | str:
    """The tracked examples' inputs (cached per run), or a sentence saying why there are none."""
    spec = state.spec_of(key)
    if spec is None:
        return "the run is not in the store"
    why = unavailable(spec)
    return why if why else _tracked_inputs(spec.to_json(), tracked)


@st.cache_data(show_spinner="Loading the examples…", max_entries=8)
def _tracked_inputs(spec_json: str, tracked: tuple[int, ...]) -> TrackedInputs:
    data = noise.prepare(RunSpec.from_json(spec_json))
    idx = np.asarray(tracked, dtype=np.int64)
    return TrackedInputs(
        x=data.x_train[idx].numpy().astype(np.float32),
        y_train=data.y_train[idx].numpy(),
        y_clean=data.y_clean[idx].numpy(),
        noisy=data.noisy[idx].numpy().astype(bool),
    )


def class_name(classes: list[str], y: int) -> str:
    return classes[y] if 0 <= y < len(classes) else str(y)


def example_panels(
    rows: pd.DataFrame,
    inputs: TrackedInputs,
    classes: list[str],
    spec: RunSpec,
    forgetting: bool = False,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Inputs and panels (caption, ink, signed) of `rows` (runframes.example_table rows).
    Caption: training index and label (with the true class when randY changed it, "kept" when
    it redrew the same one), then
    P(correct) and clean/noisy, then (with `forgetting`) the forgetting events; ink: blue for
    clean, the noise kind's colour for noisy examples."""
    pos = rows["position"].to_numpy()
    captions, inks = [], []
    for r in rows.itertuples(index=False):
        y = int(inputs.y_train[r.position])
        true = int(inputs.y_clean[r.position])
        label = class_name(classes, y) if spec.noise.labels == "class" else f"id {y}"
        if true != y:
            label += f" (true {class_name(classes, true)})"
        elif r.noisy and spec.noise.kind == "randY":
            label += " (kept)"  # randY may redraw the true label
        group = "noisy" if r.noisy else "clean"
        line2 = f"P {r.p_correct:.2f} · {group}"
        line3 = f"\nforgotten {r.forgetting:.2g}×" if forgetting else ""
        captions.append(f"#{r.example} · {label}\n{line2}{line3}")
        inks.append(noise_color(setting(spec)) if r.noisy else REAL)
    panels = pd.DataFrame({"caption": captions, "ink": inks, "signed": False})
    return inputs.x[pos], panels


def critical_panels(
    arrays: dict[str, np.ndarray], classes: list[str], radius: float, n: int
) -> tuple[np.ndarray, pd.DataFrame] | None:
    """The stored critical pairs (last row), the first n of them, as three panels each: the
    probe, its adversarial point, and their difference in units of the radius (blue < 0 < red).
    None when the run stored none."""
    if "critical_x" not in arrays or not len(arrays["critical_x"]):
        return None
    x, adv = arrays["critical_x"][-1][:n], arrays["critical_adv"][-1][:n]
    if not len(x):
        return None
    pred, adv_pred = arrays["critical_pred"][-1], arrays["critical_adv_pred"][-1]
    label, index = arrays["critical_label"][-1], arrays["critical_index"][-1]
    inputs, captions, signed = [], [], []
    for i in range(len(x)):
        name = f"#{index[i]} · label {class_name(classes, int(label[i]))}"
        inputs += [x[i], adv[i], (adv[i] - x[i]) / max(radius, 1e-12)]
        captions += [
            f"{name}\npredicted {class_name(classes, int(pred[i]))}",
            f"#{index[i]} adversarial\npredicted {class_name(classes, int(adv_pred[i]))}",
            f"#{index[i]} difference\n(±radius = full colour)",
        ]
        signed += [False, False, True]
    panels = pd.DataFrame({"caption": captions, "ink": GREY, "signed": signed})
    return np.stack(inputs), panels
