"""AppTest for every page: loads cleanly, the form makes the expected spec, stored runs render
their charts, errors show as st.error, links restore the form.

No worker is started (MEMCORE_WORKERS=0): finished runs are written into a tmp store by running
the jobs module's own Worker in-process on a hand-made record stream (the record contract of
memcore/records.py), so these tests need neither training nor subprocesses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_errors import plain

from app import forms, links
from memcore.datasets import REGISTRY
from memcore.jobs import api, lease
from memcore.jobs.worker import Worker
from memcore.spec import RunSpec
from memcore.spec.presets import preset
from memcore.store import open_store

ROOT = Path(__file__).resolve().parents[1]
MAIN = str(ROOT / "app" / "main.py")
TIMEOUT = 120


@pytest.fixture
def store(tmp_path, monkeypatch):
    return app_store(tmp_path, monkeypatch)


def app_store(tmp_path, monkeypatch):
    """A fresh store folder; the app starts no worker."""
    path = tmp_path / "store"
    monkeypatch.setenv("MEMCORE_STORE", str(path))
    monkeypatch.setenv("MEMCORE_WORKERS", "0")
    monkeypatch.setenv("MEMCORE_OFFLINE", "1")
    return open_store(path)


def fake_records(spec: RunSpec, fail_at: int | None = None):
    """A train run's records: meta, per epoch K epoch records, K csr records, one arrays
    record (correct/prob/loss for T tracked examples), a checkpoint; then done."""
    k, e_max, t = spec.train.members, spec.train.epochs, 30
    noisy = [i % 3 == 0 for i in range(t)] if spec.noise.level > 0 else [False] * t
    yield {
        "type": "meta", "n_train": 100, "n_val": 50, "n_noisy": sum(noisy), "n_classes": 10,
        "classes": [str(c) for c in range(10)], "input_shape": [1, 8, 8], "device": "cpu",
        "members": k, "steps_per_epoch": 2, "tracked": list(range(t)), "tracked_noisy": noisy,
        "tracked_labels": [i % 10 for i in range(t)],
    }  # fmt: skip
    rng = np.random.default_rng(0)
    for e in range(e_max + 1):
        if e == fail_at:
            raise RuntimeError("boom: a deliberate test failure")
        for m in range(k):
            acc = min(1.0, 0.1 + 0.25 * e + 0.01 * m)
            yield {
                "type": "epoch", "epoch": float(e), "step": 2 * e, "member": m, "lr": 0.1,
                "train_loss": 2.0 - 0.3 * e, "train_acc": acc, "clean_loss": 1.0,
                "clean_acc": acc, "noisy_loss": 2.0 if any(noisy) else None,
                "noisy_acc": acc / 3 if any(noisy) else None, "val_loss": 1.5,
                "val_acc": acc * 0.9, "wall": 0.1 * e,
            }  # fmt: skip
            yield {
                "type": "csr", "epoch": float(e), "step": 2 * e, "member": m,
                "csr": 0.01 * (e + 1), "iters": 3, "radius": 8 / 255, "set": "val",
                "wall": 0.1 * e,
            }  # fmt: skip
        p = rng.random((k, t)).astype(np.float32) * min(1.0, 0.3 + 0.3 * e)
        yield {
            "type": "arrays", "epoch": float(e), "step": 2 * e,
            "arrays": {"correct": p > 0.3, "prob": p, "loss": -np.log(p + 1e-3)},
        }  # fmt: skip
        yield {"type": "checkpoint", "epoch": e, "state": {"epoch": e}}
    yield {"type": "done", "wall": 1.0, "epochs_run": e_max, "summary": {}}


def sens_records(spec: RunSpec):
    yield {"type": "meta", "members": 1, "steps_per_epoch": 10, "n_classes": 3,
           "classes": ["a", "b", "c"]}  # fmt: skip
    for s in range(1, 4):
        yield {"type": "sens", "step": 10 * s, "gini": 0.2 * s, "gini_time": 0.15 * s,
               "mean": 1.0, "wall": 0.1 * s}  # fmt: skip
    yield {
        "type": "arrays", "epoch": 1.0, "step": 30,
        "arrays": {"class_matrix": np.array([[5.0, 0.1, 0.0], [0.2, 4.0, 0.1], [0.01, 0.3, 3.0]]),
                   "sensitivity": np.arange(12.0), "labels": np.arange(12) % 3,
                   "noisy": np.zeros(12, dtype=bool)},
    }  # fmt: skip
    yield {"type": "done", "wall": 0.3, "epochs_run": 1, "summary": {}}


def seed(store, spec: RunSpec, runner=None, **kw) -> str:
    """Compute `spec` in this process with the jobs Worker on a hand-made record stream."""
    key = api.submit(spec, store)
    runner = runner or (lambda s, resume=None, should_stop=None: fake_records(s, **kw))
    w = Worker(store, runner=runner)
    claim = lease.claim(store, w.id)
    assert claim is not None and claim.key == key
    w.run_job(claim)
    return key


def app(params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    return at.run()


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def fields(spec: dict) -> set[str]:
    """Every encoded field name anywhere in a (layered/concatenated) Vega-Lite spec."""
    out, stack = set(), [spec]
    while stack:
        s = stack.pop()
        for enc in s.get("encoding", {}).values():
            if isinstance(enc, dict) and "field" in enc:
                out.add(enc["field"])
        for k in ("layer", "hconcat", "vconcat", "concat"):
            stack.extend(s.get(k, []))
    return out


def widget(at: AppTest, name: str):
    return (
        at.sidebar.get_by_key(f"explore:{name}")
        if hasattr(at.sidebar, "get_by_key")
        else (at.get_by_key(f"explore:{name}"))
    )


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# -- pages load -------------------------------------------------------------------------------
@pytest.mark.parametrize("page", [None, "../pages/runs.py", "../pages/about.py"])
def test_every_page_loads_on_an_empty_store(store, page):
    at = app()
    if page:
        at.switch_page(page).run()
    no_exception(at)
    assert not at.error
    assert at.title


def test_sidebar_shows_workers_and_device(store):
    at = app()
    text = " ".join(c.value for c in at.sidebar.caption)
    assert "workers alive: 0" in text and "device: " in text


def test_supervised_workers_are_wanted_in_the_sidebar_and_not_started_by_the_app(
    store, monkeypatch
):
    """docker/entrypoint.sh runs the workers itself (MEMCORE_WORKERS_SUPERVISED=1): the app
    starts none, even on Run, and the sidebar shows the operator's MEMCORE_WORKERS."""
    from memcore.jobs import pool

    started = []
    monkeypatch.setattr(pool, "ensure_workers", lambda *a, **k: started.append(a))
    monkeypatch.setenv("MEMCORE_WORKERS", "2")
    monkeypatch.setenv("MEMCORE_WORKERS_SUPERVISED", "1")
    at = app()
    at.button(key="explore:run").click().run()
    no_exception(at)
    text = " ".join(c.value for c in at.sidebar.caption)
    assert "workers alive: 0 (wanted 2)" in text
    assert api.list_runs(store) and started == []
    monkeypatch.delenv("MEMCORE_WORKERS_SUPERVISED")  # the reference: unsupervised, it starts 2
    at = app()
    at.button(key="explore:run").click().run()
    assert started and all(a[0] == 2 for a in started)


# -- the form ---------------------------------------------------------------------------------
def test_form_produces_the_expected_spec_and_link(store):
    at = app()
    at.selectbox(key="explore:noise.kind").set_value("randY")
    at.slider(key="explore:noise.level").set_value(0.5)
    at.number_input(key="explore:model.width").set_value(48)
    at.number_input(key="explore:train.epochs").set_value(3)
    at.number_input(key="explore:train.members").set_value(4)
    at.button(key="explore:run").click().run()
    no_exception(at)
    expected = preset(
        "digits-mlp",
        **{"noise.kind": "randY", "noise.level": 0.5, "model.width": 48, "train.epochs": 3,
           "train.members": 4},
    )  # fmt: skip
    assert [r["key"] for r in api.list_runs(store)] == [expected.key]
    assert api.spec(expected.key, store) == expected
    params = {k: at.query_params[k] for k in at.query_params}
    assert params["model.width"] == "48" and params["noise.kind"] == "randY"
    assert "train.device" not in params  # only fields that differ from RunSpec()
    assert any("Queued" in i.value for i in at.info)
    assert any("No worker is alive" in i.value for i in at.info)


def test_a_link_and_the_form_mean_the_same_run_and_cost(store):
    """`?model.width=4096` is what typing 4096 into a fresh form gives: the same spec, so the
    same estimate under Run (a link's unstated fields are the form's own defaults)."""

    def cost(at: AppTest) -> str:
        no_exception(at)
        return next(c.value for c in at.sidebar.caption if c.value.startswith("Estimated time"))

    linked = app({"model.width": "4096"})
    typed = app()
    typed.number_input(key="explore:model.width").set_value(4096).run()
    assert cost(linked) == cost(typed) and "TFLOP" in cost(typed)
    assert forms.spec_from_state(linked.session_state, "explore") == forms.spec_from_state(
        typed.session_state, "explore"
    )
    assert links.short_params(links.app_default().replace(**{"model.width": 4096})) == {
        "model.width": "4096"
    }


def test_preset_and_dataset_change_fill_their_defaults(store):
    at = app()
    at.selectbox(key="explore:preset").set_value("mnist-mlp").run()
    assert at.number_input(key="explore:model.width").value == 4096
    assert at.number_input(key="explore:train.lr").value == pytest.approx(0.01)
    at.selectbox(key="explore:data.dataset").set_value("mnist1d").run()
    assert at.number_input(key="explore:train.lr").value == pytest.approx(0.1)
    want = REGISTRY["mnist1d"].run_defaults["metrics.csr_radius"]
    assert at.number_input(key="explore:metrics.csr_radius").value == pytest.approx(want)
    no_exception(at)


def test_a_dataset_change_says_which_values_it_changed(store):
    """digits -> mnist sets mnist's run defaults, and a visible note names each, old -> new."""
    at = app()
    at.selectbox(key="explore:data.dataset").set_value("mnist").run()
    no_exception(at)
    note = " ".join(i.value for i in at.sidebar.info)
    assert "Switching to mnist" in note
    assert "Learning rate 0.1 → 0.01" in note and "Batch size 64 → 128" in note
    assert at.number_input(key="explore:train.lr").value == pytest.approx(0.01)
    at.selectbox(key="explore:data.dataset").set_value("mnist1d").run()
    note = " ".join(i.value for i in at.sidebar.info)
    assert "Learning rate 0.01 → 0.1" in note and "mnist " not in note.replace("mnist1d", "")


def test_a_partial_link_fills_the_rest_with_the_forms_defaults(store):
    """One default for form and links: ?model.width=300 keeps 30 epochs, lr 0.1, CSR every 5
    of the app's default (not RunSpec()'s 20 epochs, lr 0.01, no CSR)."""
    from app.links import app_default

    at = app({"model.width": "300"})
    no_exception(at)
    assert at.number_input(key="explore:model.width").value == 300
    d = app_default()
    for name in ("train.epochs", "train.lr", "metrics.csr_every", "train.batch_size"):
        want = d.to_flat()[name]
        assert at.number_input(key=f"explore:{name}").value == pytest.approx(want), name
    assert (d.train.epochs, d.train.lr, d.metrics.csr_every) == (30, 0.1, 5)
    at = app({"data.dataset": "mnist1d"})
    assert at.number_input(key="explore:train.lr").value == pytest.approx(0.1)
    assert at.number_input(key="explore:model.width").value == 256


def test_invalid_setting_shows_st_error_and_submits_nothing(store):
    at = app()
    at.slider(key="explore:noise.level").set_value(0.5).run()  # noise.kind is still "none"
    errors = [plain(e.value) for e in at.error]  # messages are escaped Markdown (app.errors)
    assert any("noise.level" in e and "none" in e for e in errors), errors
    at.button(key="explore:run").click().run()
    assert api.list_runs(store) == []
    no_exception(at)


def test_unavailable_dataset_names_the_folder(store, tmp_path, monkeypatch):
    monkeypatch.setenv("MEMCORE_DATA", str(tmp_path / "data"))
    at = app()
    at.selectbox(key="explore:data.dataset").set_value("mnist").run()
    at.button(key="explore:run").click().run()
    errors = " ".join(e.value for e in at.error)
    assert "not available offline" in errors and str(tmp_path / "data") in errors
    assert api.list_runs(store) == []


# -- stored runs --------------------------------------------------------------------------------
def test_link_restores_the_form_and_shows_the_stored_run(store):
    changes = {"noise.kind": "randX", "noise.level": 0.4, "model.width": 24}
    spec = preset("digits-mlp", **changes, **{"train.epochs": 3, "train.members": 3})
    seed(store, spec)
    from app.links import short_params

    at = app(short_params(spec))
    no_exception(at)
    assert at.number_input(key="explore:model.width").value == 24
    assert at.selectbox(key="explore:noise.kind").value == "randX"
    assert at.slider(key="explore:noise.level").value == pytest.approx(0.4)
    assert at.metric[0].value == "3 / 3"  # the last epoch, readable at a glance
    specs = charts(at)
    all_fields = [fields(s) for s in specs]
    assert any({"epoch", "mean", "series"} <= f for f in all_fields)  # accuracy
    acc = next(s for s in specs if "series" in fields(s))
    assert "train (noisy)" in json.dumps(acc)
    assert any("critical sample ratio" in json.dumps(s) for s in specs)
    assert any({"p_correct", "rank"} <= f for f in all_fields)  # easiness: histogram + sorted
    assert any({"variability", "confidence"} <= f for f in all_fields)  # data map
    assert any("forgetting" in f for f in all_fields)
    assert len(at.caption) >= len(specs)  # a how-to-read caption per chart
    assert not at.error


def test_invalid_link_shows_error_not_exception(store):
    at = app({"model.width": "lots"})
    no_exception(at)
    assert any("model.width" in plain(e.value) for e in at.error)


def test_failed_run_shows_message_and_traceback_in_expander(store):
    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 3})
    seed(store, spec, fail_at=2)
    from app.links import short_params

    at = app(short_params(spec))
    no_exception(at)
    assert any("boom: a deliberate test failure" in plain(e.value) for e in at.error)
    assert at.expander and "Traceback" in at.expander[0].code[0].value
    assert "Traceback" not in " ".join(e.value for e in at.error)


def test_sensitivity_run_shows_gini_and_log_heatmap(store):
    spec = preset("sensitivity-2x16")
    seed(store, spec, runner=lambda s, resume=None, should_stop=None: sens_records(s))
    from app.links import short_params

    at = app(short_params(spec))
    no_exception(at)
    specs = charts(at)
    heat = next(s for s in specs if "loss_class" in fields(s))
    assert heat["encoding"]["color"]["scale"]["type"] == "log"
    gini = next(s for s in specs if {"step", "variant"} <= fields(s))
    assert "running mean" in json.dumps(gini)


def test_runs_page_lists_compares_and_deletes(store):
    a = seed(store, preset("digits-mlp", **{"model.width": 20, "train.epochs": 2}))
    noisy = {"noise.kind": "randY", "noise.level": 0.2}
    b = seed(store, preset("digits-mlp", **{"model.width": 40, "train.epochs": 2}, **noisy))
    at = app()
    at.switch_page("../pages/runs.py").run()
    no_exception(at)
    table = at.dataframe[0].value
    assert set(table["key"]) == {a, b} and set(table["status"]) == {"done"}
    assert {"train acc", "val acc", "CSR", "duration (s)"} <= set(table.columns)
    assert set(at.multiselect(key="runs:pick").value) == {a, b}  # done runs overlaid by default
    assert any({"run", "epoch", "mean", "lo", "hi"} <= fields(s) for s in charts(at))
    assert len(at.get("download_button")) == 3
    at.selectbox(key="runs:one").set_value(a)
    at.button(key="runs:delete").click().run()
    no_exception(at)
    assert [r["key"] for r in api.list_runs(store)] == [b]


def test_running_run_shows_progress_live_charts_and_cancels(store):
    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 3})
    key = api.submit(spec, store)
    claim = lease.claim(store, "test-worker")
    assert claim is not None and claim.key == key
    recs = list(fake_records(spec))
    shown = ("meta", "epoch")
    first_two_epochs = [r for r in recs if r["type"] in shown and r.get("epoch", 0) <= 1]
    progress = {"epoch": 1.0, "epochs": 3, "fraction": 1 / 3}
    lease.set_pending(store, key, "test-worker", first_two_epochs, progress)
    from app.links import short_params

    at = app(short_params(spec))
    no_exception(at)
    bar = at.get("progress")
    assert bar and "epoch 1 / 3" in bar[0].proto.text
    assert at.metric[0].value == "1 / 3"
    assert any("series" in fields(s) for s in charts(at))  # the curve so far
    at.button(key=f"cancel:{key}").click().run()
    no_exception(at)
    assert api.status(key, store).status == "cancelled"
    assert any("Cancelled at epoch" in w.value for w in at.warning)


def test_a_real_engine_run_renders_every_training_chart(store, tiny_spec):
    """The same page on records written by memcore.engine.trainer (not hand-made ones)."""
    from memcore.jobs.worker import default_runner

    spec = tiny_spec.replace(
        **{"train.members": 3, "metrics.csr_every": 1, "noise.kind": "randY", "noise.level": 0.3}
    )
    seed(store, spec, runner=default_runner)
    assert api.status(spec.key, store).status == "done"
    from app.links import short_params

    at = app(short_params(spec))
    no_exception(at)
    assert not at.error
    assert at.metric[0].value == f"{spec.train.epochs} / {spec.train.epochs}"
    found = [fields(s) for s in charts(at)]
    for needed in ({"series", "mean"}, {"p_correct", "rank"}, {"variability", "confidence"}):
        assert any(needed <= f for f in found), needed
    assert any("critical sample ratio" in json.dumps(s) for s in charts(at))


def test_a_link_to_a_run_not_stored_yet_shows_it_once_it_is(store):
    """'Not found' is never cached: a shared link opened before its run exists shows the run
    as soon as it is stored (it used to say "This run was deleted." until a restart)."""
    from app import state
    from app.links import short_params

    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 2})
    assert state.spec_of(spec.key) is None
    at = app(short_params(spec))
    assert any("not been run yet" in i.value for i in at.info)
    seed(store, spec)
    assert state.spec_of(spec.key) == spec
    at.run()
    no_exception(at)
    assert not [w for w in at.warning if "deleted" in w.value]
    assert charts(at)


# -- links that name their problems, kept as the user wrote them --------------------------------
def test_a_misspelt_parameter_is_named_and_the_link_kept_until_reset(store):
    from memcore.spec import from_flat

    valid = from_flat({"train.epochs": 8, "train.members": 2})
    seed(store, valid)  # the link's valid part is stored: still, the address is not rewritten
    link = {"model.widht": "64", "train.epochs": "8", "train.members": "2"}
    at = app(link)
    no_exception(at)
    errors = " ".join(plain(e.value) for e in at.error)
    assert "unknown parameter model.widht (did you mean model.width?)" in errors
    assert {k: at.query_params[k] for k in at.query_params} == link
    assert any("model.widht=64" in c.value for c in at.code)  # the user's link, shown
    assert at.number_input(key="explore:train.epochs").value == 8  # its valid values loaded
    at.run()
    assert {k: at.query_params[k] for k in at.query_params} == link  # still kept on a rerun
    at.button(key="explore:reset").click().run()
    no_exception(at)
    assert not at.error
    assert "model.widht" not in at.query_params
    assert at.number_input(key="explore:model.width").value == preset("digits-mlp-k4").model.width
    assert at.selectbox(key="explore:preset").value == "digits-mlp-k4"


def test_every_invalid_value_of_a_link_is_named(store):
    at = app({"model.width": "lots", "noise.level": "0.5", "train.epochs": "4"})
    no_exception(at)
    errors = " ".join(plain(e.value) for e in at.error)  # as rendered: the values are escaped
    assert "model.width='lots'" in errors and "cannot be read as int" in errors
    assert "noise.level=0.5" in errors and "noise.kind" in errors
    assert at.query_params["model.width"] == "lots"  # kept, not replaced by the defaults
    assert at.number_input(key="explore:train.epochs").value == 4


def test_preset_box_says_custom_after_an_edit(store):
    at = app()
    assert at.selectbox(key="explore:preset").value == "digits-mlp-k4"
    at.number_input(key="explore:model.width").set_value(48).run()
    assert at.selectbox(key="explore:preset").value == "custom"
    at.selectbox(key="explore:preset").set_value("mnist1d-mlp").run()
    assert at.selectbox(key="explore:preset").value == "mnist1d-mlp"
    at.selectbox(key="explore:data.dataset").set_value("digits").run()
    assert at.selectbox(key="explore:preset").value == "custom"
    no_exception(at)
    from app.links import short_params

    assert app(short_params(preset("mnist1d-mlp"))).selectbox(key="explore:preset").value == (
        "mnist1d-mlp"  # a link to a preset's exact values names it
    )


# -- what a run's page says ---------------------------------------------------------------------
CSR_OFF_NOTE = "No critical sample ratio"


def test_csr_note_only_when_csr_is_off(store):
    from app.links import short_params

    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 3})
    assert spec.metrics.csr_every == 5
    key = api.submit(spec, store)
    lease.claim(store, "test-worker")
    epoch0 = [r for r in fake_records(spec)
              if r["type"] == "meta" or (r["type"] == "epoch" and r["epoch"] == 0)]  # fmt: skip
    lease.set_pending(store, key, "test-worker", epoch0, {"epoch": 0.0, "epochs": 3})
    at = app(short_params(spec))
    no_exception(at)
    assert charts(at) and not any(CSR_OFF_NOTE in c.value for c in at.caption)

    off = spec.replace(**{"metrics.csr_every": 0, "model.width": 21})
    seed(store, off, runner=lambda s, resume=None, should_stop=None: (
        r for r in fake_records(s) if r["type"] != "csr"))  # fmt: skip
    at = app(short_params(off))
    assert any(CSR_OFF_NOTE in c.value for c in at.caption)


def test_a_run_failed_before_its_first_evaluation_shows_its_error_not_waiting(store):
    from app.links import short_params

    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 3})
    seed(store, spec, fail_at=0)
    at = app(short_params(spec))
    no_exception(at)
    assert any("boom" in e.value for e in at.error)
    assert not [c for c in at.caption if "Waiting" in c.value]


def test_running_progress_shows_an_eta_from_the_records(store):
    from app.links import short_params

    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 3, "metrics.csr_every": 0})
    key = api.submit(spec, store)
    lease.claim(store, "test-worker")
    recs = [
        {**r, "wall": 30.0 * r["epoch"]} if r["type"] == "epoch" else r  # 30 s per epoch
        for r in fake_records(spec)
        if r["type"] == "meta" or (r["type"] == "epoch" and r["epoch"] <= 1)
    ]
    lease.set_pending(store, key, "test-worker", recs, {"epoch": 1.0, "epochs": 3})
    at = app(short_params(spec))
    text = at.get("progress")[0].proto.text
    assert re.search(r"ETA (59|60) s", text), text  # two epochs of 30 s are left


def test_easiness_histogram_bars_centred_on_k_over_k(store):
    from app.links import short_params

    spec = preset("digits-mlp", **{"model.width": 22, "train.epochs": 3, "train.members": 4})
    seed(store, spec)
    at = app(short_params(spec))
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    element = next(
        c for c in at.get("vega_lite_chart") if "rank" in fields(json.loads(c.proto.spec))
    )
    easy = json.loads(element.proto.spec)
    hist = easy["hconcat"][0]["layer"][0]
    data = {d.name: convert_arrow_bytes_to_pandas_df(d.data.data) for d in element.proto.datasets}
    bars = data[hist["data"]["name"]]
    k = spec.train.members
    assert len(bars) and np.allclose((bars["lo"] + bars["hi"]) / 2, bars["p_correct"])
    assert np.allclose(bars["p_correct"] * k, np.round(bars["p_correct"] * k))  # on k/K
    x = hist["encoding"]["x"]
    assert x["scale"]["domain"] == pytest.approx([-0.5 / k, 1 + 0.5 / k])
    assert x["axis"]["values"] == [i / k for i in range(k + 1)]  # a tick on every bar


# -- the loss-sensitivity views from Explore ---------------------------------------------------
def test_explore_runs_loss_sensitivity_for_the_form_in_one_click(store):
    """Real data and the form's noise side by side: one click queues both; one Gini chart has a
    curve per setting in the poster's colours, y fitted to the data; a heatmap per run."""
    from app.links import short_params
    from app.views import sensitivity_pair

    spec = preset("digits-mlp", **{"model.width": 20, "train.epochs": 2, "noise.kind": "randY",
                                   "noise.level": 0.5})  # fmt: skip
    seed(store, spec)
    at = app(short_params(spec))
    assert any("Loss-sensitivity" in t.label for t in at.tabs)
    at.button(key="explore:sens").click().run()
    no_exception(at)
    pair = sensitivity_pair(spec)
    assert list(pair) == ["real", "randY 0.5"]
    assert pair["randY 0.5"].noise == spec.noise and pair["real"].noise.kind == "none"
    assert all(s.task == "sensitivity" for s in pair.values())
    assert {api.status(s.key, store).status for s in pair.values()} == {"queued"}
    w = Worker(store, runner=lambda s, resume=None, should_stop=None: sens_records(s))
    w.run_job(lease.claim(store, w.id))
    w.run_job(lease.claim(store, w.id))
    at.run()
    no_exception(at)
    specs = charts(at)
    heats = [s for s in specs if "loss_class" in fields(s)]
    assert len(heats) == 2  # one per setting, side by side
    assert "yellow" in json.dumps(heats[0]["encoding"]["color"]["title"])  # viridis: bright = large
    gini = next(s for s in specs if {"step", "setting"} <= fields(s))  # one chart, both runs
    assert gini["encoding"]["color"]["scale"]["domain"] == ["real", "randY"]
    assert gini["encoding"]["y"]["scale"] == {"zero": False}  # fitted to the data
    assert any("series" in fields(s) for s in specs)  # and the training run's own charts
    assert sensitivity_pair(preset("digits-mlp"))["randX 1"].noise.level == 1.0  # real: vs randX


def test_noise_level_0_of_any_kind_is_the_real_data_run(store):
    """randY at level 0 is real data: the same key as none, said under the form."""
    at = app()
    at.selectbox(key="explore:noise.kind").set_value("randY").run()
    no_exception(at)
    assert at.slider(key="explore:noise.level").value == 0.0
    assert any("Noise level 0 is real data" in c.value for c in at.sidebar.caption)
    at.slider(key="explore:noise.level").set_value(0.2).run()
    assert not any("Noise level 0 is real data" in c.value for c in at.sidebar.caption)
