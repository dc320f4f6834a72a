"""The reproduction report: a claims table and one section per figure with its chart
embedded (HTML: inline SVG; Markdown: base64 PNG), from hand-made figure frames."""

from __future__ import annotations

import html
import re

import pytest
from test_figures_checks import capacity_frame, class_frame, gini_frame

from charts import report as rep
from memcore.figures import get
from memcore.sweeps.sweep import FigureResult, Progress


def result(name: str, df) -> FigureResult:
    fig = get(name)
    return FigureResult(fig, "digits", "quick", df, fig.check(df), Progress(4, {"done": 4}),
                        wall=12.0)  # fmt: skip


@pytest.fixture(scope="module")
def results():
    return [
        result("capacity", capacity_frame(64)),
        result("sensitivity", gini_frame(0.1, 0.3)),
        result("class-sensitivity", class_frame(2.0, 0.5)),
    ]


def test_html_report_has_the_claims_table_verdicts_and_inline_svg(results):
    text = rep.render(results, fmt="html")
    assert text.startswith("<!doctype html>")
    for r in results:
        assert r.figure.title in text and r.figure.claim in text
        assert f'href="#{r.figure.name}-digits"' in text and f'id="{r.figure.name}-digits"' in text
    assert "holds" in text and "fails" in text
    assert text.count("<svg") >= len(results)
    assert "could not be rendered" not in text


def test_markdown_report_embeds_png_figures(results):
    text = rep.render(results, fmt="md")
    assert text.startswith("# Reproduction report")
    assert text.count("data:image/png;base64,") == len(results)
    assert "| [Capacity vs noise](#capacity-digits) |" in text


def test_numbers_behind_each_verdict_come_with_their_definitions(results):
    # The numbers are the glossary's rows (the figure pages show the same), not raw JSON.
    from memcore.figures import glossary

    cap = results[0]
    rows = glossary.verdict_rows("capacity", cap.verdict.to_dict())
    defined = [r for r in rows if r["definition"]]
    assert defined
    md = rep.render(results, fmt="md", chart_fn=None)
    page = rep.render(results, fmt="html", chart_fn=None)
    for r in defined:
        assert f"| {r['number']} | {r['for']} | {r['value']} | {r['definition']} |" in md
        assert f"<td>{html.escape(r['definition'])}</td>" in page
    assert '"near_best_width"' not in md  # no JSON dump


def test_a_broken_figure_does_not_lose_the_report(results):
    def broken(name, df):
        raise RuntimeError("no chart today")

    text = rep.render(results, fmt="html", chart_fn=broken)
    assert text.count("could not be rendered: RuntimeError: no chart today") == len(results)
    assert rep.render(results, fmt="md", chart_fn=None).count("data:image") == 0
    with pytest.raises(ValueError, match="fmt"):
        rep.render(results, fmt="pdf")


def test_cli_report_writes_a_file_from_stored_runs(memcore_env, tmp_path):
    from memcore import cli

    out = tmp_path / "r.md"
    args = ["report", "--scale", "test", "--stored-only", "--only", "capacity,filters",
            "--store", str(memcore_env["store"]), "--out", str(out)]  # fmt: skip
    assert cli.main(args) == 0
    text = out.read_text()
    assert "Capacity vs noise" in text and "First-layer filters" in text
    assert "inconclusive" in text  # nothing is stored, and the report says so
    # speed depends on who else uses the machine: the wall time comes with the load average
    assert re.search(r"2 figures in \d+ s on \d+ CPU core\(s\), torch [\d.]+", text)
    assert re.search(r"load average \(1/5/15 min\) [\d.]+/[\d.]+/[\d.]+ at the start", text)
