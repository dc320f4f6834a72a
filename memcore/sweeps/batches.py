"""A sweep's specs as batched runs, in this process, through the store (engine.batching).

`run(specs, worker)` groups the specs still queued by shape (engine.batching.groups), claims each
group's jobs for `worker` (lease.claim_key), trains the group as one engine run and writes each
spec's records into its own run the way a worker does (memcore.jobs.worker): arrays into that
run's artifact files, a commit with progress and that spec's share of the checkpoint after every
epoch, then "done" with its summary. So status, progress, the Runs page and the cache keys are
those of specs run one by one. A lone spec, and a job with a checkpoint to resume from, are left
in the queue for the ordinary worker loop. Background workers batch the queue the same way
before each claim (`serve_hook`).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from memcore import settings
from memcore.engine import batching
from memcore.jobs import lease
from memcore.jobs.jobqueue import enforce_limit
from memcore.jobs.runner import default_runner
from memcore.jobs.runs import records
from memcore.jobs.worker import PENDING_EVERY_S, Worker, run_summary
from memcore.spec import RunSpec
from memcore.store import Store, StoreError, disk_full, disk_full_message


def enabled(worker: Worker, batched: bool | None = None) -> bool:
    """Whether to batch: `batched`, default MEMCORE_BATCH_SWEEPS; never when the worker runs
    something else than the engine (a test runner)."""
    on = settings.get("MEMCORE_BATCH_SWEEPS") if batched is None else batched
    return bool(on) and worker.runner is default_runner and not settings.get("MEMCORE_JOBS_RUNNER")


class _SpecRun:
    """One claimed spec of a batched run: buffers its records and commits them to its run."""

    def __init__(self, claim: lease.Claim, store: Store, worker_id: str):
        self.key, self.spec, self.store, self.worker_id = claim.key, claim.spec, store, worker_id
        self.n = 0  # records committed
        self.buf: list[dict[str, Any]] = []
        self.progress: dict[str, Any] = {"epochs": claim.spec.train.epochs}
        self.alive, self.finished = True, False
        self.last_flush = self.last_ck = time.time()
        lease.truncate(store, self.key, worker_id, 0)  # a fresh start: drop a failed attempt's
        store.remove_checkpoints(self.key)

    def add(self, rec: dict[str, Any], checkpoint_every: float) -> None:
        """Take one of this spec's records (worker.run_job's handling, per spec)."""
        if not self.alive:
            return
        s, key, kind = self.store, self.key, rec["type"]
        try:
            if kind == "epoch":
                self.progress["epoch"] = float(rec["epoch"])
                self.progress["fraction"] = min(1.0, rec["epoch"] / self.spec.train.epochs)
            if kind == "arrays":
                rel, sha = s.write_arrays(key, self.n + len(self.buf), rec["arrays"])
                names = sorted(rec["arrays"])
                rec = {k: v for k, v in rec.items() if k != "arrays"}
                rec.update(names=names, file=rel, sha256=sha)
            if kind == "checkpoint":
                if time.time() - self.last_ck < checkpoint_every:
                    return
                ck = s.write_checkpoint(key, self.n + len(self.buf), rec["state"])
                self._commit(checkpoint=ck)
                s.remove_checkpoints(key, keep=ck[0])
                self.last_flush = self.last_ck = time.time()
                return
            self.buf.append(rec)
            if kind == "done":
                summary = run_summary(records(key, 0, s)[: self.n] + self.buf, rec)
                self._commit(summary=summary)
                s.remove_checkpoints(key)
                self.finished, self.alive = True, False
            elif time.time() - self.last_flush > PENDING_EVERY_S:
                lease.set_pending(s, key, self.worker_id, self.buf, self.progress)
                self.last_flush = time.time()
        except lease.LeaseLost:  # cancelled or deleted: the others go on
            self.alive = False
            if not s.index.has_run(key):
                s.remove_files(key)

    def _commit(self, **kw: Any) -> None:
        lease.commit(self.store, self.key, self.worker_id, self.buf, progress=self.progress, **kw)
        self.n += len(self.buf)
        self.buf = []


def _fresh(store: Store, key: str) -> bool:
    """Queued with nothing to resume (read-only check)."""
    job = store.index.job(key)
    return store.index.status(key) == "queued" and job is not None and not job["checkpoint"]


def queued(store: Store) -> list[RunSpec]:
    """The specs of the queue's fresh jobs (nothing to resume), in queue order."""
    out = []
    for key in store.index.queue():
        text = store.index.spec_json(key)
        if text is not None and _fresh(store, key):
            out.append(RunSpec.from_json(text))
    return out


def serve_hook(worker: Worker) -> Callable[[], int] | None:
    """For Worker.serve(before_claim=...): batch the queue's same-shape specs before each claim
    (a background worker then trains a figure's sweep as the in-process path does); None when
    batching is off (MEMCORE_BATCH_SWEEPS) or the worker runs a test runner."""
    if not enabled(worker):
        return None
    seen: set[str] = set()

    def hook() -> int:
        # Called before every claim: read the queued specs only when new keys arrived (a queue
        # that only shrank since the last look forms no new group), not once per claim.
        keys = set(worker.store.index.queue())
        if keys <= seen:
            return 0
        seen.clear()
        seen.update(keys)
        return run(queued(worker.store), worker)

    return hook


def run(specs: Sequence[RunSpec], worker: Worker, tick: Callable[[], object] | None = None) -> int:
    """Train the queued `specs` in batched runs of two or more specs; returns how many specs
    were trained so. `tick` is called after every epoch's commits (progress display)."""
    store, done = worker.store, 0
    for group in batching.groups(s for s in specs if _fresh(store, s.key)):
        if len(group) < 2:
            continue  # the ordinary worker loop runs it
        claims = [c for s in group if (c := lease.claim_key(store, worker.id, s.key))]
        for c in [c for c in claims if c.checkpoint]:  # claimed while another checkpointed it
            lease.requeue(store, c.key, worker.id)
        claims = [c for c in claims if not c.checkpoint]
        if len(claims) == 1:
            lease.requeue(store, claims[0].key, worker.id)
        elif claims:
            done += _run_group(claims, worker, tick)
    if done:
        try:
            enforce_limit(store)
        except StoreError as e:
            print(f"[batches] eviction failed: {e}", flush=True)
    return done


def _run_group(claims: list[lease.Claim], worker: Worker, tick: Callable[[], object] | None) -> int:
    from memcore.engine import trainer  # torch loads only when something is trained

    store = worker.store
    runs: list[_SpecRun] = []
    try:
        runs += [_SpecRun(c, store, worker.id) for c in claims]
    except Exception as e:  # a full disk, say: every claimed spec goes back, none left running
        _end([c.key for c in claims], worker, lease.requeue, f"could not start ({e})")
        raise
    specs = [c.spec for c in claims]
    if worker.device:  # like worker.run_job: a worker's device replaces "auto"
        specs = [
            s.replace(**{"train.device": worker.device}) if s.train.device == "auto" else s
            for s in specs
        ]
    stop_beats = threading.Event()

    def beat() -> None:
        while not stop_beats.wait(store.lease_s / 4):
            for r in runs:
                if r.alive and not lease.renew(store, r.key, worker.id):
                    r.alive = False

    def should_stop() -> bool:
        return worker.term.is_set() or not any(r.alive for r in runs)

    beats = threading.Thread(target=beat, daemon=True)
    beats.start()
    worker.batch = [r.key for r in runs]  # its heartbeat names the batch, not "no job"
    checkpoint_every = settings.get("MEMCORE_CHECKPOINT_EVERY_S")
    keys = ", ".join(r.key[:12] for r in runs)
    print(f"[batches] {len(runs)} specs as one run: {keys}", flush=True)
    try:
        for i, rec in trainer.train_batch(specs, should_stop=should_stop):
            runs[i].add(rec, checkpoint_every)
            if tick is not None and rec["type"] == "checkpoint" and i == len(runs) - 1:
                tick()
        if worker.term.is_set():  # stopping: back to the queue, resumed alone later
            _end([r.key for r in runs if r.alive], worker, lease.requeue, "stopping")
            for r in runs:
                r.alive = False
        elif any(r.alive for r in runs):
            raise RuntimeError("the batched run ended without a 'done' record")
    except BaseException as e:
        alive = [r.key for r in runs if r.alive]
        if isinstance(e, Exception):
            msg = disk_full_message(store.path) if disk_full(e) else f"{type(e).__name__}: {e}"
            tb = traceback.format_exc()
            _end(alive, worker, lambda st, k, w: lease.fail(st, k, w, msg, tb), msg)
        else:  # interrupted: back to the queue, resumed from its last checkpoint
            _end(alive, worker, lease.requeue, "interrupted")
            raise
    finally:
        worker.batch = []
        stop_beats.set()
        beats.join(timeout=5)
    return sum(r.finished for r in runs)


def _end(keys: list[str], worker: Worker, how: Callable[[Store, str, str], None], why: str) -> None:
    """End each spec's attempt with `how` (fail or requeue), each on its own: one that cannot
    be written (a full disk) must not leave the others "running" until their leases expire
    (each would count as a worker death). One that fails is requeued instead, if that works."""
    for key in keys:
        try:
            how(worker.store, key, worker.id)
        except Exception as e:
            print(f"[batches] could not end {key[:12]} ({why}): {e}", flush=True)
            try:
                lease.requeue(worker.store, key, worker.id)
            except Exception as e2:
                print(f"[batches] could not requeue {key[:12]} either: {e2}", flush=True)
