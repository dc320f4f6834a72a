"""AppTest for every paper-figure page and the reproduction report page: app/main.py makes
one page per figure at the URL the old page files had, they load on an empty store, Run sweep
queues the figure's runs, and stored results draw the figure and the verdict. Runs are stored by
the jobs Worker in-process on hand-made record streams that follow memcore/records.py (no
training, no worker processes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from memcore.figures import FIGURES, get
from memcore.jobs import api
from memcore.jobs.worker import Worker
from memcore.spec import RunSpec
from memcore.store import open_store

ROOT = Path(__file__).resolve().parents[1]
MAIN = str(ROOT / "app" / "main.py")
TIMEOUT = 120
URLS = {name: f"fig_{name.replace('-', '_')}" for name in FIGURES}  # the old pages/fig_*.py
TITLES = {name: name.replace("-", " ").capitalize() for name in FIGURES}  # e.g. "Noise levels"


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMCORE_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("MEMCORE_WORKERS", "0")
    monkeypatch.setenv("MEMCORE_OFFLINE", "1")
    return open_store(tmp_path / "store")


def fake_runner(spec: RunSpec, resume=None, should_stop=None):
    """A plausible record stream for any spec: accuracy reaching 1 at epoch 2, CSR rising with
    the noise level, per-example correctness, sharpness, or loss-sensitivity records."""
    rng = np.random.default_rng(spec.train.seed + int(10 * spec.noise.level))
    k, lv = spec.train.members, spec.noise.level
    if spec.task == "sensitivity":
        yield {"type": "meta", "members": 1, "steps_per_epoch": 10, "n_classes": 10,
               "classes": [str(c) for c in range(10)]}  # fmt: skip
        for step in range(0, 41, 10):
            g = 0.5 - 0.3 * lv + 0.01 * step
            yield {"type": "sens", "step": step, "gini": g, "gini_time": g, "mean": 1.0,
                   "wall": 0.1}  # fmt: skip
        m = np.full((10, 10), 1.0 - 0.5 * lv) + np.eye(10) * 10
        yield {"type": "arrays", "epoch": 1.0, "step": 40, "arrays": {"class_matrix": m}}
        yield {"type": "done", "wall": 0.5, "epochs_run": 1, "summary": {}}
        return
    t = min(spec.metrics.track_size, 40)
    yield {"type": "meta", "n_train": 100, "n_val": 50, "n_noisy": int(100 * lv), "n_classes": 10,
           "classes": [str(c) for c in range(10)], "input_shape": [1, 8, 8], "device": "cpu",
           "members": k, "steps_per_epoch": 2, "tracked": list(range(t)),
           "tracked_noisy": [lv > 0] * t, "tracked_labels": [i % 10 for i in range(t)]}  # fmt: skip
    for e in range(spec.train.epochs + 1):
        for member in range(k):
            acc = min(1.0, 0.3 + 0.35 * e)
            yield {"type": "epoch", "epoch": float(e), "step": 2 * e, "member": member, "lr": 0.1,
                   "train_loss": 1.0, "train_acc": acc, "clean_loss": 1.0, "clean_acc": acc,
                   "noisy_loss": None, "noisy_acc": None, "val_loss": 1.0,
                   "val_acc": 0.9 - 0.5 * lv - 0.01 * member, "wall": 0.1}  # fmt: skip
            m = spec.metrics
            if m.csr_every and e % m.csr_every == 0:
                yield {"type": "csr", "epoch": float(e), "step": 2 * e, "member": member,
                       "csr": (0.02 + 0.2 * lv) * min(1, e), "iters": 5, "radius": 8 / 255,
                       "set": "val", "wall": 0.1}  # fmt: skip
        # like the engine: every arrays record has every tracked name; filters at 0 and the end
        if e in (0, 1, spec.train.epochs):
            arrays = {"correct": rng.random((k, t)) < 0.5}
            if e in (0, spec.train.epochs):
                arrays["first_layer"] = rng.normal(size=(k, 4, 5, 5))
            yield {"type": "arrays", "epoch": float(e), "step": 2 * e, "arrays": arrays}
    if spec.metrics.sharpness:
        for member in range(k):
            yield {"type": "sharpness", "epoch": spec.train.epochs, "member": member,
                   "sharpness": 5.0 + 10 * lv, "wall": 0.1}  # fmt: skip
    yield {"type": "done", "wall": 1.0, "epochs_run": spec.train.epochs, "summary": {}}


def seed(store, name: str, scale: str = "test") -> list[RunSpec]:
    """Store every run of the figure's grid (fake records)."""
    grid = get(name).grid("digits", scale)
    api.submit_sweep(grid, store)
    Worker(store, runner=fake_runner).serve(idle_exit=0.2)
    return grid


def open_url(at: AppTest, url_path: str) -> AppTest:
    """Select the navigation page at /url_path for the next run.

    AppTest.switch_page takes page files only; the figure pages are generated (callable st.Page),
    and Streamlit 1.67 selects a page by its hash, which it derives from the url path. This does
    what switch_page does for a file, by url: look the page up among the pages st.navigation
    registered in the last run and request its hash."""
    found = [h for h, p in at._registered_pages.items() if p.get("url_pathname") == url_path]
    known = sorted(p.get("url_pathname", "") for p in at._registered_pages.values())
    assert len(found) == 1, f"no page at /{url_path}; pages: {known}"
    at._page_hash = found[0]
    return at


def page(name: str, scale: str = "test") -> AppTest:
    """The app opened at figure `name`'s URL, or at the page file `name`."""
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.query_params["scale"] = scale
    at.run()
    if name in URLS:
        return open_url(at, URLS[name]).run()
    return at.switch_page(name).run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def verdict_text(at: AppTest) -> str:
    boxes = [*at.success, *at.error, *at.warning]
    return " ".join(b.value for b in boxes)


def test_navigation_has_one_page_per_figure_at_the_old_urls_and_titles(store):
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    no_exception(at)
    pages = {p["url_pathname"]: p["page_name"] for p in at._registered_pages.values()}
    assert {u: pages.get(u) for u in URLS.values()} == {URLS[n]: TITLES[n] for n in FIGURES}
    assert {"report", "runs", "about"} <= set(pages)
    assert (ROOT / "pages").is_dir() and not list((ROOT / "pages").glob("fig_*.py"))


@pytest.mark.parametrize("name", list(FIGURES))
def test_page_with_stored_results_draws_its_figure_and_verdict(store, name):
    seed(store, name)
    at = page(name)
    no_exception(at)
    assert at.title[0].value == get(name).title
    assert get(name).claim in " ".join(i.value for i in at.info)
    assert len(at.get("vega_lite_chart")) >= 1
    text = verdict_text(at)
    assert any(v in text for v in ("(holds)", "(fails)", "(inconclusive)")), text
    assert "runs done" in at.get("progress")[0].proto.text


def test_page_on_an_empty_store_asks_to_run_and_run_sweep_queues_the_grid(store):
    at = page("capacity")
    no_exception(at)
    assert "press **Run sweep**" in " ".join(i.value for i in at.info)
    assert verdict_text(at) == ""  # a figure that never ran has no verdict, not "inconclusive"
    button = next(b for b in at.button if b.label.startswith("Run sweep"))
    button.click().run()
    no_exception(at)
    keys = {s.key for s in get("capacity").grid("digits", "test")}
    assert {r["key"] for r in api.list_runs(store)} == keys
    assert {r["status"] for r in api.list_runs(store)} == {"queued"}


def test_page_shows_a_failed_run(store):
    grid = get("critical").grid("digits", "test")
    api.submit_sweep(grid, store)

    def boom(spec, resume=None, should_stop=None):
        raise RuntimeError("deliberate failure")
        yield

    Worker(store, runner=boom).serve(idle_exit=0.2)
    at = page("critical")
    no_exception(at)
    assert any("deliberate failure" in e.value for e in at.error)


def test_report_page_lists_every_claim_with_links(store):
    seed(store, "sharpness")
    at = page("../pages/report.py")
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("page_link")) == len(FIGURES)
    table = at.dataframe[0].value
    assert len(table) == len(FIGURES)
    row = table[table["figure"] == get("sharpness").title].iloc[0]
    n = len(get("sharpness").grid("digits", "test"))
    assert row["runs done"] == f"{n}/{n}"
    assert table[table["figure"] == get("capacity").title].iloc[0]["verdict"] == "not run"
    assert sum(table["verdict"] == "not run") == len(FIGURES) - 1
    labels = [p.proto.label for p in at.get("page_link")]
    assert f"{get('capacity').title}: not run" in labels


def test_sweep_wall_time_is_the_time_its_runs_ran(store):
    """Not 0 s: the union of the runs' running intervals (parallel runs counted once)."""
    from memcore.sweeps import sweep

    assert sweep.progress("sharpness", "digits", "test", store).wall == 0.0
    seed(store, "sharpness")
    res = sweep.evaluate("sharpness", "digits", "test", store)
    spans = [api.status(s.key, store) for s in get("sharpness").grid("digits", "test")]
    assert 0 < res.wall <= max(s.finished for s in spans) - min(s.started for s in spans)
    assert res.to_dict()["wall_s"] == round(res.wall, 1) and res.state == res.verdict.verdict
    assert sweep._covered([(0, 10), (5, 20), (100, 110)]) == 30


def test_a_running_sweep_says_running_and_draws_the_records_so_far(store):
    """No verdict while runs are queued or running; a running run's curve is drawn already."""
    from memcore.jobs import lease

    grid = get("convergence").grid("digits", "test")
    api.submit_sweep(grid, store)
    claim = lease.claim(store, "test-worker")
    recs = [r for r in fake_runner(claim.spec) if r["type"] in ("meta", "epoch")]
    lease.set_pending(store, claim.key, "test-worker", recs, {"epoch": 1.0, "fraction": 0.5})
    at = page("convergence")
    no_exception(at)
    assert not any(v in verdict_text(at) for v in ("holds", "does not hold", "Not enough"))
    assert any("**Running** (0 of" in i.value for i in at.info)
    assert len(at.get("vega_lite_chart")) == 1  # the running run's records, drawn


def test_page_warns_when_a_torchvision_dataset_is_missing(store, tmp_path, monkeypatch):
    monkeypatch.setenv("MEMCORE_DATA", str(tmp_path / "no-data"))
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.query_params["scale"] = "paper"
    at.query_params["dataset"] = "mnist"
    at.run()
    open_url(at, URLS["capacity"]).run()
    no_exception(at)
    assert any("mnist is not in the data folder" in w.value for w in at.warning)


@pytest.mark.parametrize("name", list(FIGURES))
def test_verdict_numbers_are_a_table_with_a_definition_per_number(store, name):
    """Not raw JSON: one row per number, each defined in memcore.figures.glossary."""
    seed(store, name)
    at = page(name)
    no_exception(at)
    assert not at.get("json")
    tables = [t.value for t in at.dataframe if "definition" in t.value.columns]
    if not tables:  # an inconclusive verdict without numbers (the fake easiness data)
        return
    rows = tables[0]
    assert {"number", "for", "value", "definition"} <= set(rows.columns)
    undefined = rows[rows["definition"] == ""]["number"].tolist()
    assert not undefined, f"{name}: numbers without a definition: {undefined}"


def test_number_rows_flatten_any_nesting_and_define_dispersion():
    from memcore.figures.glossary import rows as number_rows

    rows = number_rows("easiness", {"members": 4, "real": {"dispersion": 13.6, "mean_p": 0.5}})
    by = {(r["number"], r["for"]): r for r in rows}
    assert by[("dispersion", "real")]["value"] == "13.6"
    assert "binomial variance" in by[("dispersion", "real")]["definition"]
    assert by[("members", "")]["definition"]
    new = number_rows("capacity", {"randY": {"brand_new": {"0.5": 3}}})  # a key added later
    assert new == [{"number": "brand_new", "for": "randY · 0.5", "value": "3", "definition": ""}]


def test_verdict_rows_include_every_parts_numbers_under_the_parts_name():
    from memcore.figures.glossary import verdict_rows
    from memcore.figures.verdict import Verdict, combine

    v = combine(
        {"randX": Verdict("holds", "", {"spearman": 0.9}), "randY": Verdict("fails", "", {})},
        numbers={"members": 4},
    )
    rows = verdict_rows("noise-levels", v.to_dict())
    assert [(r["number"], r["for"], r["value"]) for r in rows] == [
        ("members", "", "4"),
        ("spearman", "randX", "0.9"),
    ]


def test_figure_is_drawn_larger_than_the_poster_panel(store):
    seed(store, "capacity")
    at = page("capacity")
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    widths = []
    stack = [spec]
    while stack:
        s = stack.pop()
        if isinstance(s, dict):
            widths += [v for k, v in s.items() if k == "width" and isinstance(v, int)]
            stack += [v for k, v in s.items() if k not in ("data", "datasets")]
        elif isinstance(s, list):
            stack += s
    from charts.style import W

    assert widths and min(widths) > W  # panels grown to fill the wide page
    assert not at.sidebar.caption  # no sidebar off Explore: the status line is at the foot
    assert any("workers alive" in c.value for c in at.caption)


@pytest.mark.parametrize("name", ["critical", "capacity"])
def test_a_verdict_reads_as_a_table_of_parts_with_every_symbol_defined(store, name):
    """Part, symbol and word, difference ± s.e.; a caption defines the symbols and D; the Dask
    field is folded into an Advanced section."""
    from charts.style import VERDICT_SYMBOL
    from memcore.sweeps import sweep

    seed(store, name)
    at = page(name)
    no_exception(at)
    parts = next(t.value for t in at.dataframe if "part" in t.value.columns)
    assert list(parts.columns) == ["part", "verdict", "difference ± s.e.", "found"]
    result = sweep.evaluate(name, "digits", "test", store)
    want = list(result.verdict.parts) or ["the claim"]
    assert list(parts["part"]) == want
    for row, v in zip(parts.itertuples(), (result.verdict.parts or {"": result.verdict}).values(),
                      strict=True):  # fmt: skip
        assert row.verdict == f"{VERDICT_SYMBOL[v.verdict]} {v.verdict}"
        if "difference" in v.numbers and "se" in v.numbers:
            assert row[3].startswith(f"{v.numbers['difference']:+.3g} ± ")
    legend = " ".join(c.value for c in at.caption)
    for state_, symbol in VERDICT_SYMBOL.items():
        assert f"{symbol} {state_}" in legend
    assert "D (easiness)" in legend and "s.e." in legend
    assert any(e.label == "Advanced" for e in at.expander)
