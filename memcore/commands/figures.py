"""`figure` and `report` verbs: run the paper's figures and say whether their claims hold.

    python -m memcore figure --list
    python -m memcore figure NAME --dataset digits --scale quick [--json] [--store PATH]
    python -m memcore figure capacity --set train.members=8 --set widths=8,64,512
    python -m memcore report --scale quick --out report.html [--datasets digits,mnist1d]

`--set NAME=VALUE` (repeatable) changes one of the figure's knobs from its defaults
(memcore.figures.knobs: members, epochs, train size, batch size, lr, widths, levels, sizes,
seeds); `report --set` applies each to every figure that offers it.

`figure` submits the figure's sweep to the store (finished runs are reused), computes what is
missing (in this process by default; `--workers N` uses N background workers instead;
`--backend dask --scheduler tcp://HOST:8786` a Dask cluster, results stored here), then
prints the claim and its verdict. With --json the last line is one JSON object with at least
"figure", "verdict" (holds | fails | inconclusive), "numbers" and "setup" (the set-up line).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from memcore import machine
from memcore.datasets import names as dataset_names
from memcore.figures import FIGURES, SCALES, get, knobs


def register(sub) -> None:
    p = sub.add_parser("figure", help="run a paper figure's sweep and check its claim")
    p.add_argument("name", nargs="?", help="one of: " + ", ".join(FIGURES))
    p.add_argument("--list", action="store_true", help="list the figures and exit")
    p.add_argument("--knobs", action="store_true", help="list the figure's knobs and exit")
    _common(p)
    p.add_argument("--json", action="store_true", help="print a JSON result as the last line")
    p.add_argument(
        "--stored-only", action="store_true", help="evaluate what is stored; run nothing"
    )
    p.set_defaults(func=figure)

    r = sub.add_parser("report", help="run every figure and write the reproduction report")
    _common(r)
    r.add_argument("--datasets", default=None, help="comma-separated (default: --dataset)")
    r.add_argument("--out", default="report.html", help="output file (.html or .md)")
    r.add_argument("--only", default=None, help="comma-separated figure names (default all)")
    r.add_argument("--stored-only", action="store_true", help="report what is stored; run nothing")
    r.set_defaults(func=report)


def _common(p) -> None:
    p.add_argument(
        "--dataset",
        default="digits",
        help="a built-in or imported dataset (`python -m memcore datasets` lists them)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change a figure knob from the figure's default, e.g. train.members=8 or "
        "widths=8,64,512 (repeatable; `figure NAME --knobs` lists them)",
    )
    p.add_argument("--scale", default="quick", choices=SCALES)
    p.add_argument("--store", default=None, help="store folder (default env MEMCORE_STORE)")
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="background workers to use; 0 = compute in this process (default)",
    )
    p.add_argument("--timeout", type=float, default=None, help="stop waiting after S seconds")
    p.add_argument(
        "--backend",
        default="local",
        choices=("local", "dask"),
        help="where missing runs are computed: local (default) or dask (a Dask cluster)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address for --backend dask, e.g. tcp://HOST:8786 "
        "(default env MEMCORE_DASK_SCHEDULER)",
    )


def _progress_printer():
    """Prints the sweep's progress when it changes (the sweep polls about once a second)."""
    last = [""]

    def show(p) -> None:
        if p.text() != last[0]:
            last[0] = p.text()
            print(f"  {p.text()}", file=sys.stderr, flush=True)

    return show


def _warn_missing(dataset: str) -> None:
    """Say up front when the dataset's files are not there (runs then download or fail)."""
    from memcore.data import files

    for a in files.availability():
        if a.name == dataset and a.status == "missing":
            print(f"warning: {dataset} is not in {a.folder} ({', '.join(a.files)}); its runs "
                  "download it when online and fail otherwise", file=sys.stderr)  # fmt: skip


def _backend(args):
    """The backend of --backend/--scheduler/--workers (ValueError on a bad combination); a
    Dask one is connected now, so an unreachable scheduler is reported before any work."""
    from memcore.sweeps import backends

    be = backends.resolve(args.backend, workers=args.workers, scheduler=args.scheduler)
    if be.name == "dask":
        link = be.dashboard
        print(f"dask cluster {be.scheduler}; dashboard: {link or 'none'}", file=sys.stderr)
    return be


def _run(fig, args, dataset: str, backend=None):
    from memcore import demo
    from memcore.sweeps import sweep as fr

    _warn_missing(dataset)
    if args.stored_only:
        return fr.evaluate(fig, dataset, args.scale, args.store)
    demo.check_submit(fr.grid(fig, dataset, args.scale), args.store)  # a public demo's caps
    return fr.run(
        fig,
        dataset,
        args.scale,
        args.store,
        backend=backend,
        timeout=args.timeout,
        on_progress=_progress_printer(),
    )


def figure(args) -> int:
    if args.list or not args.name:
        for name, r in FIGURES.items():
            print(f"{name:18s} {r.title} ({r.paper_figure})")
        return 0
    fig = get(args.name)
    if args.knobs:
        for n, v in knobs.defaults(fig, args.dataset, args.scale).items():
            print(f"{n:18s} {knobs.text(v)}")
        return 0
    fig = knobs.tune(fig, knobs.parse(args.set))
    print(
        f"{fig.title} ({fig.paper_figure}; {fig.source_text}) on {args.dataset}, scale "
        f"{args.scale}",
        file=sys.stderr,
    )
    print(f"set-up: {fig.setup_text(args.dataset, args.scale)}", file=sys.stderr)
    backend = None if args.stored_only else _backend(args)
    try:
        res = _run(fig, args, args.dataset, backend)
    finally:
        if backend is not None:
            backend.close()
    print(f"claim ({fig.source_text}): {fig.claim}")
    print(f"verdict: {res.verdict.verdict.upper()}: {res.verdict.summary}")
    for name, o in res.verdict.observations.items():
        print(f"observed ({name}): {o.summary}")
    if stage := knobs.second_stage(fig, res.verdict, args.dataset, args.scale):
        knob, need = stage
        print(
            f"second stage: `figure {fig.name} --dataset {args.dataset} --scale {args.scale} "
            f"--set {knob}={need}` would decide it at this spread (the stored runs are reused)"
        )
    print(f"runs: {res.progress.text()}; {res.wall:.1f} s")
    for e in res.errors:
        print(f"failed run {e}", file=sys.stderr)
    if args.json:
        out = {**res.to_dict(), "setup": fig.setup_text(args.dataset, args.scale)}
        print(json.dumps(out, default=str))
    return 0


def report(args) -> int:
    from charts import report as rep  # Altair loads only for this verb

    datasets = (args.datasets or args.dataset).split(",")
    unknown = [d for d in datasets if d not in dataset_names()]
    if unknown:
        raise ValueError(
            f"--datasets: {unknown[0]!r} is not a dataset; use {', '.join(dataset_names())}"
        )
    names = args.only.split(",") if args.only else list(FIGURES)
    for n in names:
        get(n)  # fail fast on a bad name
    tuned = _tuned(names, knobs.parse(args.set))
    results = []
    t0, load0 = time.perf_counter(), _load()
    backend = None if args.stored_only else _backend(args)
    try:
        for ds in datasets:
            for n in names:
                if ds not in FIGURES[n].datasets:
                    continue
                print(f"{n} on {ds} ...", file=sys.stderr, flush=True)
                results.append(_run(tuned[n], args, ds, backend))
                r = results[-1]  # said as it finishes: a long report is readable while it runs
                print(f"{n} on {ds}: {r.verdict.verdict} in {r.wall:.0f} s (load "
                      f"{_load()}): {r.verdict.summary}", file=sys.stderr, flush=True)  # fmt: skip
    finally:
        if backend is not None:
            backend.close()
    # Speed is shared-machine dependent: the load average goes next to the wall time.
    note = (
        f"{len(results)} figures in {time.perf_counter() - t0:.0f} s on {os.cpu_count()} CPU "
        f"core(s), torch {machine.torch_version()}; load average (1/5/15 min) {load0} at the "
        f"start, {_load()} at the end."
    )
    out = Path(args.out)
    text = rep.render(results, fmt="md" if out.suffix == ".md" else "html", note=note)
    out.write_text(text, encoding="utf-8")
    for r in results:
        print(f"{r.figure.name:18s} {r.dataset:8s} {r.verdict.verdict:12s} {r.wall:6.1f} s")
    print(note)
    print(f"wrote {out}")
    return 0


def _tuned(names: list[str], changes: dict[str, str]) -> dict:
    """Each named figure with the --set knobs it offers; ValueError for a knob none offers."""
    out = {}
    for n in names:
        r = get(n)
        mine = {k: v for k, v in changes.items() if k in knobs.offered(r)}
        out[n] = knobs.tune(r, mine)
    unused = set(changes) - {k for r in out.values() for k, _ in r.knobs}
    if unused:
        raise ValueError(f"{', '.join(sorted(unused))}: no figure of this report offers it")
    return out


def _load() -> str:
    la = machine.load_average()
    return "n/a" if la is None else "/".join(f"{x:.2f}" for x in la)
