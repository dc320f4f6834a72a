"""The one writer of a run's records: a run's record stream -> its entries in the store.

`RunWriter(store, key, spec, owner).add(record)` for each record a runner yields, by whoever
holds the run's lease (`owner`): a worker (memcore/jobs/worker.py), a batched sweep run, one
writer per spec (memcore/sweeps/batches.py), and the Dask driver replaying a finished task
(memcore/sweeps/dask_backend.py). So status, progress, records, arrays and summary are the same
whichever way a run was computed.

Per record: "arrays" go to checksummed artifact files (the record keeps their names, file and
sha256); the others are buffered; a "checkpoint" record commits the buffer and the checkpoint
file in one transaction (a crash loses at most the current epoch), at most once every
MEMCORE_CHECKPOINT_EVERY_S seconds; buffered records are shown live as `pending` about twice a
second (the run's first curve point at once); "done" commits the rest with the run's summary
and marks it done. Lease loss raises lease.LeaseLost (nothing written); `drop_if_deleted` then
drops the files of a run deleted meanwhile; `record_failure` stores an error as the run's.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from memcore import settings
from memcore.jobs import lease
from memcore.jobs.runs import records
from memcore.spec import RunSpec
from memcore.store import Store, StoreError, disk_full, disk_full_message

PENDING_EVERY_S = 0.5  # live-record refresh period


class RunWriter:
    """Writes one run's records into `store` under `key` as lease holder `owner`, after the
    first `committed` records already stored (resuming from a checkpoint)."""

    def __init__(
        self, store: Store, key: str, spec: RunSpec, owner: str, *, committed: int = 0
    ) -> None:
        self.store, self.key, self.spec, self.owner = store, key, spec, owner
        self.n = committed  # records committed
        self.resumed = committed > 0
        prior = records(key, 0, store)[:committed] if committed else []
        self.meta = next((r for r in prior if r["type"] == "meta"), None)
        self.buf: list[dict[str, Any]] = []
        self.progress: dict[str, Any] = {"epochs": spec.train.epochs}
        self.evals = 0  # "epoch" records seen in this attempt
        self.done = False
        self.last_flush = self.last_ck = time.time()
        # Seconds between committed checkpoints (0 = every epoch): raised for huge models
        # whose per-epoch torch.save would dominate; a crash then resumes from the last one.
        self.checkpoint_every = settings.get("MEMCORE_CHECKPOINT_EVERY_S")

    @classmethod
    def fresh(cls, store: Store, claim: lease.Claim, owner: str) -> RunWriter:
        """A writer for a run computed from its start: drops what an earlier attempt left."""
        lease.truncate(store, claim.key, owner, 0)
        store.remove_checkpoints(claim.key)
        return cls(store, claim.key, claim.spec, owner)

    def add(self, rec: dict[str, Any]) -> bool:
        """Take the run's next record; True once its "done" record is committed."""
        s, key, kind = self.store, self.key, rec["type"]
        if kind == "meta":
            if self.meta is not None and self.resumed:
                return False  # a resumed runner repeats its meta record
            self.meta = rec
        self._progress(rec)
        if kind == "arrays":
            rel, sha = s.write_arrays(key, self.n + len(self.buf), rec["arrays"])
            names = sorted(rec["arrays"])
            rec = {k: v for k, v in rec.items() if k != "arrays"}
            rec.update(names=names, file=rel, sha256=sha)
        if kind == "checkpoint":
            if time.time() - self.last_ck >= self.checkpoint_every:
                ck = s.write_checkpoint(key, self.n + len(self.buf), rec["state"])
                self._commit(checkpoint=ck)
                s.remove_checkpoints(key, keep=ck[0])
                self.last_flush = self.last_ck = time.time()
            return False  # too soon after the last one: keep buffering (big models)
        self.buf.append(rec)
        if kind == "done":
            self._commit(summary=run_summary(records(key, 0, s)[: self.n] + self.buf, rec))
            s.remove_checkpoints(key)
            self.done = True
            return True
        self.evals += kind == "epoch"
        # the run's first curve point is shown at once, not after epoch 0's CSR search
        first_point = self.n == 0 and kind == "epoch" and self.evals == self.spec.train.members
        if first_point or time.time() - self.last_flush > PENDING_EVERY_S:
            lease.set_pending(s, key, self.owner, self.buf, self.progress)
            self.last_flush = time.time()
        return False

    def _progress(self, rec: dict[str, Any]) -> None:
        epochs = self.spec.train.epochs
        if rec["type"] == "epoch":
            self.progress.update(epoch=float(rec["epoch"]))
            self.progress["fraction"] = min(1.0, rec["epoch"] / epochs)
        elif rec["type"] == "sens" and self.meta:
            per_epoch = max(1, self.meta.get("steps_per_epoch", 1))
            self.progress.update(fraction=min(1.0, rec["step"] / (per_epoch * epochs)))
            self.progress.update(epoch=rec["step"] / per_epoch)

    def _commit(self, **kw: Any) -> None:
        lease.commit(self.store, self.key, self.owner, self.buf, progress=self.progress, **kw)
        self.n += len(self.buf)
        self.buf = []

    def fail(self, e: BaseException) -> str:
        """Store `e` as the run's failure; returns the message stored."""
        return record_failure(self.store, self.key, self.spec, self.owner, e)

    def lost(self) -> None:
        """The lease was lost (cancelled, deleted, taken over): drop a deleted run's files."""
        drop_if_deleted(self.store, self.key)


def drop_if_deleted(store: Store, key: str) -> None:
    """After a lost lease: a run deleted while it ran loses the files written since."""
    if not store.index.has_run(key):
        store.remove_files(key)


def record_failure(store: Store, key: str, spec: RunSpec, owner: str, e: BaseException) -> str:
    """Mark the run failed with `e`'s message and traceback (its last checkpoint stays for a
    retry); returns the message. A failure that cannot be stored (the disk still full) is
    printed and the run put back in the queue, if that can be written; else the lease runs out
    and the run goes back to the queue then."""
    msg = failure_message(e, spec, store)
    try:
        lease.fail(store, key, owner, msg, "".join(traceback.format_exception(e)))
    except Exception as e2:
        print(f"[{owner}] could not record the failure of {key[:12]}: {e2}", flush=True)
        try:  # not left "running" (a lease that runs out counts as a worker death)
            lease.requeue(store, key, owner)
        except Exception as e3:
            print(f"[{owner}] could not requeue {key[:12]} either: {e3}", flush=True)
    return msg


def failure_message(e: BaseException, spec: RunSpec, store: Store) -> str:
    """What the Runs page shows for a failed run: the store's own message, a full disk, what to
    shrink after CUDA out of memory, or the exception's type and text."""
    if isinstance(e, StoreError):
        return e.args[0]
    if disk_full(e):
        return disk_full_message(store.path)
    text = f"{type(e).__name__}: {e}"
    if "out of memory" in str(e).lower() or type(e).__name__ == "OutOfMemoryError":
        return (
            f"out of memory on {spec.train.device}: reduce model.width ({spec.model.width}), "
            f"train.members ({spec.train.members}) or train.batch_size "
            f"({spec.train.batch_size}) and retry. ({text.splitlines()[0][:300]})"
        )
    return text


def run_summary(recs: list[dict[str, Any]], done: dict[str, Any]) -> dict[str, Any]:
    """done["summary"] plus member means of the final evaluation (accuracies) and last CSR."""
    out = dict(done.get("summary") or {})
    epochs = [r for r in recs if r["type"] == "epoch"]
    if epochs:
        last = max(r["epoch"] for r in epochs)
        final = [r for r in epochs if r["epoch"] == last]
        for name in ("train_acc", "val_acc", "clean_acc", "noisy_acc", "train_loss", "val_loss"):
            vals = [r[name] for r in final if r.get(name) is not None]
            out.setdefault(f"final_{name}", sum(vals) / len(vals) if vals else None)
    csr = [r for r in recs if r["type"] == "csr"]
    if csr:
        last = max(r["epoch"] for r in csr)
        vals = [r["csr"] for r in csr if r["epoch"] == last]
        out.setdefault("final_csr", sum(vals) / len(vals))
    out.setdefault("wall", done.get("wall"))
    return out
