"""Training engine: K ensemble members trained at once on device-resident data; yields records.

`train(spec)` returns an iterator over memcore.records records:
meta, then per evaluation point one "epoch" record per member and one "arrays" record (those of
epoch 0 and of the last epoch also hold the "first_layer" filters, K x F x H x W; that of the
last epoch, with CSR on, also the critical pairs of engine.measurements), "csr"
records at the spec's CSR epochs (memcore.spec.schedule), a "checkpoint" after every epoch but
the last, "sharpness" at the end (metrics.sharpness), and "done". Spec fields are validated when
`train` is called (a ValueError naming the field), before anything runs.

Data order (engine.device_data): member k's epoch-e order is a permutation from a generator
seeded by (seed + k, e); a step gathers the next batch of every member at once. Every epoch
visits every example: the last batch of an epoch is kept, smaller (like DataLoader's
drop_last=False), so an epoch has ceil(N / batch_size) steps. Regularizer masks come from a
generator seeded by (seed, epoch, step). Nothing depends on hidden RNG state, so a run resumed
from a checkpoint gives the same records as an uninterrupted one, and member k of a K-member run
equals a 1-member run with seed + k (without a regularizer that draws masks or noise).

Optimiser and regularizers: engine.sgd (lr constant or multiplied by gamma every step_epochs
epochs: `lr_at`). Checkpoint contents: engine.checkpoint.

Evaluation (engine.evaluation) at epoch 0 before training, every eval_every epochs, the last
epoch, and after each of the first metrics.early_steps steps of epoch 1; CSR, sharpness and
first-layer filters: engine.measurements.

Batched sweeps: `train_batch(specs)` trains several specs of one shape (engine.batching) as one
ensemble, each member with its own spec's seeds, labels and (randX) inputs, and yields (spec
index, record) pairs: spec s's records equal `train(spec_s)`'s up to float rounding and wall
times; each spec's checkpoint state resumes that spec alone.

Resume: `train(spec, resume=state)` with the "state" of a checkpoint record continues after that
epoch; the stream then starts with the records after the checkpoint (no second "meta").
Cancel: `should_stop()` is checked before every step and evaluation and inside every CSR search
(each LASS iteration); when it returns True the iterator ends without a "done" record.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from torch import Tensor

from memcore import records
from memcore.data import noise
from memcore.engine import checkpoint, measurements, models
from memcore.engine import device as devices
from memcore.engine.batching import Batch
from memcore.engine.device import resolve_device
from memcore.engine.device_data import DeviceData, check_fit, permutations
from memcore.engine.evaluation import Evaluator
from memcore.engine.sgd import SGD, lr_at
from memcore.metrics import critical
from memcore.spec import RunSpec

__all__ = ["Trainer", "resolve_device", "train", "train_batch"]


class Trainer:
    """One run's state: data on the device, the ensemble, optimiser buffers, counters.

    `spec` is a RunSpec or a Batch of specs of one shape (engine.batching); `data` a Dataset
    (one spec) or one per spec (default: the specs' noisy data, memcore.data.noise)."""

    def __init__(self, spec: RunSpec | Batch, data: Any = None, resume: dict | None = None):
        self.batch = batch = Batch.of(spec)
        spec = batch.base
        for s in batch.specs:
            if s.task != "train":
                raise ValueError(f"task={s.task!r} is invalid: the engine runs task 'train'")
        self.spec, t = spec, spec.train
        self.device = resolve_device(t.device)
        if data is None:
            data = noise.prepare_batch(batch.specs)
        self.datasets = list(data) if isinstance(data, (list, tuple)) else [data]
        if len(self.datasets) != len(batch.specs):
            raise ValueError(f"{len(self.datasets)} datasets for {len(batch.specs)} specs")
        self.data = data = self.datasets[0]
        n = check_fit(data, spec)
        self.K, self.N, self.B = batch.members, n, t.batch_size
        self.steps_per_epoch = math.ceil(n / t.batch_size)
        self.model = models.build(
            spec.model,
            tuple(data.input_shape),
            data.n_classes,
            self.K,
            batch.member_seeds,
            self.device,
        )
        self.on_device = DeviceData.put(self.datasets, spec, self.device, batch.member_spec)
        self.evaluator = Evaluator(
            self.model, self.on_device, spec.model.width, t.precision, batch.slices
        )
        self.opt = SGD(self.model, batch, self.device)
        self.epoch, self.step, self.wall0 = 0, 0, 0.0
        self._probes: measurements.Probes | None = None  # CSR probes, drawn once
        if resume is not None:
            if len(batch.specs) > 1:
                raise ValueError("resume: a batched run starts fresh; resume each spec alone")
            self.load(resume)

    # -- state -----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything needed to resume after the current epoch (engine.checkpoint)."""
        wall = self.wall0 + time.perf_counter() - self._t0
        return checkpoint.state(
            self.model, self.opt, self.evaluator, self.epoch, self.step, wall, self.spec.key
        )

    def load(self, state: dict[str, Any]) -> None:
        self.epoch, self.step, self.wall0 = checkpoint.restore(
            state, self.model, self.opt, self.evaluator, self.spec.key
        )

    # -- training --------------------------------------------------------------------------
    def permutations(self, epoch: int) -> Tensor:
        """K x N: every member's order in `epoch` (engine.device_data.permutations)."""
        return permutations(self.N, self.K, self.batch.member_seeds, epoch, self.device)

    def tf32(self):
        """The run's TF32 setting on CUDA, for the whole run (engine.device.tf32)."""
        return devices.tf32(self.device, self.spec.train.precision)

    def sgd_step(self, xb: Tensor, yb: Tensor, lr: float, epoch: int) -> None:
        """One SGD step of all members on their batches xb (K x B x ...), yb (K x B)."""
        self.opt.step(xb, yb, lr, epoch, self.step)

    # -- records ---------------------------------------------------------------------------
    def eval_records(
        self,
        epoch: float,
        lr: float,
        wall: float,
        pairs: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Evaluation records (engine.evaluation), with the filters at epoch 0 and the last and
        each spec's `pairs` arrays (its critical pairs) in the same "arrays" record (for a
        batch, under "spec_arrays": engine.batching.Batch.split gives each spec its own)."""
        extra: dict[str, Any] = {}
        if epoch in (0, self.spec.train.epochs):
            extra = measurements.first_layer_arrays(self.model, tuple(self.data.input_shape))
        one = len(self.batch.specs) == 1
        if pairs and one:
            extra |= pairs[0]
        recs = self.evaluator.records(epoch, self.step, lr, wall, extra)
        if pairs and not one:
            recs[-1]["spec_arrays"] = pairs
        return recs

    def csr_records(
        self,
        epoch: int,
        wall_fn: Callable[[], float],
        should_stop: Callable[[], bool] | None = None,
        pairs: bool = False,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The "csr" records (engine.measurements) on the probe set drawn at the first call;
        with `pairs`, also each spec's critical pairs (else []). Raises critical.SearchStopped
        when `should_stop()` turns true during the search."""
        if self._probes is None:
            self._probes = measurements.probe_set(self.on_device, self.spec)
        shape = tuple(self.data.input_shape) if pairs else None
        return measurements.csr_records(
            self.model,
            self._probes,
            self.batch,
            epoch=epoch,
            step=self.step,
            wall_fn=wall_fn,
            input_shape=shape,
            should_stop=should_stop,
        )

    def records(self, should_stop: Callable[[], bool] | None = None) -> Iterator[dict[str, Any]]:
        """The run's record stream from the current epoch on (module docstring); one spec."""
        if len(self.batch.specs) != 1:
            raise ValueError("records() is one spec's stream; a batch yields spec_records()")
        for _, rec in self.spec_records(should_stop):
            yield rec

    def spec_records(
        self, should_stop: Callable[[], bool] | None = None
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """(spec index, record): each spec's stream, as if it ran alone (engine.batching)."""
        one = len(self.batch.specs) == 1
        try:
            for rec in self._stream(should_stop or (lambda: False)):
                kind = rec["type"]
                if kind == "meta":
                    yield from ((i, self.meta(i)) for i in range(len(self.batch.specs)))
                elif kind == "done":
                    for i, sl in enumerate(self.batch.slices):
                        summary = self.evaluator.summary(sl)
                        done = records.Done(
                            wall=rec["wall"], epochs_run=self.epoch, summary=summary
                        )
                        yield i, done.to_dict()
                elif one:  # nothing to split (and no copy of a big checkpoint)
                    yield 0, rec
                else:
                    yield from self.batch.split(rec)
        except critical.SearchStopped:
            return  # asked to stop inside a CSR search: end like a stop between steps

    def _stream(self, stop: Callable[[], bool]) -> Iterator[dict[str, Any]]:
        """The batched run's records; "meta" and "done" are placeholders spec_records fills."""
        spec, t, m = self.spec, self.spec.train, self.spec.metrics
        csr_at = set(spec.csr_epochs)  # memcore.spec.schedule: epoch 0, the schedule, the last
        self._t0 = time.perf_counter()

        def wall() -> float:
            return self.wall0 + time.perf_counter() - self._t0

        with self.tf32():
            if self.epoch == 0 and self.step == 0:
                yield {"type": "meta"}
                yield from self.eval_records(0, lr_at(spec, 0), wall())
                if 0 in csr_at:
                    yield from self.csr_records(0, wall, stop)[0]
            early = min(m.early_steps, self.steps_per_epoch - 1)
            for epoch in range(self.epoch + 1, t.epochs + 1):
                lr = lr_at(spec, epoch)
                perm = self.permutations(epoch)
                self.model.train()
                for s in range(self.steps_per_epoch):
                    if stop():
                        return
                    xb, yb = self.on_device.gather(perm[:, s * self.B : (s + 1) * self.B])
                    self.sgd_step(xb, yb, lr, epoch)
                    self.step += 1
                    if epoch == 1 and s < early:
                        yield from self.eval_records((s + 1) / self.steps_per_epoch, lr, wall())
                self.epoch = epoch
                if stop():
                    return
                last = epoch == t.epochs
                csr, pairs = [], []
                evaluated_at = wall()
                # the last epoch too, so every run ends with its final CSR; measured before the
                # evaluation is yielded so its critical pairs join that evaluation's arrays record
                # (the store aligns every array name with the arrays records' epochs)
                if epoch in csr_at:
                    csr, pairs = self.csr_records(epoch, wall, stop, pairs=last)
                if epoch % m.eval_every == 0 or last:
                    yield from self.eval_records(epoch, lr, evaluated_at, pairs)
                yield from csr
                if epoch < t.epochs:
                    yield records.Checkpoint(epoch=epoch, state=self.state()).to_dict()
            if m.sharpness:
                if stop():
                    return
                yield from measurements.sharpness_records(
                    self.model, self.on_device, self.batch, epoch=self.epoch, wall_fn=wall
                )
        yield {"type": "done", "wall": wall()}

    def meta(self, i: int = 0) -> dict[str, Any]:
        """Spec i's "meta" record."""
        d, tr = self.datasets[i], self.on_device.tracked
        return records.Meta(
            n_train=self.N,
            n_val=int(d.y_val.shape[0]),
            n_noisy=int(d.noisy.sum()),
            n_classes=int(d.n_classes),
            classes=[str(c) for c in d.classes],
            input_shape=[int(s) for s in d.input_shape],
            device=str(self.device),
            members=self.batch.specs[i].train.members,
            steps_per_epoch=self.steps_per_epoch,
            tracked=tr.tolist(),
            tracked_noisy=d.noisy[tr].bool().tolist(),
            tracked_labels=d.y_train[tr].tolist(),
        ).to_dict()


def train(
    spec: RunSpec,
    *,
    data: Any = None,
    resume: dict[str, Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[dict[str, Any]]:
    """Train spec's K members; an iterator over records (module docstring). Raises ValueError
    for invalid spec fields before anything runs. data: a memcore.data.loading.Dataset (default
    noise.prepare(spec)); resume: a checkpoint record's "state"."""
    return Trainer(spec, data, resume).records(should_stop)


def train_batch(
    specs: Sequence[RunSpec] | Batch,
    *,
    data: Any = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Train several specs of one shape as one batched run (engine.batching); an iterator over
    (spec index, record): each spec's records as `train(spec)` gives them (up to rounding and
    wall times). data: one Dataset per spec (default: each spec's noisy data)."""
    return Trainer(Batch.of(specs), data).spec_records(should_stop)
