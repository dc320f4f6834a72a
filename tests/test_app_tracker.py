"""AppTest for the Runs page as an experiment tracker and the Examples page (issue 14, items
4-5), on runs written into a tmp store as test_app_pages does (with tests/app_helpers.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from app_helpers import (
    app,
    app_store,
    charts,
    fake_records,
    fields,
    no_exception,
    seed,
    sens_records,
)

from memcore.spec import RunSpec
from memcore.spec.presets import preset


@pytest.fixture
def store(tmp_path, monkeypatch):
    return app_store(tmp_path, monkeypatch)


# -- the Runs page as an experiment tracker; the Examples page (issue 14, items 4-5) -----------
def chart_data(el) -> pd.DataFrame:
    """The rows a drawn chart holds (Streamlit sends them beside the spec, as Arrow)."""

    parts = [pa.ipc.open_stream(d.data.data).read_pandas() for d in el.proto.datasets]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def all_fields(spec: dict) -> set[str]:
    """`fields` through facets too (a faceted chart keeps its panels under "spec")."""
    out = fields(spec)
    if "spec" in spec:
        out |= all_fields(spec["spec"])
    if "facet" in spec:
        out.add(spec["facet"].get("field", ""))
    return out


def three_noise_levels(store) -> list[str]:
    base = {"model.width": 20, "train.epochs": 3, "train.members": 2}
    keys = [seed(store, preset("digits-mlp", **base))]
    for level in (0.2, 0.4):
        noisy = {"noise.kind": "randY", "noise.level": level}
        keys.append(seed(store, preset("digits-mlp", **base, **noisy)))
    return keys


def test_runs_page_metric_choice_colour_facet_and_smoothing(store):
    keys = three_noise_levels(store)
    at = app()
    at.switch_page("../pages/runs.py").run()
    no_exception(at)
    assert set(at.multiselect(key="runs:pick").value) == set(keys)
    assert at.selectbox(key="runs:metric").value == "validation accuracy"
    drawn = chart_data(at.get("vega_lite_chart")[0])
    assert set(drawn["run"].str[-6:]) == {k[:6] for k in keys}
    assert drawn["mean"].max() == pytest.approx((0.1 + 0.75 + 0.005) * 0.9)  # fake val_acc
    # legend labels say the regularizer-free model, K and the noise of each run
    assert any("randY 0.4" in r and "K=2" in r for r in drawn["run"])

    at.selectbox(key="runs:metric").set_value("critical sample ratio").run()
    spec = charts(at)[0]
    assert "critical sample ratio" in json.dumps(spec["layer"][1]["encoding"]["y"])
    csr = chart_data(at.get("vega_lite_chart")[0])
    assert sorted(set(csr["mean"].round(6))) == [0.01, 0.02, 0.03, 0.04]  # 0.01 (e + 1)

    at.selectbox(key="runs:color").set_value("noise level").run()
    spec = charts(at)[0]
    assert spec["layer"][1]["encoding"]["color"]["field"] == "noise level"
    at.selectbox(key="runs:facet").set_value("noise kind").run()
    spec = charts(at)[0]
    assert spec["facet"]["field"] == "noise kind" and "mean" in all_fields(spec)

    at.selectbox(key="runs:facet").set_value("none")
    at.selectbox(key="runs:metric").set_value("train accuracy (noisy examples)").run()
    raw = chart_data(at.get("vega_lite_chart")[0])
    assert raw["noise level"].min() > 0  # the clean run has no noisy examples: left out, said so
    assert any("Not drawn, no train accuracy (noisy examples)" in c.value for c in at.caption)
    at.selectbox(key="runs:smooth").set_value("rolling mean").run()
    at.slider(key="runs:window").set_value(3).run()
    smooth = chart_data(at.get("vega_lite_chart")[0])
    r0 = raw[raw["run"] == raw["run"].iloc[0]].sort_values("epoch")["mean"].to_numpy()
    s0 = smooth[smooth["run"] == raw["run"].iloc[0]].sort_values("epoch")["mean"].to_numpy()
    assert s0 == pytest.approx([r0[0], r0[:2].mean(), r0[:3].mean(), r0[1:4].mean()])
    at.checkbox(key="runs:logy").check().run()
    assert charts(at)[0]["layer"][1]["encoding"]["y"]["scale"]["type"] == "log"
    no_exception(at)


def test_runs_page_sensitivity_run_gets_its_gini_never_a_silent_empty_chart(store):
    sens = seed(
        store,
        preset("sensitivity-2x16"),
        runner=lambda s, resume=None, should_stop=None: sens_records(s),
    )
    train = seed(store, preset("digits-mlp", **{"model.width": 20, "train.epochs": 2}))
    at = app()
    at.switch_page("../pages/runs.py").run()
    assert at.multiselect(key="runs:pick").value == [train]  # training runs by default
    at.multiselect(key="runs:pick").set_value([train, sens]).run()
    notes = " ".join(c.value for c in at.caption)
    assert "Not drawn, no validation accuracy" in notes and "loss-sensitivity Gini" in notes
    at.multiselect(key="runs:pick").set_value([sens]).run()
    no_exception(at)
    assert at.selectbox(key="runs:metric").value == "loss-sensitivity Gini"
    gini = chart_data(at.get("vega_lite_chart")[0])
    # steps 10, 20, 30 at 10 steps per epoch -> epochs 1, 2, 3
    assert list(gini["epoch"]) == [1.0, 2.0, 3.0]
    assert list(gini["mean"]) == pytest.approx([0.2, 0.4, 0.6])


def digits_records(spec: RunSpec):
    """fake_records with the run's real tracked labels (so the page finds the data it expects)
    and, with the last evaluation, two stored critical pairs."""
    from memcore.data import noise

    data = noise.prepare(spec)
    recs = list(fake_records(spec))
    meta = recs[0]
    meta["tracked_labels"] = data.y_train[: len(meta["tracked"])].tolist()
    meta["tracked_noisy"] = data.noisy[: len(meta["tracked"])].tolist()
    last = [r for r in recs if r["type"] == "arrays"][-1]
    x = data.x_val[:2].numpy()
    last["arrays"] |= {
        "critical_x": x, "critical_adv": np.clip(x + 0.004, 0, 1),
        "critical_pred": np.array([3, 5]), "critical_adv_pred": np.array([8, 6]),
        "critical_label": data.y_val[:2].numpy(), "critical_index": np.array([0, 1]),
    }  # fmt: skip
    yield from recs


def test_examples_page_draws_the_examples_with_label_p_and_noise(store):
    spec = preset(
        "digits-mlp",
        **{"model.width": 20, "train.epochs": 3, "train.members": 4, "noise.kind": "randY",
           "noise.level": 0.5},
    )  # fmt: skip
    key = seed(store, spec, runner=lambda s, resume=None, should_stop=None: digits_records(s))
    at = app({"run": key})
    at.switch_page("../pages/examples.py").run()
    no_exception(at)
    assert not at.warning and not at.error
    assert at.selectbox(key="examples:run").value == key
    headers = [h.value for h in at.subheader]
    assert headers == ["Easiest", "Hardest", "Most forgotten", "Critical samples"]
    drawn = at.get("vega_lite_chart")
    assert len(drawn) == 4
    easiest = chart_data(drawn[0])
    assert set(easiest.columns) >= {"caption", "row", "col", "color"}
    assert easiest.groupby("caption").size().eq(64).all()  # 8 x 8 pixels per example
    assert easiest["caption"].nunique() == 16  # the default count per group
    captions = list(dict.fromkeys(easiest["caption"]))
    assert all("\nP " in c and ("clean" in c or "noisy" in c) for c in captions)
    assert any("(true " in c for c in chart_data(drawn[1])["caption"])  # randY: the true class
    critical = list(dict.fromkeys(chart_data(drawn[3])["caption"]))
    assert len(critical) == 6 and "predicted 3" in critical[0]
    assert "adversarial\npredicted 8" in critical[1] and "difference" in critical[2]
    assert charts(at)[0]["facet"]["field"] == "caption"


def test_examples_page_without_critical_pairs_or_with_a_sensitivity_run_says_why(store):
    seed(store, preset("sensitivity-2x16"),
         runner=lambda s, resume=None, should_stop=None: sens_records(s))  # fmt: skip
    at = app()
    at.switch_page("../pages/examples.py").run()
    assert any("No training run with tracked examples" in i.value for i in at.info)
    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 2, "train.members": 2})
    key = seed(store, spec)  # fake_records' tracked labels are not the data's: said so
    at = app({"run": key})
    at.switch_page("../pages/examples.py").run()
    no_exception(at)
    assert any("labels differ" in w.value for w in at.warning)
    assert any("No critical samples" in c.value for c in at.caption)


def test_examples_page_takes_a_key_prefix_and_lists_only_runs_with_examples(store):
    """The 12 characters the app and CLI print open the run; a newer run that tracked no
    examples (a figure sweep's) is neither listed nor the default."""
    from app.links import resolve_run

    base = {"model.width": 20, "train.epochs": 2, "train.members": 2}
    runner = lambda s, resume=None, should_stop=None: digits_records(s)  # noqa: E731
    key = seed(store, preset("digits-mlp", **base), runner=runner)
    bare = seed(store, preset("digits-mlp", **base, **{"metrics.track_size": 0}), runner=runner)
    at = app({"run": key[:12]})
    at.switch_page("../pages/examples.py").run()
    no_exception(at)
    assert not at.warning, [w.value for w in at.warning]
    box = at.selectbox(key="examples:run")
    assert box.value == key and bare not in box.options and len(box.options) == 1
    at = app()
    at.switch_page("../pages/examples.py").run()
    assert at.selectbox(key="examples:run").value == key  # the newest run with examples
    at = app({"run": "0123456789ab"})
    at.switch_page("../pages/examples.py").run()
    from test_errors import plain

    assert any("No training run with key '0123456789ab'" in plain(w.value) for w in at.warning)
    assert resolve_run("AB1", ["ab12", "ab13", "cd"])[1].startswith("2 runs have keys")
    assert resolve_run(" ab12 ", ["ab12", "ab13"]) == ("ab12", None)


def test_examples_page_draws_mnist1d_inputs_as_line_plots(store):
    spec = preset("mnist1d-mlp", **{"model.width": 20, "train.epochs": 2, "train.members": 2})
    key = seed(store, spec, runner=lambda s, resume=None, should_stop=None: digits_records(s))
    at = app({"run": key})
    at.switch_page("../pages/examples.py").run()
    no_exception(at)
    assert not at.warning and not at.error
    specs = charts(at)
    assert len(specs) == 4 and all(s["spec"]["mark"]["type"] == "line" for s in specs)
    easiest = chart_data(at.get("vega_lite_chart")[0])
    assert easiest.groupby("caption").size().eq(40).all()  # 40 positions per signal


# -- runs like an experiment tracker ([Q] #23 items 13-14) -------------------------------------
def runs_page(params: dict[str, str] | None = None):
    at = app()
    for k, v in (params or {}).items():
        at.query_params[k] = v
    return at.switch_page("../pages/runs.py").run()


def test_a_comparison_link_restores_runs_metric_smoothing_and_axes(store):
    keys = three_noise_levels(store)
    link = {"runs": ",".join(k[:12] for k in keys[1:]), "metric": "critical sample ratio",
            "color": "noise level", "smooth": "EMA", "amount": "0.5", "x": "step",
            "logy": "1"}  # fmt: skip
    at = runs_page(link)
    no_exception(at)
    assert at.multiselect(key="runs:pick").value == keys[1:]
    assert at.selectbox(key="runs:metric").value == "critical sample ratio"
    assert at.selectbox(key="runs:color").value == "noise level"
    assert at.slider(key="runs:ema").value == 0.5 and at.checkbox(key="runs:logy").value
    spec = charts(at)[0]
    assert spec["layer"][1]["encoding"]["x"]["field"] == "step"
    assert spec["layer"][1]["encoding"]["y"]["scale"]["type"] == "log"
    assert {k: at.query_params[k] for k in link} == link  # the address is the comparison
    at.selectbox(key="runs:metric").set_value("validation accuracy").run()
    assert at.query_params["metric"] == "validation accuracy"  # a change is written back
    assert at.query_params["runs"] == link["runs"]


def test_the_default_overlay_never_mixes_datasets(store):
    base = {"model.width": 20, "train.epochs": 2, "train.members": 2}
    digits = seed(store, preset("digits-mlp", **base))
    newest = seed(store, preset("mnist1d-mlp", **base))
    at = runs_page()
    assert at.multiselect(key="runs:pick").value == [newest]
    at.multiselect(key="runs:pick").set_value([newest, digits]).run()
    assert any("different datasets" in w.value for w in at.warning)


def test_runs_are_named_tagged_annotated_and_grouped_by_figure(store):
    from memcore.figures import get
    from memcore.jobs import api

    own = seed(store, preset("digits-mlp", **{"model.width": 20, "train.epochs": 2}))
    sweep = get("capacity").grid("digits", "test")[0]
    swept = seed(store, sweep)
    at = runs_page()
    at.selectbox(key="runs:one").set_value(own).run()
    at.text_input[0].input("baseline")
    at.text_input[1].input("lr, first")
    at.text_area[0].input("before the lr sweep")
    save = next(b for b in at.button if b.label.startswith("Save"))
    save.click().run()
    no_exception(at)
    row = next(r for r in api.list_runs(store) if r["key"] == own)
    assert (row["name"], row["tags"], row["note"]) == ("baseline", ["lr", "first"],
                                                       "before the lr sweep")  # fmt: skip
    table = at.dataframe[0].value
    assert list(table["key"]) == [own, swept]  # own runs first, then each figure's sweep
    assert table.set_index("key").loc[swept, "figure"].startswith("capacity")
    assert table.set_index("key").loc[own, ["name", "tags"]].tolist() == ["baseline", "lr, first"]
    at.multiselect(key="runs:tags").set_value(["lr"]).run()
    assert list(at.dataframe[0].value["key"]) == [own]
    legend = chart_data(at.get("vega_lite_chart")[0])["run"]
    assert legend.str.startswith("baseline · ").any()  # the overlay's legend uses the name


def test_export_carries_each_runs_configuration_summary_and_radius_in_form_units(store):
    from app import views
    from memcore.jobs import api

    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 2, "metrics.csr_radius": 8})
    key = seed(store, spec)
    js = api.status(key, store)
    out = views.export_frame({key: (spec, api.records(key, 0, store), js)})
    assert set(out["type"]) == {"epoch", "csr", "done"} and (out["key"] == key).all()
    assert (out["config.model.width"] == 20).all()
    assert (out["config.data.dataset"] == "digits").all()
    assert set(out[out["type"] == "csr"]["radius_255"]) == {8.0}  # the records say 8/255
    assert json.loads(out["summary"].iloc[0]) == (js.summary or {})
    assert {f"config.{k}" for k in spec.to_flat()} <= set(out.columns)
