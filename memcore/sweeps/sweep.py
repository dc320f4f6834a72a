"""Run a figure through the job store: submit its sweep, wait, collect the runs, check the claim.

Runs are cached by spec key in the store, so a second call (or a page showing the same figure)
reuses every finished run and only computes what is missing. A backend (memcore/sweeps/backends.py)
computes them: by default this machine's worker processes (`workers=N` makes sure N are alive)
or, with `workers=0`, a worker loop in this process (handy on a CLI or in tests: nothing is left
running afterwards); `backend="dask"` (or a backends.Dask) on a dask.distributed cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from memcore.figures import get, glossary
from memcore.figures.figure import Figure, RunData, Verdict
from memcore.jobs import api
from memcore.spec import RunSpec
from memcore.store import open_store
from memcore.sweeps import backends
from memcore.sweeps.backends import Backend


@dataclass
class Progress:
    """Where a figure's sweep stands: runs per status and the completed fraction."""

    total: int
    counts: dict[str, int] = field(default_factory=dict)
    fraction: float = 0.0
    wall: float = 0.0  # seconds some run of the sweep was running (union of their intervals)

    @property
    def active(self) -> bool:
        """Some run is queued or running."""
        return bool(self.counts.get("queued", 0) + self.counts.get("running", 0))

    @property
    def done(self) -> int:
        return self.counts.get("done", 0)

    @property
    def finished(self) -> bool:
        busy = sum(self.counts.get(s, 0) for s in ("queued", "running", "missing"))
        return busy == 0

    def text(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items()))
        return f"{self.done}/{self.total} runs done ({parts})"


@dataclass
class FigureResult:
    figure: Figure
    dataset: str
    scale: str
    frame: pd.DataFrame
    verdict: Verdict
    progress: Progress
    wall: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        """What the figure's page and the report say: "not run" (no run stored), "running"
        (some run queued or running: no verdict yet), else the verdict."""
        if self.progress.active:
            return "running"
        if self.progress.done == 0 and not self.errors:
            return "not run"
        return self.verdict.verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "figure": self.figure.name,
            "state": self.state,
            "title": self.figure.title,
            "dataset": self.dataset,
            "scale": self.scale,
            **self.verdict.to_dict(),
            "runs": self.progress.total,
            "runs_done": self.progress.done,
            "wall_s": round(self.wall, 1),
            "errors": self.errors,
        }

    def number_rows(self) -> list[dict[str, str]]:
        """The verdict's numbers (its parts' too) with their definitions: glossary.verdict_rows."""
        return glossary.verdict_rows(self.figure.name, self.verdict.to_dict())


FINISHED = ("done", "failed", "cancelled")


def _figure(fig: Figure | str) -> Figure:
    return get(fig) if isinstance(fig, str) else fig


def grid(fig: Figure | str, dataset: str, scale: str) -> list[RunSpec]:
    """The specs of the figure's sweep on `dataset` at `scale`."""
    return list(_figure(fig).grid(dataset, scale))


def submit(fig: Figure | str, dataset: str, scale: str, store=None, retry=False) -> str:
    """Queue every spec of the figure not yet in the store; returns the sweep id. (No visitor
    policy: a public demo checks `grid(...)` with memcore.demo.check_submit first.)"""
    return api.submit_sweep(grid(fig, dataset, scale), store, retry=retry)


def progress(fig: Figure | str, dataset: str, scale: str, store=None) -> Progress:
    """Runs per status (never submitted = "missing") and the completed fraction."""
    specs = _figure(fig).grid(dataset, scale)
    counts: dict[str, int] = {}
    total = 0.0
    spans = []
    for s in specs:
        try:
            st = api.status(s.key, store)
            name, frac = st.status, (1.0 if st.status in FINISHED else st.fraction)
        except KeyError:
            name, frac = "missing", 0.0
        else:
            if st.started is not None:
                spans.append((st.started, st.finished if st.finished is not None else time.time()))
        counts[name] = counts.get(name, 0) + 1
        total += frac
    return Progress(len(specs), counts, total / max(len(specs), 1), _covered(spans))


def _covered(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of (start, end) intervals: runs in parallel count once,
    idle gaps (a run reused from an earlier day) not at all."""
    out, end = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b > end:
            out += b - max(a, end)
            end = b
    return out


def collect(
    fig: Figure | str,
    dataset: str,
    scale: str,
    store=None,
    memo: dict | None = None,
    partial: bool = False,
) -> list[RunData]:
    """Every spec of the figure with its stored status; records and arrays for finished runs.
    `memo` (key -> RunData) keeps finished runs between calls, so polling reads each once.
    partial: running runs come with the records they have so far too, marked done so the
    figure draws them as they arrive (not for figures that augment a finished run)."""
    r = _figure(fig)
    out = []
    for s in r.grid(dataset, scale):
        if memo is not None and s.key in memo:
            out.append(memo[s.key])
            continue
        try:
            st = api.status(s.key, store).status
        except KeyError:
            out.append(RunData(s, status="missing"))
            continue
        if st == "running" and partial and r.augment is None:
            out.append(RunData(s, api.records(s.key, 0, store), api.arrays(s.key, store)))
            continue
        if st != "done":
            out.append(RunData(s, status=st))
            continue
        run = RunData(s, api.records(s.key, 0, store), api.arrays(s.key, store), "done")
        if memo is not None:
            memo[s.key] = run
        out.append(run)
    return out


def errors(fig: Figure | str, dataset: str, scale: str, store=None) -> list[str]:
    """One line per failed run of the figure: its key and error."""
    out = []
    for s in _figure(fig).grid(dataset, scale):
        try:
            st = api.status(s.key, store)
        except KeyError:
            continue
        if st.status == "failed":
            out.append(f"{s.key[:12]}: {st.error}")
    return out


def evaluate(
    fig: Figure | str,
    dataset: str,
    scale: str,
    store=None,
    memo: dict | None = None,
    partial: bool = False,
) -> FigureResult:
    """Frame and verdict from whatever is stored now (no submitting, no waiting). partial:
    the frame has the running runs' records so far too (`collect`); the result's state is
    "running" then, whatever the verdict on those partial runs says."""
    r = _figure(fig)
    try:
        df, verdict = r.evaluate(collect(r, dataset, scale, store, memo, partial))
    except Exception:
        if not partial:
            raise
        # a figure's frame that cannot take a run cut mid-epoch: the finished runs only
        df, verdict = r.evaluate(collect(r, dataset, scale, store, memo))
    prog = progress(r, dataset, scale, store)
    errs = errors(r, dataset, scale, store)
    if 0 < prog.done < prog.total:
        verdict = Verdict(
            "inconclusive",
            f"only {prog.done} of {prog.total} runs finished; on those: {verdict.summary}",
            verdict.numbers,
        )
    return FigureResult(r, dataset, scale, df, verdict, prog, wall=prog.wall, errors=errs)


def run(
    fig: Figure | str,
    dataset: str,
    scale: str,
    store=None,
    *,
    workers: int = 0,
    backend: Backend | str | None = None,
    timeout: float | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    poll: float = 1.0,
    batched: bool | None = None,
) -> FigureResult:
    """Submit, compute the missing runs with `backend` (memcore/sweeps/backends.py; default the
    local one: in this process when workers=0), wait and evaluate. In this process, specs of
    one shape train as one batched run (sweeps.batches) unless batched=False (default:
    MEMCORE_BATCH_SWEEPS)."""
    r = _figure(fig)
    t0 = time.time()
    s = open_store(store)
    submit(r, dataset, scale, s)

    def finished() -> bool:
        prog = progress(r, dataset, scale, s)
        if on_progress:
            on_progress(prog)
        return prog.finished or (timeout is not None and time.time() - t0 > timeout)

    be = backends.resolve(backend, workers=workers, batched=batched)
    try:
        be.compute(grid(r, dataset, scale), s, finished, poll)
    finally:
        if be is not backend:  # made here from a name: ours to close
            be.close()
    res = evaluate(r, dataset, scale, s)
    res.wall = time.time() - t0
    return res
