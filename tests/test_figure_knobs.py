"""A figure's knobs (memcore.figures.knobs): `--set NAME=VALUE` parsing and validation with
field-named errors, the tuned grid, the set-up line saying what changed, the CLI, and the
figure page's knob fields through AppTest with the URL round trip."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest
from test_pages_figures import MAIN, TIMEOUT, URLS, no_exception, open_url, page, store  # noqa: F401

from memcore.figures import FIGURES, get, knobs
from memcore.jobs import api


def test_parse_reads_name_value_pairs_and_names_a_bad_item():
    assert knobs.parse(["train.members=8", " widths = 8,64 ", "train.members=4"]) == {
        "train.members": "4",
        "widths": "8,64",
    }
    for bad in ("train.members", "=8", "train.members="):
        with pytest.raises(ValueError, match="write NAME=VALUE"):
            knobs.parse([bad])


def test_tune_applies_spec_and_grid_knobs_to_the_sweep():
    r = knobs.tune(get("capacity"), {"train.members": "3", "widths": "64,8", "train.lr": "0.05"})
    grid = r.grid("digits", "quick")
    assert {s.train.members for s in grid} == {3}
    assert {s.train.lr for s in grid} == {0.05}
    assert {s.model.width for s in grid} == {8, 64}
    assert len(grid) == 2 * 7  # 2 widths x (real + 3 levels x 2 kinds)
    assert len(get("capacity").grid("digits", "quick")) == 4 * 7  # the figure itself unchanged
    s = knobs.tune(get("sensitivity"), {"seeds": "2"}).grid("digits", "quick")
    assert len(s) == 2 * (2 * 2 + 1)  # per label mode: real and 100% randX x 2 seeds, 50% once


def test_tune_names_the_field_of_an_unknown_refused_or_bad_knob():
    cap = get("capacity")
    with pytest.raises(ValueError, match="train.foo is not a knob of capacity: use one of"):
        knobs.tune(cap, {"train.foo": "1"})
    with pytest.raises(ValueError, match="train.members='x' is invalid"):
        knobs.tune(cap, {"train.members": "x"})
    with pytest.raises(ValueError, match=r"train.epochs=0 is invalid: must be an integer in"):
        knobs.tune(cap, {"train.epochs": "0"})
    with pytest.raises(ValueError, match="widths='0,8' is invalid: hidden units"):
        knobs.tune(cap, {"widths": "0,8"})
    with pytest.raises(ValueError, match="levels='0,2' is invalid"):
        knobs.tune(cap, {"levels": "0,2"})
    with pytest.raises(ValueError, match="train.epochs is fixed for easiness: .*one epoch"):
        knobs.tune(get("easiness"), {"train.epochs": "3"})
    with pytest.raises(ValueError, match="train.members is fixed for regularization"):
        knobs.tune(get("regularization"), {"train.members": "3"})


def test_changes_say_what_differs_from_the_figure_defaults():
    cap = get("capacity")
    assert knobs.changes(cap, "digits", "quick") == ""
    r = knobs.tune(cap, {"train.members": "3", "widths": "8,64", "train.epochs": "200"})
    text = knobs.changes(r, "digits", "quick")
    assert (
        text
        == "changed from the figure's defaults: train.members 8 -> 3; widths 8,32,128,512 -> 8,64"
    )


def test_every_figure_offers_members_or_seeds_and_epochs_or_says_why():
    for name, r in FIGURES.items():
        offered = knobs.offered(r)
        assert {"train.members", "seeds"} & set(offered) or "train.members" in r.fixed, name
        assert "train.epochs" in offered or "train.epochs" in r.fixed, name
        assert set(knobs.defaults(r, "digits", "quick")) == set(offered), name


def test_cli_figure_set_runs_the_tuned_grid_and_reports_the_change(tmp_path, capsys):
    from memcore.cli import main

    where = str(tmp_path / "store")
    sets = ["--set", "train.members=3", "--set", "data.train_size=120", "--stored-only"]
    rc = main(["figure", "easiness", "--scale", "test", "--store", where, *sets])
    err = capsys.readouterr().err
    assert rc == 0
    assert "defaults: data.train_size 200 -> 120; train.members 8 -> 3" in err
    rc = main(["figure", "easiness", "--scale", "test", "--store", where, "--set", "train.foo=1"])
    assert rc != 0 and "train.foo is not a knob of easiness" in capsys.readouterr().err
    rc = main(["figure", "easiness", "--scale", "test", "--store", where, "--set", "train.lr=x"])
    assert rc != 0 and "train.lr='x' is invalid" in capsys.readouterr().err
    rc = main(["report", "--scale", "test", "--store", where, "--only", "easiness",
               "--set", "widths=8", "--stored-only", "--out", str(tmp_path / "r.md")])  # fmt: skip
    assert rc != 0 and "widths: no figure of this report offers it" in capsys.readouterr().err


def test_page_knobs_tune_the_sweep_and_live_in_the_url(store):  # noqa: F811
    at = page("capacity")
    no_exception(at)
    field = next(t for t in at.text_input if t.key == "capacity-knob-train.members")
    assert field.value == "1"  # the test scale's default
    field.set_value("3").run()
    no_exception(at)
    assert at.query_params["train.members"] in ("3", ["3"])
    assert "train.members 1 -> 3" in " ".join(c.value for c in at.caption)
    next(b for b in at.button if b.label.startswith("Run sweep")).click().run()
    want = {s.key for s in knobs.tune(get("capacity"), {"train.members": 3}).grid("digits", "test")}
    assert {r["key"] for r in api.list_runs(store)} == want


def _capacity_page(widths: str) -> AppTest:
    """The capacity page at test scale opened from a link that sets its widths knob."""
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.query_params["scale"] = "test"
    at.query_params["widths"] = widths
    at.run()
    open_url(at, URLS["capacity"]).run()
    no_exception(at)
    return at


def test_page_knobs_come_back_from_the_url_and_a_bad_one_is_named(store):  # noqa: F811
    at = _capacity_page("4,64")
    assert next(t for t in at.text_input if t.key == "capacity-knob-widths").value == "4,64"
    assert "widths 4,16,64 -> 4,64" in " ".join(c.value for c in at.caption)
    at = _capacity_page("0,64")
    assert "widths='0,64' is invalid" in " ".join(e.value for e in at.error)


def _second_stage_page():
    import streamlit as st

    from app import figure_knobs
    from memcore.figures import get
    from memcore.figures.verdict import Verdict, with_plan

    fig = figure_knobs.controls(get("critical"), "digits", "test")
    st.caption(f"members: {dict(fig.knobs).get('train.members', 'default')}")
    part = with_plan(Verdict("inconclusive", "randX rises: open"), 0.02, 0.014, 2, 2)
    open_ = Verdict("inconclusive", "open", parts={"randX rises": part})
    figure_knobs.second_stage(fig, open_, "digits", "test")


def test_an_open_verdict_offers_one_second_stage_with_the_members_that_would_decide_it():
    at = AppTest.from_function(_second_stage_page, default_timeout=TIMEOUT).run()
    no_exception(at)
    need = next(b for b in at.button if b.label.startswith("Set members per run to "))
    n = int(need.label.rsplit(" ", 1)[1])
    assert n > 2 and f"about **{n} members per run** would decide" in at.info[0].value
    need.click().run()
    no_exception(at)
    assert at.query_params["train.members"] in (str(n), [str(n)])
    assert f"members: {n}" in " ".join(c.value for c in at.caption)
    # One second stage, not more: with the members raised the same open verdict offers none.
    assert not at.info and not [b for b in at.button if b.label.startswith("Set members")]


def test_the_second_stage_names_the_figures_own_count_knob():
    from memcore.figures.verdict import Verdict, with_plan

    part = with_plan(Verdict("inconclusive", "open"), 0.02, 0.014, 4, 4)
    open_ = Verdict("inconclusive", "open", parts={"a": part})
    need = part.numbers["members_to_decide"]
    assert knobs.second_stage(get("critical"), open_, "digits", "quick") == ("train.members", need)
    assert knobs.second_stage(get("sensitivity"), open_, "digits", "quick") == ("seeds", need)
    # regularization's members are its regularizer values: no count to raise
    assert knobs.second_stage(get("regularization"), open_, "digits", "quick") is None
    assert knobs.second_stage(get("critical"), Verdict("holds", "x"), "digits", "quick") is None
    raised = knobs.tune(get("critical"), {"train.members": str(need)})
    assert knobs.second_stage(raised, open_, "digits", "quick") is None


def test_cli_progress_is_printed_when_it_changes_not_every_poll(capsys):
    from memcore.commands.figures import _progress_printer
    from memcore.sweeps.sweep import Progress

    show = _progress_printer()
    for p in [Progress(4, {"queued": 4}), Progress(4, {"queued": 4}), Progress(4, {"done": 4})]:
        show(p)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["  0/4 runs done (4 queued)", "  4/4 runs done (4 done)"]
