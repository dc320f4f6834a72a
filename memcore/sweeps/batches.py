"""A sweep's specs as batched runs, in this process, through the store (engine.batching).

`run(specs, worker)` groups the specs still queued by shape (engine.batching.groups), claims each
group's jobs for `worker` (lease.claim_key), trains the group as one engine run and hands each
spec's records to its own RunWriter (memcore/jobs/writer.py, the writer a worker uses): arrays
into that run's artifact files, a commit with progress and that spec's share of the checkpoint
after every epoch, then "done" with its summary. So status, progress, the Runs page and the
cache keys are those of specs run one by one. A lone spec, and a job with a checkpoint to resume
from, are left in the queue for the ordinary worker loop. Background workers batch the queue the
same way before each claim (`serve_hook`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from memcore import settings
from memcore.engine import batching
from memcore.jobs import lease
from memcore.jobs.jobqueue import enforce_limit
from memcore.jobs.runner import default_runner, on_device
from memcore.jobs.worker import Worker
from memcore.jobs.writer import RunWriter
from memcore.spec import RunSpec
from memcore.store import Store, StoreError


def enabled(worker: Worker, batched: bool | None = None) -> bool:
    """Whether to batch: `batched`, default MEMCORE_BATCH_SWEEPS; never when the worker runs
    something else than the engine (a test runner)."""
    on = settings.get("MEMCORE_BATCH_SWEEPS") if batched is None else batched
    return bool(on) and worker.runner is default_runner and not settings.get("MEMCORE_JOBS_RUNNER")


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
    writers: list[RunWriter] = []
    try:
        writers += [RunWriter.fresh(store, c, worker.id) for c in claims]
    except Exception as e:  # a full disk, say: every claimed spec goes back, none left running
        _requeue_each([c.key for c in claims], worker, f"could not start ({e})")
        raise
    alive = [True] * len(writers)  # still this worker's (not cancelled, deleted or finished)
    specs = [on_device(c.spec, worker.device) for c in claims]
    stop_beats = threading.Event()

    def beat() -> None:
        while not stop_beats.wait(store.lease_s / 4):
            for i, w in enumerate(writers):
                if alive[i] and not lease.renew(store, w.key, worker.id):
                    alive[i] = False

    def should_stop() -> bool:
        return worker.term.is_set() or not any(alive)

    beats = threading.Thread(target=beat, daemon=True)
    beats.start()
    worker.batch = [w.key for w in writers]  # its heartbeat names the batch, not "no job"
    keys = ", ".join(w.key[:12] for w in writers)
    print(f"[batches] {len(writers)} specs as one run: {keys}", flush=True)
    try:
        for i, rec in trainer.train_batch(specs, should_stop=should_stop):
            if alive[i]:
                try:
                    if writers[i].add(rec):
                        alive[i] = False
                except lease.LeaseLost:  # cancelled or deleted: the others go on
                    alive[i] = False
                    writers[i].lost()
            if tick is not None and rec["type"] == "checkpoint" and i == len(writers) - 1:
                tick()
        if worker.term.is_set():  # stopping: back to the queue, resumed alone later
            _requeue_each([w.key for w, a in zip(writers, alive, strict=True) if a], worker)
            alive = [False] * len(writers)
        elif any(alive):
            raise RuntimeError("the batched run ended without a 'done' record")
    except BaseException as e:
        # Each spec on its own (record_failure never raises): one whose end cannot be written
        # must not leave the others "running" until their leases expire.
        live = [w for w, a in zip(writers, alive, strict=True) if a]
        if isinstance(e, Exception):
            for w in live:
                w.fail(e)
        else:  # interrupted: back to the queue, resumed from its last checkpoint
            _requeue_each([w.key for w in live], worker)
            raise
    finally:
        worker.batch = []
        stop_beats.set()
        beats.join(timeout=5)
    return sum(w.done for w in writers)


def _requeue_each(keys: list[str], worker: Worker, why: str = "stopping") -> None:
    """Give each spec back to the queue on its own (a full disk may refuse one write)."""
    for key in keys:
        try:
            lease.requeue(worker.store, key, worker.id)
        except Exception as e:
            print(f"[batches] could not requeue {key[:12]} ({why}): {e}", flush=True)
