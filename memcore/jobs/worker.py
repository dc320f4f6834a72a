"""A worker process: claim queued runs, compute them, stream their records into the store.

`python -m memcore worker [--store PATH] [--device cuda:0] [--max-jobs N] [--idle-exit S]`.

Per job: resume from the last checkpoint (records after it are dropped, the runner continues
from that state), then hand each record the runner yields to the run's RunWriter
(memcore/jobs/writer.py: arrays, checkpoints, live pending records, the done summary).

A heartbeat thread renews the job's lease and the worker's own record (`workers` in the store)
every lease/4 seconds. `should_stop` (given to the runner, which checks it between steps and
inside long searches, so a worker stops within about a second) turns true on SIGTERM/SIGINT, on
cancel or delete, when the lease was lost, or when the process given as `parent` is gone (a
worker the app started exits with the app); after SIGTERM or the parent's exit the job goes
back to the queue's front. Errors mark the run failed with the message and traceback (CUDA out
of memory says what to shrink; a full disk says so); the worker itself keeps serving.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from memcore.datasets import REGISTRY
from memcore.jobs import lease
from memcore.jobs.jobqueue import enforce_limit
from memcore.jobs.pool import pid_alive
from memcore.jobs.runner import Runner, default_runner, on_device, warm_up
from memcore.jobs.writer import RunWriter, drop_if_deleted, record_failure
from memcore.store import CorruptArtifact, Store, open_store


class Worker:
    """One worker loop on one store; `serve()` runs until stopped, idle or out of jobs."""

    def __init__(
        self,
        store: Store | str | None = None,
        device: str | None = None,
        runner: Runner = None,
        parent: int | None = None,
    ) -> None:
        self.store = open_store(store)
        self.store.writable("a worker")  # a read-only store: say so at once, not per job
        self.device = device
        self.runner = runner or default_runner
        self.parent = parent  # pid whose exit stops this worker (the app that started it)
        self.id = f"{socket.gethostname()}-{os.getpid()}-{os.urandom(2).hex()}"
        self.term = threading.Event()  # SIGTERM/SIGINT: finish up, requeue the job
        self.key: str | None = None
        self.batch: list[str] = []  # keys of the batched run it trains (sweeps.batches)
        self.lost = False  # the current job's lease was lost (cancelled, deleted, taken over)
        self.jobs_done = 0
        self.started = time.time()
        self._last_check = 0.0

    # -- heartbeat ------------------------------------------------------------------------
    @property
    def beat_every(self) -> float:
        return self.store.lease_s / 4

    def beat(self, *, gone: bool = False) -> None:
        key = self.key
        if key is not None and not lease.renew(self.store, key, self.id):
            self.lost = True
        with self.store.transact() as ix:
            now = time.time()  # drop records of workers dead for an hour (SIGKILL, reboot)
            workers = {i: w for i, w in ix.workers().items() if now - w["beat"] < 3600}
            if gone:
                workers.pop(self.id, None)
            else:
                workers[self.id] = {
                    "id": self.id,
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "device": self.device or "auto",
                    "key": key or (self.batch[0] if self.batch else None),
                    "keys": [key] if key else list(self.batch),  # a batched run: all its specs
                    "beat": time.time(),
                    "every": self.beat_every,
                    "started": self.started,
                    "jobs_done": self.jobs_done,
                }
            ix.set_workers(workers)

    def _beat_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.beat_every):
            try:
                self.beat()
            except Exception as e:  # a transient store error must not kill the heartbeat
                print(f"[worker {self.id}] heartbeat failed: {e}", flush=True)

    def _watch_parent(self, stop: threading.Event) -> None:
        """Stop like on SIGTERM once the parent process is gone (checked twice a second)."""
        while not stop.wait(0.5):
            if not pid_alive(self.parent):
                print(f"[worker {self.id}] parent {self.parent} is gone: stopping", flush=True)
                self.term.set()
                return

    # -- one job ----------------------------------------------------------------------------
    def should_stop(self) -> bool:
        if self.term.is_set() or self.lost:
            return True
        now = time.time()
        if self.key and now - self._last_check > 0.2:  # cheap: one indexed read, throttled
            self._last_check = now
            if not lease.owns(self.store, self.key, self.id):
                self.lost = True
        return self.lost

    def _resume(self, claim: lease.Claim) -> tuple[Any, int]:
        ck = claim.checkpoint
        state, keep = None, 0
        if ck is not None:
            try:
                state, keep = self.store.read_checkpoint(ck["file"], ck["sha256"]), ck["records"]
            except CorruptArtifact as e:
                print(f"[worker {self.id}] {e}; restarting {claim.key[:12]}", flush=True)
        if claim.spec.task == "sensitivity":
            state, keep = None, 0  # sensitivity.run has no resume
        if state is not None:
            print(f"[worker {self.id}] resuming {claim.key[:12]} after record {keep}", flush=True)
        lease.truncate(self.store, claim.key, self.id, keep)
        self.store.remove_checkpoints(claim.key, keep=ck["file"] if state is not None else None)
        return state, keep

    def run_job(self, claim: lease.Claim) -> str:
        """Compute one claimed job; returns its outcome (done/failed/requeued/stopped)."""
        key, spec, s = claim.key, claim.spec, self.store
        self.key, self.lost = key, False
        try:
            self.beat()  # show the new job in the heartbeat record now
            if REGISTRY[spec.data.dataset].imported and spec.key != key:
                # the key carries the data's content hash: never train new data under it
                raise ValueError(
                    f"dataset {spec.data.dataset!r} was replaced after this run was queued; "
                    "submit the run again to train on the new data"
                )
            state, n = self._resume(claim)
            writer = RunWriter(s, key, spec, self.id, committed=n)
            run_spec = on_device(spec, self.device)
            if isinstance(state, dict) and "key" in state:
                state = {**state, "key": run_spec.key}  # resumed on another worker's device
            for rec in self.runner(run_spec, resume=state, should_stop=self.should_stop):
                if writer.add(rec):
                    return "done"
            if self.term.is_set() and not self.lost:
                lease.requeue(s, key, self.id)
                return "requeued"
            if self.lost:
                return "stopped"
            raise RuntimeError("the run ended without a 'done' record")
        except lease.LeaseLost:
            drop_if_deleted(s, key)
            return "stopped"
        except Exception as e:
            msg = record_failure(s, key, spec, self.id, e)
            print(f"[worker {self.id}] run {key[:12]} failed: {msg}", flush=True)
            return "failed"
        finally:
            self.key = None

    # -- loop -----------------------------------------------------------------------------
    def serve(
        self,
        max_jobs: int | None = None,
        idle_exit: float | None = None,
        poll: float = 0.25,
        before_claim: Callable[[], int] | None = None,
    ) -> int:
        """Claim and run jobs until SIGTERM, `max_jobs` jobs, or `idle_exit` idle seconds.
        `before_claim()` runs before each claim and returns how many jobs it finished itself
        (memcore.sweeps.batches: queued same-shape specs as one batched run); they count as
        handled."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.term.set())
        self.beat()
        stop_beats = threading.Event()
        beats = threading.Thread(target=self._beat_loop, args=(stop_beats,), daemon=True)
        beats.start()
        if self.parent is not None:
            threading.Thread(target=self._watch_parent, args=(stop_beats,), daemon=True).start()
        print(f"[worker {self.id}] serving {self.store.path} (pid {os.getpid()})", flush=True)
        # Warm up beside the loop: a SIGTERM meanwhile is answered at once, not after it.
        warming = threading.Thread(target=warm_up, daemon=True)
        warming.start()
        idle_since, handled = time.time(), 0
        try:
            while not self.term.is_set():
                if before_claim is not None and (n := self._before(before_claim)):
                    self.jobs_done += n  # batches.run keeps the store under its limit
                    idle_since = time.time()
                    handled += n
                    if max_jobs and handled >= max_jobs:
                        break
                    continue
                try:
                    claim = lease.claim(self.store, self.id)
                except Exception as e:  # e.g. the store briefly unreadable: keep serving
                    print(f"[worker {self.id}] claim failed: {e}", flush=True)
                    claim = None  # no work done: idle (a full disk must not keep it alive)
                    if idle_exit is None or time.time() - idle_since < idle_exit:
                        self.term.wait(1.0)
                        continue
                if claim is None:
                    if idle_exit is not None and time.time() - idle_since >= idle_exit:
                        break
                    self.term.wait(poll)
                    continue
                t0 = time.time()
                outcome = self.run_job(claim)
                self.jobs_done += outcome == "done"
                with contextlib.suppress(Exception):  # the heartbeat thread retries anyway
                    self.beat()
                print(
                    f"[worker {self.id}] {claim.key[:12]} {outcome} in {time.time() - t0:.1f}s",
                    flush=True,
                )
                self._evict()
                idle_since = time.time()
                handled += 1
                if max_jobs and handled >= max_jobs:
                    break
        finally:
            stop_beats.set()
            beats.join(timeout=5)
            try:
                self.beat(gone=True)
            except Exception as e:  # e.g. the disk is full: the record ages out in an hour
                print(f"[worker {self.id}] could not remove its heartbeat: {e}", flush=True)
        if not self.term.is_set():  # a normal exit: let the import finish before teardown
            warming.join(timeout=60)
        print(f"[worker {self.id}] exiting after {self.jobs_done} job(s)", flush=True)
        return 0

    def _before(self, hook: Callable[[], int]) -> int:
        try:
            return hook()
        except Exception as e:  # e.g. the store briefly unreadable: claim one job instead
            print(f"[worker {self.id}] batching failed: {e}", flush=True)
            return 0

    def _evict(self) -> None:
        """Keep the store under MEMCORE_STORE_LIMIT, saying what was evicted or kept."""
        try:
            out = enforce_limit(self.store)
        except Exception as e:  # a full disk, say: the next job tries again
            print(f"[worker {self.id}] eviction failed: {e}", flush=True)
            return
        for k in out.evicted:
            print(f"[worker {self.id}] evicted {k[:12]} (MEMCORE_STORE_LIMIT)", flush=True)
        if (text := out.warning()) is not None:
            print(f"[worker {self.id}] warning: {text}", flush=True)
