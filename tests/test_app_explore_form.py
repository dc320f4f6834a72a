"""AppTest for Explore's form and its links (on a store of hand-made runs, tests/app_helpers.py):
the form makes the expected spec, link and cost, a preset or dataset change fills its defaults
and says what it changed, the preset box says custom after an edit, noise level 0 is said to be
real data, invalid values show as st.error and submit nothing, a partial link takes the form's
defaults, and a link's misspelt or invalid values are each named and the link kept as written."""

from __future__ import annotations

import pytest
from app_helpers import app, app_store, no_exception, seed
from streamlit.testing.v1 import AppTest
from test_errors import plain

from app import forms, links
from memcore.datasets import REGISTRY
from memcore.jobs import api
from memcore.spec.presets import preset


@pytest.fixture
def store(tmp_path, monkeypatch):
    return app_store(tmp_path, monkeypatch)


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


def test_invalid_link_shows_error_not_exception(store):
    at = app({"model.width": "lots"})
    no_exception(at)
    assert any("model.width" in plain(e.value) for e in at.error)


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


def test_noise_level_0_of_any_kind_is_the_real_data_run(store):
    """randY at level 0 is real data: the same key as none, said under the form."""
    at = app()
    at.selectbox(key="explore:noise.kind").set_value("randY").run()
    no_exception(at)
    assert at.slider(key="explore:noise.level").value == 0.0
    assert any("Noise level 0 is real data" in c.value for c in at.sidebar.caption)
    at.slider(key="explore:noise.level").set_value(0.2).run()
    assert not any("Noise level 0 is real data" in c.value for c in at.sidebar.caption)
