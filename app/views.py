"""What a run page shows, built from its records: metrics, Altair charts, notes and captions.

Pure view-building (no Streamlit, tested without it): app/live.py draws what these return, and
caches it per run token. `training_view` and `sensitivity_view` take a run's records and arrays
(app/state/ reads them) and its spec; the frames come from app/runframes.py.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from app import eta, runframes
from charts import per_example, sensitivity, training
from memcore.figures.figure import fit_to_data
from memcore.spec import RunSpec
from memcore.spec.presets import preset
from memcore.spec.words import setting

CAPTIONS = {
    "accuracy": "Lines: mean over members; band: min to max. Clean examples learned long before "
    "noisy ones = patterns first, then memorization. Dashed: validation (clean data).",
    "csr": "Share of probe points with an adversarial example within the radius (LASS). "
    "Line: mean over members; band: min to max over members. Higher = a more complex decision "
    "surface; noise tends to raise it.",
    "easiness": "Per tracked example, the share of members that classify it correctly after one "
    "epoch. Dashed: the binomial reference (every example equally easy). Real data spreads "
    "wider than the reference.",
    "data_map": "Each dot is a tracked example: mean P(its label) over epochs (up) against how "
    "much it varied (right). Noisy examples sit low: hard to learn.",
    "forgetting": "How often an example went from correct to wrong between epochs, as a share "
    "of clean and of noisy examples. Memorized examples are forgotten more often.",
    "gini": "Gini coefficient of the per-example loss-sensitivity over SGD steps: 0 = every "
    "example matters equally, near 1 = a few examples dominate. Real data scores higher.",
    "heatmap": "Cell (i, j): how much inputs of class j move the loss of class i (log colour "
    "scale: yellow = larger, dark purple = smaller). The diagonal dominates; real data has more "
    "mass off it.",
}


METRIC_HELP = {  # a tile whose short label needs its definition
    "Train acc. all": "Accuracy on the labels the network trains on, noisy ones included, over "
    "all training examples (so randY 50% reaches about 0.5 while clean examples are learned).",
    "Train acc. clean": "Accuracy on the training examples the noise left unchanged.",
    "Train acc. noisy": "Accuracy on the corrupted training examples, against their noisy labels "
    "(how much noise the net has memorized).",
}


def training_view(recs: list[dict], arrays: dict, spec: RunSpec) -> dict:
    """Metrics and Altair charts of a training run (whatever it has data for so far)."""
    kind, n_epochs = setting(spec), spec.train.epochs
    epochs = runframes.scalar(recs, "epoch")
    last = runframes.last_epoch(epochs)
    final = epochs[epochs["epoch"] == last] if last is not None else epochs
    csr = runframes.scalar(recs, "csr")

    def mean(frame, name):
        v = float(pd.to_numeric(frame[name]).mean()) if name in frame and len(frame) else None
        return None if v is None or np.isnan(v) else v

    last_csr = mean(csr[csr["epoch"] == csr["epoch"].max()], "csr") if len(csr) else None
    if kind == "real":
        train = {"Train accuracy": mean(final, "train_acc")}
    else:  # on the labels it trains on (noisy ones included), next to clean and noisy apart
        train = {
            "Train acc. all": mean(final, "train_acc"),
            "Train acc. clean": mean(final, "clean_acc"),
            "Train acc. noisy": mean(final, "noisy_acc"),
        }
    view: dict = {
        "metrics": {
            "Epoch": f"{last:g} / {n_epochs}" if last is not None else "–",
            **train,
            "Validation accuracy": mean(final, "val_acc"),
            "CSR": last_csr,
        },
        "charts": {},
        "notes": [],
        "waiting": None,
        "work_left": eta.work_left(epochs, csr, spec),
    }
    if last is None:
        view["waiting"] = "Waiting for the first evaluation…"
        return view
    c = view["charts"]
    c["accuracy"] = training.accuracy_chart(training.accuracy_frame(epochs), kind, epochs=n_epochs)
    if len(csr):
        c["csr"] = training.csr_chart(csr, kind, epochs=n_epochs)
    elif not spec.metrics.csr_every:  # on but not measured yet: the chart comes with it
        view["notes"].append("No critical sample ratio: set *CSR every* > 0 to measure it.")
    m = runframes.meta(recs)
    easy = runframes.easiness_frames(arrays, m) if arrays else None
    if easy is not None:
        title = "Easiness after epoch 1"
        c["easiness"] = per_example.easiness_chart(*easy, noise_kind=kind, title=title)
    elif spec.train.members < 2:
        view["notes"].append("Easiness needs several members: set *Members* to 2 or more.")
    dm = runframes.data_map_frame(arrays, m) if arrays else None
    if dm is not None:
        c["data_map"] = per_example.data_map_chart(dm, kind)
        c["forgetting"] = per_example.forgetting_chart(dm, kind)
    return view


def sensitivity_view(recs: list[dict], arrays: dict, spec: RunSpec) -> dict:
    """Gini curve and per-class heatmap of a loss-sensitivity run."""
    sens = runframes.scalar(recs, "sens")
    view: dict = {"metrics": {}, "charts": {}, "notes": [], "waiting": None, "work_left": None}
    if sens.empty:
        view["waiting"] = "Waiting for the first loss-sensitivity evaluation…"
        return view
    view["metrics"]["Gini (running mean)"] = float(sens["gini"].iloc[-1])
    view["charts"]["gini"] = sensitivity.gini_chart(sens, setting(spec))
    matrix = runframes.class_matrix(arrays)
    if matrix is not None and matrix.shape[0] > 40:
        view["notes"].append(f"{matrix.shape[0]} classes (unique labels): too many for a heatmap.")
    elif matrix is not None:
        classes = runframes.meta(recs).get("classes")
        if classes is None or len(classes) != matrix.shape[0]:
            classes = None
        view["charts"]["heatmap"] = sensitivity.sensitivity_heatmap(
            sensitivity.class_matrix_frame(matrix, classes)
        )
    return view


def sensitivity_pair(spec: RunSpec) -> dict[str, RunSpec]:
    """{setting: loss-sensitivity run} drawn side by side: real data and the form's noise
    (randX 100% when the form is real data, the paper's comparison, ICML Fig 3)."""
    real = sensitivity_for(spec.replace(**{"noise.kind": "none", "noise.level": 0.0}))
    if spec.noise.kind == "none":
        other = real.replace(**{"noise.kind": "randX", "noise.level": 1.0})
    else:
        other = sensitivity_for(spec)
    return {"real": real, f"{other.noise.kind} {other.noise.level:g}": other}


def sensitivity_for(spec: RunSpec) -> RunSpec:
    """The loss-sensitivity preset (ICML Figs 3-4) on `spec`'s dataset and noise: the run that
    draws the Gini curve and the class heatmap for the values in the form."""
    same = ("data.dataset", "noise.kind", "noise.level", "noise.labels", "noise.seed")
    flat = spec.to_flat()
    # an imported dataset smaller than the preset's 1,000 examples uses all of its own
    return fit_to_data(preset("sensitivity-2x16", **{name: flat[name] for name in same}))


def gini_pair(recs: dict[str, list[dict]], specs: dict[str, RunSpec]) -> dict | None:
    """One Gini chart (Vega-Lite dict) with a curve per setting that has "sens" records so
    far ({setting: records}); None when none has any."""
    frames = {}
    for label, r in recs.items():
        sens = runframes.scalar(r, "sens")
        if not sens.empty:
            frames[setting(specs[label])] = sens
    if not frames:
        return None
    return sensitivity.gini_chart(frames).to_dict(validate=False)


def export_frame(runs: dict) -> pd.DataFrame:
    """The scalar records of runs ({key: (spec, records, JobStatus)}) as one table: key, the
    record's own columns, CSR radius in the 0-255 units the form shows (`radius_255`; records
    keep the data's units), each run's configuration (flattened spec, one `config.*` column
    per field) and its summary as JSON."""
    parts = []
    for key, (spec, recs, js) in runs.items():
        rows = [r for r in recs if r.get("type") not in ("meta", "arrays", "checkpoint")]
        if not rows:
            continue
        df = pd.DataFrame(rows)
        if "radius" in df:  # the spec's radius, in the form's units, on the CSR rows
            df["radius_255"] = np.where(df["type"] == "csr", spec.metrics.csr_radius, np.nan)
        config = {f"config.{k}": (",".join(map(str, v)) if isinstance(v, tuple) else v)
                  for k, v in spec.to_flat().items()}  # fmt: skip
        summary = json.dumps(js.summary or {}, sort_keys=True, default=str)
        parts.append(df.assign(key=key, **config, summary=summary))
    if not parts:
        return pd.DataFrame(columns=["key", "type"])
    out = pd.concat(parts, ignore_index=True)
    first = ["key", "type"]
    return out[first + [c for c in out.columns if c not in first]]


SYMBOLS_NOTE = (
    "± s.e.: one standard error of the difference (from the spread over members or seeds); a "
    "part holds when its difference is above 0 by the part's t x s.e. D (easiness): dispersion, "
    "the variance of P(correct) across examples over the binomial variance (1 = no more spread "
    "than chance)."
)


def verdict_parts(verdict: dict) -> list[dict[str, str]]:
    """A Verdict.to_dict() as a small table: one row per claim part (the claim itself when it
    has none): part, verdict (symbol and word), difference ± s.e. (when the part reads one),
    and what it found."""
    from charts.style import VERDICT_SYMBOL

    parts = verdict.get("parts") or {"the claim": verdict}
    rows = []
    for name, v in parts.items():
        n = v.get("numbers", {})
        se = n.get("se", n.get("standard_error"))
        diff = n.get("difference", n.get("log_difference", n.get("log_ratio")))
        shown = f"{diff:+.3g} ± {se:.2g}" if _num(diff) and _num(se) else ""
        rows.append({
            "part": name,
            "verdict": f"{VERDICT_SYMBOL[v['verdict']]} {v['verdict']}",
            "difference ± s.e.": shown,
            "found": v.get("summary", ""),
        })  # fmt: skip
    return rows


def _num(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)
