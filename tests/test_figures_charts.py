"""Figure builders: hand-made figure frames in, Vega-Lite specs out, with the poster palette,
log scales where the paper uses them, and tooltips; every figure renders to SVG."""

from __future__ import annotations

import json
import warnings
from math import lgamma

import numpy as np
import pandas as pd
import pytest
import vl_convert as vlc
from test_figures_checks import (
    capacity_frame,
    class_frame,
    convergence_frame,
    easiness_frame,
    gini_frame,
)
from test_figures_checks_training import csr_frame, filter_runs, levels_frame, reg_frame

from charts import figures as fc
from charts.figures.easiness import sorted_frame
from charts.style import RANDX, RANDY, REAL, level_scale
from memcore.figures import filters
from memcore.metrics.easiness import binomial_reference, sorted_reference


def frames():
    sharp = capacity_frame(64)[["panel", "setting", "level", "member"]].drop_duplicates()
    sharp = sharp.assign(sharpness=10 + 5 * sharp["level"], final_train_acc=1.0)
    return {
        "capacity": capacity_frame(64),
        "convergence": convergence_frame({"real": (10, 11, 12), "randY": (20, 50, 120)}),
        "easiness": easiness_frame(True),
        "sensitivity": gini_frame(0.5, 0.2),
        "class-sensitivity": class_frame(2.0, 0.5),
        "critical": csr_frame({"real": 0.02, "randX": 0.3, "randY": 0.2}),
        "noise-levels": levels_frame(True),
        "regularization": reg_frame(0.02, 0.3),
        "sharpness": sharp,
        "filters": filters.FIGURE.evaluate(filter_runs(True))[0],
    }


def walk(spec):
    """Every (sub)spec of a layered / concatenated / faceted Vega-Lite spec."""
    stack = [spec]
    while stack:
        s = stack.pop()
        yield s
        for k in ("layer", "hconcat", "vconcat", "concat"):
            stack.extend(s.get(k, []))
        if isinstance(s.get("spec"), dict):
            stack.append(s["spec"])


def encodings(spec):
    return [(ch, enc) for s in walk(spec) for ch, enc in s.get("encoding", {}).items()]


def interactive_lines(chart) -> dict[str, dict]:
    """Assert that every line layer of `chart` zooms and pans (a scales-bound interval parameter
    on it or on a layer it shares its scales with, or lifted to the top naming such a view) and
    fades by a legend-bound point parameter, as do its bands and error bars; that parameter
    names are unique (Altair would otherwise merge them with a warning, an error here); and
    that Vega runs it (a parameter on two layers of one view is a duplicate signal there).
    Returns the parameters by name."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = chart.to_dict()  # validates against the Vega-Lite schema
    assert "<svg" in vlc.vegalite_to_svg(spec)  # compiles and runs in Vega
    views = list(walk(spec))
    params = [p for v in views for p in v.get("params", [])]
    names = [p["name"] for p in params]
    assert len(names) == len(set(names)), names
    by_name = {p["name"]: p for p in params}
    siblings = {id(c): s["layer"] for s in views for c in s.get("layer", [])}

    def held(view):
        group = siblings.get(id(view), [view])
        return [p for p in params for v in group
                if p in v.get("params", []) or v.get("name") in p.get("views", [])]  # fmt: skip

    marks = [(v["mark"]["type"] if isinstance(v["mark"], dict) else v["mark"], v)
             for v in views if "mark" in v]  # fmt: skip
    lines = [v for m, v in marks if m == "line"]
    assert lines, "no line layer"
    for v in lines:
        assert any(p.get("bind") == "scales" and p["select"]["type"] == "interval"
                   for p in held(v)), f"a line layer without zoom: {v.get('name')}"  # fmt: skip
    for m, v in marks:
        if m in ("line", "area", "errorbar"):
            toggle = by_name[v["encoding"]["opacity"]["condition"]["param"]]
            assert toggle["bind"] == "legend" and toggle["select"]["type"] == "point"
    return by_name


LINE_FIGURES = ["capacity", "convergence", "easiness", "sensitivity", "critical", "noise-levels",
                "regularization", "sharpness"]  # fmt: skip
TOGGLED_BY = {"capacity": "level", "convergence": "setting", "easiness": "setting",
              "sensitivity": "curve", "critical": "setting", "noise-levels": "level",
              "regularization": "regularizer", "sharpness": "panel"}  # fmt: skip


@pytest.mark.parametrize("name", LINE_FIGURES)
def test_every_line_figure_zooms_pans_and_toggles_series_from_its_legend(name):
    params = interactive_lines(fc.chart(name, frames()[name]))
    assert params["shown"]["select"]["fields"] == [TOGGLED_BY[name]]
    zooms = [n for n, p in params.items() if p.get("bind") == "scales"]
    panels = {"noise-levels": 4, "regularization": 2}.get(name, 1)
    assert len(zooms) == panels, zooms


def test_convergence_panels_zoom_apart_and_share_one_legend_toggle():
    """Both panels (vs size, vs width): two zooms with their own names, one legend toggle."""
    size = frames()["convergence"]
    df = pd.concat([size, size.assign(panel="width", width=size["train_size"])])
    params = interactive_lines(fc.chart("convergence", df))
    assert {n for n, p in params.items() if p.get("bind") == "scales"} == {
        "zoom_size",
        "zoom_width",
    }
    assert [n for n, p in params.items() if p.get("bind") == "legend"] == ["shown"]


@pytest.mark.parametrize("name", list(fc.BUILDERS))
def test_every_figure_builds_renders_and_has_tooltips(name):
    spec = fc.chart(name, frames()[name]).to_dict()
    assert any(ch == "tooltip" for ch, _ in encodings(spec))
    svg = vlc.vegalite_to_svg(spec)
    assert "<svg" in svg


@pytest.mark.parametrize("name", list(fc.BUILDERS))
def test_empty_frames_give_an_empty_chart_not_an_error(name):
    fc.chart(name, pd.DataFrame()).to_dict()


def test_each_setting_uses_the_poster_palette():
    spec = fc.chart("critical", frames()["critical"]).to_dict()
    colors = [e for ch, e in encodings(spec) if ch == "color"]
    assert colors[0]["scale"]["domain"] == ["real", "randX", "randY"]
    assert colors[0]["scale"]["range"] == [REAL, RANDX, RANDY]


def test_noise_levels_go_from_real_blue_to_red():
    scale = level_scale([0.0, 0.2, 0.8]).to_dict()
    assert scale["range"][0] == REAL and len(scale["range"]) == 3


def test_log_scales_where_the_paper_uses_them():
    cap = fc.chart("capacity", frames()["capacity"]).to_dict()
    assert any(e.get("scale", {}).get("type") == "log" for ch, e in encodings(cap) if ch == "x")
    heat = fc.chart("class-sensitivity", frames()["class-sensitivity"]).to_dict()
    assert any(
        e.get("scale", {}).get("type") == "log" for ch, e in encodings(heat) if ch == "color"
    )


def test_easiness_figure_adds_the_binomial_reference():
    d = sorted_frame(frames()["easiness"])
    assert set(d["setting"]) == {"real", "randX", "randY", "binomial"}
    ref = d[d["setting"] == "binomial"]["p_correct"]
    rx = frames()["easiness"].query("setting == 'randX'")["p_correct"]
    assert abs(ref.mean() - rx.mean()) < 0.02
    assert ref.is_monotonic_increasing


def _old_binomial_curve(rx: pd.DataFrame) -> np.ndarray:
    """The figure's own copy before metrics.easiness became the one home (kept as a reference):
    Binomial(k, p0)/k with p0 clamped to (0, 1), ascending quantiles."""
    k, p0 = int(rx["members"].iloc[0]), float(rx["p_correct"].mean())
    j = np.arange(k + 1)
    logc = np.array([lgamma(k + 1) - lgamma(i + 1) - lgamma(k - i + 1) for i in j])
    p0 = min(max(p0, 1e-12), 1 - 1e-12)
    prob = np.exp(logc + j * np.log(p0) + (k - j) * np.log1p(-p0))
    q = (np.arange(len(rx)) + 0.5) / len(rx)
    return (j / k)[np.searchsorted(np.cumsum(prob), q).clip(0, k)]


def test_easiness_reference_is_metrics_sorted_reference_and_matches_the_old_copy():
    df = frames()["easiness"]
    rx = df[df["setting"] == "randX"]
    drawn = sorted_frame(df).query("setting == 'binomial'")
    want = sorted_reference(binomial_reference(100, float(rx["p_correct"].mean())), len(rx))
    assert np.array_equal(drawn["p_correct"].to_numpy(), want["p"].to_numpy()[::-1])
    assert np.allclose(drawn["rank"], want["frac"])
    assert np.array_equal(drawn["p_correct"].to_numpy(), _old_binomial_curve(rx))


def test_convergence_marks_censored_runs():
    df = convergence_frame(
        {"real": (10, 11, 12), "randY": (20, 50, 200)}, censored={("randY", 400)}
    )
    spec = json.dumps(fc.chart("convergence", df).to_dict())
    assert "censored (>=)" in spec


def test_sensitivity_figures_draw_the_mean_over_seeds():
    """The sensitivity frames hold several seeds per curve and cell; the figures draw one line
    (the mean, with a band spanning the seeds) and one value per cell, not one per seed."""
    g = frames()["sensitivity"]
    assert g.groupby(["panel", "curve", "step"]).size().max() > 1  # the frame has seeds
    data = next(iter(fc.chart("sensitivity", g).to_dict()["datasets"].values()))
    drawn = pd.DataFrame(data)
    assert not drawn.duplicated(["panel", "curve", "step"]).any()
    want = g.groupby(["panel", "curve", "step"])["gini"].mean()
    got = drawn.set_index(["panel", "curve", "step"])["mean"]
    assert np.allclose(got.loc[want.index], want)
    c = frames()["class-sensitivity"]
    cells = pd.DataFrame(
        next(iter(fc.chart("class-sensitivity", c).to_dict()["datasets"].values()))
    )
    assert not cells.duplicated(["setting", "loss_class", "input_class"]).any()
