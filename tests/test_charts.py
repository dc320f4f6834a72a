"""The charts package: pure (no Streamlit, no app, no memcore.figures), tidy frames in, Vega-Lite
specs with the right fields out; the easiness references drawn are memcore.metrics.easiness's."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from chart_helpers import _encodings, _epoch_records, _spec
from test_figures_charts import interactive_lines

from charts import compare, export, per_example, sensitivity, style, training
from memcore.metrics import easiness
from memcore.records import frame

ROOT = Path(__file__).resolve().parents[1]


def test_accuracy_frame_aggregates_members_into_bands():
    df = training.accuracy_frame(frame(_epoch_records(epochs=3, members=2), "epoch"))
    assert set(df["series"]) == {"train (clean)", "train (noisy)", "validation"}
    assert len(df) == 3 * 4  # three series, epochs 0..3
    val = df[df["series"] == "validation"]
    assert np.allclose(val["lo"], 0.2) and np.allclose(val["hi"], 0.22)
    assert np.allclose(val["mean"], 0.21)
    assert (df["lo"] <= df["mean"]).all() and (df["mean"] <= df["hi"]).all()
    assert (df["members"] == 2).all()


def test_accuracy_frame_drops_empty_noisy_series():
    df = training.accuracy_frame(frame(_epoch_records(noisy=False), "epoch"))
    assert "train (noisy)" not in set(df["series"])


def test_accuracy_chart_encodings_and_poster_colours():
    df = training.accuracy_frame(frame(_epoch_records(), "epoch"))
    spec = _spec(training.accuracy_chart(df, noise_kind="randX"))
    encs = _encodings(spec)
    assert all(e["x"]["field"] == "epoch" for e in encs)
    line = next(e for e in encs if e["y"]["field"] == "mean")
    assert line["color"]["scale"]["range"] == [style.REAL, style.RANDX, style.VAL]
    assert all("tooltip" in e for e in encs)
    spec_y = _spec(training.accuracy_chart(df, noise_kind="randY"))
    line_y = next(e for e in _encodings(spec_y) if e["y"]["field"] == "mean")
    assert line_y["color"]["scale"]["range"][1] == style.RANDY


def test_noise_colours_follow_the_poster():
    assert style.noise_color("real") == style.REAL == "#1f77b4"
    assert style.noise_color("randX") == style.RANDX
    assert style.noise_color("randY") == style.RANDY
    with pytest.raises(KeyError):  # a noise kind ("none") is not a setting: setting(spec) is
        style.noise_color("none")


def test_csr_chart_mean_band():
    csr = pd.DataFrame(
        {
            "epoch": [1, 1, 2, 2],
            "member": [0, 1, 0, 1],
            "csr": [0.1, 0.3, 0.2, 0.2],
            "iters": [5, 7, 3, 4],
        }
    )
    chart = training.csr_chart(csr)
    data = chart.data
    assert np.allclose(data["mean"], [0.2, 0.2]) and np.allclose(data["lo"], [0.1, 0.2])
    assert list(data["iters"]) == [7, 4]
    encs = _encodings(_spec(chart))
    assert any(e.get("y", {}).get("field") == "mean" for e in encs)
    assert all("tooltip" in e for e in encs)


def test_easiness_chart_histogram_and_reference():
    rng = np.random.default_rng(0)
    k = 10
    easy = pd.DataFrame(
        {
            "example": np.arange(50),
            "p_correct": rng.integers(0, k + 1, 50) / k,
            "group": ["clean"] * 40 + ["noisy"] * 10,
        }
    )
    from math import comb

    ref = pd.DataFrame(
        {
            "p_correct": np.arange(k + 1) / k,
            "probability": [comb(k, i) * 0.5**k for i in range(k + 1)],
        }
    )
    spec = _spec(per_example.easiness_chart(easy, ref, noise_kind="randY"))
    assert len(spec["hconcat"]) == 2
    encs = _encodings(spec)
    assert any(e.get("x2", {}).get("field") == "hi" for e in encs)  # histogram bars lo..hi
    bars = pd.DataFrame(spec["datasets"][spec["hconcat"][0]["layer"][0]["data"]["name"]])
    assert np.allclose((bars["lo"] + bars["hi"]) / 2, bars["p_correct"])  # centred on k/K
    assert np.allclose(bars["hi"] - bars["lo"], 1 / k)
    assert bars.groupby("group")["examples"].sum().to_dict() == {"clean": 40, "noisy": 10}
    assert any(e["x"]["field"] == "rank" for e in encs)  # sorted curve
    assert any(e.get("y", {}).get("field") == "expected" for e in encs)  # binomial counts
    assert all("tooltip" in e for e in encs)


def _old_sorted_reference(reference: pd.DataFrame, n: int) -> np.ndarray:
    """The chart's own copy before metrics.easiness became the one home (kept as a reference)."""
    ref = reference.sort_values("p_correct")
    cdf = np.cumsum(ref["probability"].to_numpy())
    q = 1.0 - (np.arange(n) + 0.5) / max(n, 1)
    idx = np.clip(np.searchsorted(cdf, q - 1e-12), 0, len(ref) - 1)
    return ref["p_correct"].to_numpy()[idx]


def _binomial_refs(k=10, p_mean=0.37):
    """The app's reference frame (runframes.easiness_frames' columns) for a fixed input."""
    pmf = easiness.binomial_reference(k, p_mean)
    return pmf.rename(columns={"p": "p_correct", "pmf": "probability"})


def test_binomial_sorted_curve_is_descending_quantiles():
    ref = pd.DataFrame(
        {"p_correct": [0.0, 0.5, 1.0], "probability": [0.25, 0.5, 0.25], "reference": "b"}
    )
    q = per_example.reference_curves(ref, 8)["p_correct"].to_numpy()
    assert list(q) == sorted(q, reverse=True)
    assert list(q[:2]) == [1.0, 1.0] and list(q[-2:]) == [0.0, 0.0]


def test_easiness_chart_draws_metrics_sorted_reference():
    n, ref = 37, _binomial_refs()
    easy = pd.DataFrame(
        {"example": np.arange(n), "p_correct": np.linspace(0, 1, n), "group": "clean"}
    )
    spec = per_example.easiness_chart(easy, ref).to_dict()
    drawn = pd.DataFrame(spec["datasets"][spec["hconcat"][1]["layer"][1]["data"]["name"]])
    want = easiness.sorted_reference(easiness.binomial_reference(10, 0.37), n)
    assert np.array_equal(drawn["p_correct"], want["p"])
    assert np.allclose(drawn["rank"], want["frac"])
    assert set(drawn["reference"]) == {"binomial"}


def test_reference_curves_match_the_old_chart_copy():
    rng = np.random.default_rng(3)
    correct = rng.random((8, 60)) < np.linspace(0.1, 0.9, 60)
    mixed = easiness.mixture(easiness.class_binomial_reference(correct, np.arange(60) % 3))
    for ref in (_binomial_refs(), mixed.rename(columns={"p": "p_correct", "pmf": "probability"})):
        for n in (1, 7, 50, 333):
            new = per_example.reference_curves(ref, n)["p_correct"].to_numpy()
            assert np.array_equal(new, _old_sorted_reference(ref, n)), n


CHARTS = sorted((ROOT / "charts").rglob("*.py"))
ALLOWED_MEMCORE = ("memcore.metrics", "memcore.records", "memcore.spec")


def _imports(path: Path) -> set[str]:
    """Dotted names of every absolute import in `path`, also those inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CHARTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_charts_import_no_streamlit_app_or_memcore_figures(path):
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in ("streamlit", "app", "pages", "diskcache"), (path, name)
        if top == "memcore":
            assert name.startswith(ALLOWED_MEMCORE), (path, name)


def test_charts_load_without_streamlit():
    code = (
        "import sys, charts.figures, charts.report, charts.training, charts.per_example, "
        "charts.sensitivity, charts.export\n"
        "print(sorted(m for m in ('streamlit', 'app', 'memcore.figures') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_heatmap_uses_log_colour_scale_and_floors_zeros():
    m = np.array([[10.0, 0.0], [0.1, 5.0]])
    cells = sensitivity.class_matrix_frame(m, ["a", "b"])
    assert len(cells) == 4
    assert cells.set_index(["loss_class", "input_class"]).loc[("a", "b"), "sensitivity"] == 0.0
    chart = sensitivity.sensitivity_heatmap(cells)
    spec = _spec(chart)
    color = spec["encoding"]["color"]
    assert color["scale"]["type"] == "log"
    assert chart.data["shown"].min() == pytest.approx(0.1)  # log scale needs > 0
    assert {spec["encoding"]["x"]["field"], spec["encoding"]["y"]["field"]} == {
        "input_class",
        "loss_class",
    }


def test_gini_chart_two_variants():
    """Told apart by colour (the run's noise colour, grey) and dash; y fitted to the data."""
    sens = pd.DataFrame({"step": [10, 20], "gini": [0.3, 0.4], "gini_time": [0.2, 0.35]})
    chart = sensitivity.gini_chart(sens, "randX")
    assert set(chart.data["variant"]) == {"running mean", "equal weight per time"}
    enc = _spec(chart)["encoding"]
    assert enc["y"]["scale"] == {"zero": False}
    assert enc["color"]["field"] == "variant"
    assert enc["color"]["scale"]["range"] == [style.RANDX, style.REFERENCE]


def _line_charts() -> dict:
    epochs = pd.DataFrame(
        {"epoch": [0.0, 1.0, 0.0, 1.0], "member": [0, 0, 1, 1], "clean_acc": [0.1, 0.5, 0.2, 0.6],
         "noisy_acc": [0.1, 0.2, 0.1, 0.3], "val_acc": [0.1, 0.4, 0.1, 0.5]}
    )  # fmt: skip
    csr = pd.DataFrame({"epoch": [0.0, 1.0], "member": [0, 0], "csr": [0.1, 0.2], "iters": [3, 4]})
    sens = pd.DataFrame({"step": [10, 20], "gini": [0.3, 0.4], "gini_time": [0.2, 0.35]})
    band = pd.DataFrame(
        {"run": ["a", "a", "b", "b"], "key": ["k1", "k1", "k2", "k2"], "epoch": [0, 1, 0, 1],
         "mean": [0.1, 0.5, 0.2, 0.6], "lo": [0.1, 0.4, 0.2, 0.5], "hi": [0.1, 0.6, 0.2, 0.7],
         "std": 0.0, "members": 2}
    )  # fmt: skip
    return {
        "accuracy": (training.accuracy_chart(training.accuracy_frame(epochs), "randY"), "series"),
        "csr": (training.csr_chart(csr, "randY"), "series"),
        "gini": (sensitivity.gini_chart(sens), "variant"),
        "gini pair": (sensitivity.gini_chart({"real": sens, "randX": sens}), "setting"),
        "overlay": (compare.overlay_chart(band, "validation accuracy"), "run"),
        "overlay in panels": (
            compare.overlay_chart(
                band.assign(width=[16, 16, 32, 32]), "validation accuracy", "run", "width"
            ),
            "run",
        ),
    }


@pytest.mark.parametrize("name", list(_line_charts()))
def test_every_line_chart_zooms_pans_and_toggles_series_from_its_legend(name):
    chart, field = _line_charts()[name]
    params = interactive_lines(chart)
    assert params["zoom"]["bind"] == "scales"
    assert params["shown"]["select"] == {"type": "point", "fields": [field]}


def test_easiness_panels_zoom_apart_and_toggle_groups_and_references():
    """Histogram and sorted curve zoom on their own; one legend toggle hides a group (bars and
    points), another a reference (its lines in both panels)."""
    refs = pd.DataFrame({"p_correct": [0.0, 0.5, 1.0], "probability": [0.25, 0.5, 0.25]})
    easy = pd.DataFrame({"example": range(4), "p_correct": [0.0, 0.5, 1.0, 1.0],
                         "group": ["clean", "clean", "noisy", "noisy"]})  # fmt: skip
    chart = per_example.easiness_chart(easy, refs, "randY")
    params = interactive_lines(chart)
    assert {n for n, p in params.items() if p.get("bind") == "scales"} == {
        "zoom_histogram",
        "zoom_sorted",
    }
    assert params["shown"]["select"]["fields"] == ["group"]
    assert params["shown_reference"]["select"]["fields"] == ["reference"]
    spec = chart.to_dict()
    faded = {
        v["mark"]["type"] if isinstance(v["mark"], dict) else v["mark"]: v["encoding"]["opacity"]
        for panel in spec["hconcat"]
        for v in panel["layer"]
    }
    assert faded["bar"]["condition"]["param"] == faded["point"]["condition"]["param"] == "shown"
    assert faded["line"]["condition"]["param"] == "shown_reference"


def test_tooltips_show_four_significant_digits_unless_told_otherwise():
    spec = training.csr_chart(
        pd.DataFrame({"epoch": [0.0], "member": [0], "csr": [0.133333340287], "iters": [3]})
    ).to_dict()
    assert spec["config"]["tooltipFormat"] == {"numberFormat": ",.4~g"}


def test_csr_points_and_line_share_the_runs_colour_and_a_legend():
    csr = pd.DataFrame({"epoch": [0.0, 1.0], "member": [0, 0], "csr": [0.1, 0.2], "iters": [3, 4]})
    spec = training.csr_chart(csr, "randX").to_dict()
    colors = [lay["encoding"]["color"] for lay in spec["layer"]]
    assert all(c["field"] == "series" and c["scale"]["range"] == [style.RANDX] for c in colors)
    assert any(c.get("legend") for c in colors)


def test_data_map_and_forgetting():
    pts = pd.DataFrame(
        {
            "example": range(6),
            "confidence": [0.9, 0.8, 0.2, 0.1, 0.5, 0.6],
            "variability": [0.1, 0.05, 0.2, 0.1, 0.3, 0.2],
            "group": ["clean"] * 4 + ["noisy"] * 2,
            "forgetting": [0, 0, 1, 2, 1, 1],
        }
    )
    spec = _spec(per_example.data_map_chart(pts, "randX"))
    assert spec["encoding"]["x"]["field"] == "variability"
    assert spec["encoding"]["y"]["field"] == "confidence"
    assert spec["encoding"]["color"]["scale"]["range"] == [style.REAL, style.RANDX]
    f = per_example.forgetting_chart(pts, "randX")
    shares = f.data.groupby("group")["share"].sum()
    assert np.allclose(shares, 1.0)


def test_export_png_and_svg():
    df = training.accuracy_frame(frame(_epoch_records(), "epoch"))
    chart = training.accuracy_chart(df)
    png = export.export_image(chart, "png", scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    svg = export.export_image(chart, "svg")
    assert b"<svg" in svg[:200]
    with pytest.raises(ValueError, match="png or svg"):
        export.export_image(chart, "gif")
