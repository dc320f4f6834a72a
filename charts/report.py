"""The reproduction report: a table of the paper's claims with their verdicts, then one section per
figure (claim, verdict and numbers, set-up, how to read, the figure), as a standalone HTML
page (figures inline as SVG) or Markdown (figures inline as base64 PNG).

Figures come from `chart_fn(name, frame) -> Altair chart` (default: charts.figures.chart)
rendered by vl-convert-python (charts.export). A figure that fails to render is replaced by a
one-line note; the report is still written. Results are memcore.sweeps.sweep.FigureResult objects
(read by attribute: figure, dataset, scale, frame, verdict, progress, wall, errors, and
number_rows(): the verdict's numbers with their definitions).
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Callable, Iterable

from charts import figures
from charts.export import png, svg
from charts.style import VERDICT_LEGEND, VERDICT_SYMBOL


def _state(result) -> str:
    """ "not run", "running" or the verdict (FigureResult.state)."""
    return getattr(result, "state", result.verdict.verdict)


def _verdict(result) -> str:
    """Symbol and word of the result's state, e.g. "✓ holds"."""
    return f"{VERDICT_SYMBOL[_state(result)]} {_state(result)}"


def _summary(result) -> str:
    return "" if _state(result) in ("not run", "running") else result.verdict.summary


def _spec(chart_fn, result) -> dict | None:
    if chart_fn is None or result.frame.empty:
        return None
    return chart_fn(result.figure.name, result.frame).to_dict()


def _figure(result, chart_fn, fmt: str) -> str:
    try:
        spec = _spec(chart_fn, result)
        if spec is None:
            return "" if chart_fn is None else "<p><em>no finished runs to draw</em></p>"
        if fmt == "html":
            return f'<div class="fig">{svg(spec)}</div>'
        data = base64.b64encode(png(spec)).decode()
        return f"![{result.figure.title}](data:image/png;base64,{data})"
    except Exception as e:  # a broken figure must not lose the rest of the report
        return f"(figure could not be rendered: {type(e).__name__}: {e})"


def _anchor(result) -> str:
    return f"{result.figure.name}-{result.dataset}"


def render(
    results: Iterable,
    fmt: str = "html",
    chart_fn: Callable | None | str = "default",
    note: str = "",
) -> str:
    """The report for FigureResults (memcore.sweeps.sweep) as HTML or Markdown text; `note` (e.g.
    the machine, total wall time and load average) goes under the title."""
    results = list(results)
    if chart_fn == "default":
        chart_fn = figures.chart
    if fmt == "md":
        return _markdown(results, chart_fn, note)
    if fmt != "html":
        raise ValueError(f"fmt={fmt!r} is invalid: must be html or md")
    return _html(results, chart_fn, note)


def _markdown(results: list, chart_fn, note: str = "") -> str:
    lines = [
        "# Reproduction report: A Closer Look at Memorization in Deep Networks",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
        "`python -m memcore report`. Verdicts say what these runs show, not what the paper says.",
        "",
        *([note, ""] if note else []),
        f"Symbols: {VERDICT_LEGEND}.",
        "",
        "| figure | paper figure | dataset | scale | verdict | summary | runs | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| [{r.figure.title}](#{_anchor(r)}) | {r.figure.paper_figure} | "
            f"{r.dataset} | {r.scale} | "
            f"{_verdict(r)} | {_summary(r).replace('|', '/')} | "
            f"{r.progress.done}/{r.progress.total} | {r.wall:.0f} |"
        )
    for r in results:
        lines += [
            "",
            f'<a id="{_anchor(r)}"></a>',
            f"## {r.figure.title} ({r.dataset}, {r.scale})",
            "",
            f"*{r.figure.paper_figure}.* **Claim ({r.figure.source_text}):** {r.figure.claim}",
            "",
            f"**Verdict: {_verdict(r)}.** {_summary(r)}",
            "",
            *(f"- observed ({n}): {o.summary}" for n, o in r.verdict.observations.items()),
            "",
            f"**Set-up:** {r.figure.setup_text(r.dataset, r.scale)}",
            "",
            f"**How to read:** {r.figure.how_to_read}",
            "",
            _figure(r, chart_fn, "md"),
            "",
            "<details><summary>numbers behind the verdict</summary>",
            "",
            *_number_table_md(r),
            "</details>",
        ]
        lines += [f"- failed run {e}" for e in r.errors]
    return "\n".join(lines) + "\n"


COLS = ("number", "for", "value", "definition")


def _number_table_md(result) -> list[str]:
    """The verdict's numbers as a Markdown table, each with its definition (the glossary's)."""
    rows = result.number_rows()  # each with its glossary definition
    if not rows:
        return ["(no numbers)", ""]
    return [
        "| " + " | ".join(COLS) + " |",
        "|---|---|---|---|",
        *("| " + " | ".join(_cell(row[c]) for c in COLS) + " |" for row in rows),
        "",
    ]


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def _number_table_html(result) -> str:
    e = html.escape
    rows = result.number_rows()  # each with its glossary definition
    if not rows:
        return "<p>(no numbers)</p>"
    head = "".join(f"<th>{c}</th>" for c in COLS)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(row[c])}</td>" for c in COLS) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;font-size:.9em}
td,th{border:1px solid #ccc;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.holds{color:#1a7f37}.fails{color:#cf222e}.inconclusive{color:#9a6700}
.fig{overflow-x:auto;margin:1em 0}section{border-top:1px solid #ddd;margin-top:2em}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:.8em}
"""


def _html(results: list, chart_fn, note: str = "") -> str:
    e = html.escape
    rows = "".join(
        f'<tr><td><a href="#{_anchor(r)}">{e(r.figure.title)}</a></td>'
        f"<td>{e(r.figure.paper_figure)}</td><td>{e(r.dataset)}</td><td>{e(r.scale)}</td>"
        f'<td class="{_state(r)}">{_verdict(r)}</td>'
        f"<td>{e(_summary(r))}</td><td>{r.progress.done}/{r.progress.total}</td>"
        f"<td>{r.wall:.0f}</td></tr>"
        for r in results
    )
    sections = "".join(
        f'<section id="{_anchor(r)}"><h2>{e(r.figure.title)} ({e(r.dataset)}, {e(r.scale)})</h2>'
        f"<p><em>{e(r.figure.paper_figure)}.</em> <b>Claim ({e(r.figure.source_text)}):</b> "
        f"{e(r.figure.claim)}</p>"
        f'<p class="{_state(r)}"><b>Verdict: {_verdict(r)}.</b> {e(_summary(r))}</p>'
        + "".join(
            f"<p><i>Observed ({e(n)}):</i> {e(o.summary)}</p>"
            for n, o in r.verdict.observations.items()
        )
        + f"<p><b>Set-up:</b> {e(r.figure.setup_text(r.dataset, r.scale))}</p>"
        f"<p><b>How to read:</b> {e(r.figure.how_to_read)}</p>"
        f"{_figure(r, chart_fn, 'html')}"
        f"<details><summary>numbers behind the verdict</summary>{_number_table_html(r)}"
        "</details>" + "".join(f"<p>failed run {e(x)}</p>" for x in r.errors) + "</section>"
        for r in results
    )
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Reproduction report</title>'
        f"<style>{CSS}</style></head><body>"
        "<h1>Reproduction report: A Closer Look at Memorization in Deep Networks</h1>"
        f"<p>Generated {stamp} by the memorization explorer. Verdicts say what these runs show, "
        "not what the paper says.</p>"
        f"{f'<p>{e(note)}</p>' if note else ''}<p>Symbols: {e(VERDICT_LEGEND)}.</p>"
        "<table><tr><th>figure</th><th>paper figure</th><th>dataset</th><th>scale</th>"
        f"<th>verdict</th><th>summary</th><th>runs</th><th>wall s</th></tr>{rows}</table>"
        f"{sections}</body></html>"
    )
