"""The frames the app builds from a stored run (app/runframes.py) and the charts drawn from them:
the easiness and data-map frames, runs compared (compare_frame, smoothing, charts/compare.py's
overlay), examples as pictures (example_table, pick_examples, charts/examples.py's gallery) and
the metrics a run has values of."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from chart_helpers import _encodings, _epoch_records, _spec

from charts import compare, examples, per_example, style


# -- frames from stored runs (app/runframes.py) ----------------------------------------------
def _arrays(correct_RxKxT, prob_RxKxT=None, epochs=None):
    c = np.asarray(correct_RxKxT, dtype=bool)
    p = c.astype(np.float32) if prob_RxKxT is None else np.asarray(prob_RxKxT, np.float32)
    e = np.arange(len(c), dtype=float) if epochs is None else np.asarray(epochs, float)
    return {"correct": c, "prob": p, "epoch": e, "step": np.arange(len(c))}


def test_easiness_frames_pick_epoch_one_and_add_references():
    from app import runframes

    same = np.array([[1, 0, 1, 1], [1, 0, 1, 1], [1, 0, 1, 1]], dtype=bool)  # K=3 agree
    arrays = _arrays([np.zeros_like(same), same, ~same])  # rows: epoch 0, 1, 2
    meta = {"tracked": [10, 11, 12, 13], "tracked_noisy": [False, True, False, False],
            "tracked_labels": [0, 1, 0, 1]}  # fmt: skip
    easy, ref = runframes.easiness_frames(arrays, meta)
    assert set(easy["p_correct"]) == {0.0, 1.0}  # all members agree -> 0/1 values
    assert easy.set_index("example").loc[11, "group"] == "noisy"
    assert easy.set_index("example").loc[11, "p_correct"] == 0.0  # epoch 1, not 0 or 2
    assert set(ref["reference"]) == {"binomial", "within-class"}
    assert np.allclose(ref.groupby("reference")["probability"].sum(), 1.0)
    spec = _spec(per_example.easiness_chart(easy, ref))
    assert "within-class" in json.dumps(spec)


def test_easiness_frames_need_two_members():
    from app import runframes

    arrays = _arrays(np.ones((2, 1, 4)))
    assert runframes.easiness_frames(arrays, {}) is None


def test_data_map_frame_uses_whole_epochs_after_training_started():
    from app import runframes

    correct = np.array([[[1, 1]], [[1, 0]], [[0, 1]], [[1, 0]]], dtype=bool)  # R=4, K=1, T=2
    prob = np.array([[[0.9, 0.9]], [[0.8, 0.2]], [[0.4, 0.6]], [[0.8, 0.2]]])
    arrays = _arrays(correct, prob, epochs=[0, 1, 2, 3])
    dm = runframes.data_map_frame(arrays, {"tracked_noisy": [False, True]}).set_index("example")
    # rows 1..3 only (epoch 0 is before training)
    assert dm.loc[0, "confidence"] == pytest.approx((0.8 + 0.4 + 0.8) / 3)
    assert dm.loc[1, "variability"] == pytest.approx(np.std([0.2, 0.6, 0.2]))
    assert list(dm["forgetting"]) == [1, 1]
    assert list(dm["group"]) == ["clean", "noisy"]


# -- runs compared (charts/compare.py, runframes.compare_frame) -------------------------------
def _spec_of(name: str, **changes):
    from memcore.spec.presets import preset

    return preset("digits-mlp", **{"model.width": 20, **changes})


def _compare_runs():
    noisy = {"noise.kind": "randY", "noise.level": 0.4}
    return {
        "clean": (_spec_of("clean"), _epoch_records(noisy=False)),
        "noisy": (_spec_of("noisy", **noisy), _epoch_records()),
        "sens": (_spec_of("sens", task="sensitivity"), [{"type": "meta", "steps_per_epoch": 5},
                 {"type": "sens", "step": 5, "gini": 0.3, "gini_time": 0.2, "mean": 1.0,
                  "wall": 0.1}]),
    }  # fmt: skip


def test_compare_frame_means_over_members_and_names_runs_without_the_metric():
    from app import runframes

    df, missing = runframes.compare_frame(_compare_runs(), "train accuracy (noisy examples)")
    assert missing == ["clean", "sens"]  # no noisy examples; a sensitivity run
    assert set(df["run"]) == {"noisy"} and df["noise level"].eq(0.4).all()
    assert np.allclose(df["mean"], [0.1 * e / 3 for e in range(4)])  # members agree
    val, _ = runframes.compare_frame(_compare_runs(), "validation accuracy")
    assert np.allclose(val["mean"], 0.21) and np.allclose(val["lo"], 0.2)
    assert np.allclose(val["hi"], 0.22) and set(val["members"]) == {2}
    gini, missing = runframes.compare_frame(_compare_runs(), "loss-sensitivity Gini")
    assert set(missing) == {"clean", "noisy"}
    assert list(gini["epoch"]) == [1.0] and list(gini["mean"]) == [0.3]  # step 5 / 5 per epoch


def test_smoothing_matches_a_loop():
    from app import runframes

    x = pd.Series([1.0, 3.0, 2.0, 5.0, 4.0])
    w, ema, num, den = 0.6, [], 0.0, 0.0
    for v in x:  # debiased EMA, as TensorBoard draws it
        num, den = w * num + (1 - w) * v, w * den + (1 - w)
        ema.append(num / den)
    assert np.allclose(runframes.smooth(x, "EMA", w), ema)
    rolled = [np.mean(x[max(0, i - 2) : i + 1]) for i in range(len(x))]
    assert np.allclose(runframes.smooth(x, "rolling mean", 3), rolled)
    assert runframes.smooth(x, "none", 0.9).equals(x)
    with pytest.raises(ValueError, match="smoothing 'median' is unknown"):
        runframes.smooth(x, "median", 3)


def test_overlay_chart_colours_by_a_setting_facets_and_logs():
    from app import runframes

    df, _ = runframes.compare_frame(_compare_runs(), "validation accuracy")
    by_run = _spec(compare.overlay_chart(df, "validation accuracy"))
    line = by_run["layer"][1]["encoding"]
    assert line["color"]["field"] == "run" and line["detail"]["field"] == "run"
    assert line["y"]["scale"]["domain"] == [0, 1]
    assert any("tooltip" in e for e in _encodings(by_run))
    level = _spec(compare.overlay_chart(df, "validation accuracy", color_by="noise level"))
    color = level["layer"][1]["encoding"]["color"]
    assert color["field"] == "noise level" and color["scale"]["range"][0] == style.REAL
    faceted = _spec(compare.overlay_chart(df, "validation accuracy", "run", "width", log_y=True))
    assert faceted["facet"]["field"] == "width"
    assert faceted["spec"]["layer"][1]["encoding"]["y"]["scale"]["type"] == "log"
    loss, _ = runframes.compare_frame(_compare_runs(), "train loss (all)")
    logx = compare.overlay_chart(loss, "train loss (all)", log_x=True)
    assert logx.data["epoch"].min() > 0  # epoch 0 cannot sit on a log axis


# -- examples as pictures (charts/examples.py, runframes.example_table) -----------------------
def _panels(n, **kw):
    base = {"caption": [f"ex {i}\nP 0.5" for i in range(n)], "ink": style.REAL, "signed": False}
    return pd.DataFrame({**base, **kw})


def test_gallery_draws_each_image_in_its_ink_and_differences_blue_to_red():
    x = np.zeros((3, 1, 2, 2), dtype=np.float32)
    x[0, 0, 0, 0] = 1.0
    x[2, 0] = [[-1.0, 1.0], [0.0, 0.5]]
    panels = _panels(3, signed=[False, False, True])
    px = examples.pixel_frame(x, panels).set_index(["caption", "row", "col"])["color"]
    assert px["ex 0\nP 0.5", 0, 0] == style.REAL and px["ex 0\nP 0.5", 0, 1] == "#ffffff"
    assert px["ex 2\nP 0.5", 0, 0] == style.REAL and px["ex 2\nP 0.5", 0, 1] == style.RANDY
    assert px["ex 2\nP 0.5", 1, 0] == "#ffffff"
    rgb = np.zeros((1, 3, 1, 2), dtype=np.float32)
    rgb[0, 0, 0, 0] = 1.0  # pure red pixel
    assert list(examples.pixel_frame(rgb, _panels(1))["color"]) == ["#ff0000", "#000000"]
    spec = _spec(examples.gallery(np.repeat(x, 2, axis=2), panels, columns=2))
    assert spec["facet"]["field"] == "caption" and spec["columns"] == 2
    assert spec["facet"]["sort"] == list(panels["caption"])  # ranked order kept
    assert spec["spec"]["mark"]["type"] == "rect"


def test_gallery_draws_1d_inputs_as_lines():
    sig = np.linspace(0, 1, 2 * 40).reshape(2, 1, 40)
    chart = examples.gallery(sig, _panels(2))
    spec = _spec(chart)
    assert spec["spec"]["mark"]["type"] == "line"
    assert {"position", "value"} <= {e["field"] for e in spec["spec"]["encoding"].values()
                                      if "field" in e}  # fmt: skip
    assert len(chart.data) == 80


def test_example_table_ranks_easy_hard_and_forgotten():
    from app import runframes

    # R=3 rows (epochs 0, 1, 2), K=2 members, T=3 examples
    correct = np.array([[[0, 0, 0], [0, 0, 0]], [[1, 1, 0], [1, 0, 0]], [[1, 0, 0], [1, 0, 1]]])
    prob = np.where(correct, 0.9, 0.1).astype(np.float32)
    prob[1, :, 0] = [0.95, 0.99]
    arrays = {"correct": correct.astype(bool), "prob": prob, "epoch": np.array([0.0, 1, 2])}
    meta = {"tracked": [7, 8, 9], "tracked_noisy": [False, True, False],
            "tracked_labels": [1, 2, 3]}  # fmt: skip
    t = runframes.example_table(arrays, meta, 1.0).set_index("example")
    assert list(t["p_correct"]) == [1.0, 0.5, 0.0] and list(t["label"]) == [1, 2, 3]
    assert t.loc[7, "confidence"] == pytest.approx(0.97) and bool(t.loc[8, "noisy"])
    assert list(t["forgetting"]) == [0.0, 0.5, 0.0]  # member 0 forgets example 8 at epoch 2
    picks = runframes.pick_examples(t.reset_index(), 2)
    assert list(picks["easiest"]["example"]) == [7, 8]
    assert list(picks["hardest"]["example"]) == [9, 8]
    assert list(picks["most forgotten"]["example"]) == [8]
    assert runframes.example_table(arrays, meta, 5.0) is None  # no such epoch
    run = runframes.example_table(arrays, meta).set_index("example")  # epochs 1 and 2
    assert list(run["p_correct"]) == [1.0, 0.25, 0.25]
    assert run.loc[9, "confidence"] == pytest.approx((0.1 * 3 + 0.9) / 4)


def test_available_metrics_are_those_a_run_has_values_of():
    from app import runframes

    runs = _compare_runs()
    assert "train accuracy (noisy examples)" not in runframes.available(runs["clean"][1])
    assert "train accuracy (noisy examples)" in runframes.available(runs["noisy"][1])
    assert runframes.available(runs["sens"][1]) == [
        "loss-sensitivity Gini",
        "loss-sensitivity Gini (equal weight per time)",
    ]
    for _, recs in runs.values():  # the same as asking metric_frame one metric at a time
        expected = [m for m in runframes.METRICS if not runframes.metric_frame(recs, m).empty]
        assert runframes.available(recs) == expected
