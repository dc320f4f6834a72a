"""Training engine: K ensemble members trained at once on device-resident data; yields records.

`train(spec)` returns an iterator over memcore.records records:
meta, then per evaluation point one "epoch" record per member and one "arrays" record (those of
epoch 0 and of the last epoch also hold the "first_layer" filters, K x F x H x W), "csr"
records every metrics.csr_every epochs and after the last, a "checkpoint" after every epoch but
the last, "sharpness" at the end (metrics.sharpness), and "done". Settings are validated when
`train` is called (a ValueError naming the field), before anything runs.

Data order: member k's epoch-e order is a permutation from a generator seeded by (seed + k, e);
a step gathers the next batch of every member at once (x[idx_KxB]). Every epoch visits every
example: the last batch of an epoch is kept, smaller (like DataLoader's drop_last=False), so an
epoch has ceil(N / batch_size) steps. Regularizer masks come from a generator seeded by
(seed, epoch, step). Nothing depends on hidden RNG state, so a run resumed from a checkpoint
gives the same records as an uninterrupted one, and member k of a K-member run equals a
1-member run with seed + k (without a regularizer that draws masks or noise).

Optimiser: SGD with momentum (buffer v = m v + g, like torch.optim.SGD), lr constant or
multiplied by gamma every step_epochs epochs; the loss of each member is its mean cross-entropy
over the batch. MLPs use a hand-written step that fuses the weight gradient and the update
(`baddbmm_(alpha=-lr)` into the weights); the CNN (and bf16 autocast) uses autograd.

Evaluation (epoch 0 before training, every eval_every epochs, the last epoch, and after each of
the first metrics.early_steps steps of epoch 1) runs without gradients in large batches, in eval
mode: loss/accuracy on all, clean and noisy training examples (against the training labels) and
on the validation set; per-example correct/prob/loss for a fixed tracked subset of training
examples (chosen by a generator seeded with data.seed, the same for every run on that data).

Resume: `train(spec, resume=state)` with the "state" of a checkpoint record continues after that
epoch; the stream then starts with the records after the checkpoint (no second "meta").
Cancel: `should_stop()` is checked before every step and evaluation; when it returns True the
iterator ends without a "done" record.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from memcore.engine import models
from memcore.engine.regularizers import Regularizer, mix_seed, step_generator
from memcore.spec import RunSpec

# activations (K x chunk x width) per evaluation chunk, bounding memory: 64 MB on CPU, 512 MB
# on GPUs (larger chunks keep a wide ensemble's evaluation matmuls efficient)
EVAL_ELEMENTS = {"cpu": 2**24, "cuda": 2**27}
SHARPNESS_EXAMPLES = 2048  # training examples in the loss whose Hessian sharpness measures
# First-layer filters are stored at epoch 0 and after the last epoch (ICML Fig 2) when they
# hold at most this many numbers (16 MB); a 100 x 784 x 4096 ensemble's would be 1.3 GB.
FILTER_ELEMENTS = 2**22


def resolve_device(name: str = "auto") -> torch.device:
    """auto -> cuda if available else cpu; cpu | cuda | cuda:N | mps, checked to exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as e:
        raise ValueError(f"train.device={name!r} is invalid: {e}") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"train.device={name!r} is invalid: CUDA is not available here")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"train.device={name!r} is invalid: only {torch.cuda.device_count()} GPU(s)"
            )
        return dev
    if dev.type == "mps" and torch.backends.mps.is_available():
        return dev
    raise ValueError(f"train.device={name!r} is invalid: must be auto, cpu, cuda, cuda:N or mps")


def lr_at(spec: RunSpec, epoch: int) -> float:
    """Learning rate during epoch `epoch` (1-based; epoch 0 reports the initial rate)."""
    t = spec.train
    if t.schedule == "step" and epoch > 0:
        return t.lr * t.gamma ** ((epoch - 1) // t.step_epochs)
    return t.lr


def _group(values: Tensor, mask: Tensor | None) -> Tensor | None:
    """Mean over the examples in mask (K x N -> K), None if the group is empty."""
    if mask is None:
        return values.mean(1)
    if not bool(mask.any()):
        return None
    return values[:, mask].mean(1)


class Trainer:
    """One run's state: data on the device, the ensemble, optimiser buffers, counters."""

    def __init__(self, spec: RunSpec, data: Any = None, resume: dict | None = None):
        if spec.task != "train":
            raise ValueError(f"task={spec.task!r} is invalid: the engine runs task 'train'")
        self.spec, t = spec, spec.train
        self.device = resolve_device(t.device)
        if data is None:
            from memcore.data import noise

            data = noise.prepare(spec)
        self.data = data
        n = int(data.y_train.shape[0])
        if n == 0:
            raise ValueError("data.train_size: the training set is empty")
        if t.batch_size > n:
            raise ValueError(
                f"train.batch_size={t.batch_size} is invalid: larger than the training set "
                f"({n} examples)"
            )
        if spec.model.arch == "cnn" and len(data.input_shape) != 3:
            raise ValueError(
                f"model.arch='cnn' needs image data; {data.name} has input shape "
                f"{tuple(data.input_shape)}"
            )
        self.K, self.N, self.B = t.members, n, t.batch_size
        self.steps_per_epoch = math.ceil(n / t.batch_size)
        dev = self.device
        self.model = models.build(
            spec.model, tuple(data.input_shape), data.n_classes, t.members, t.seed, dev
        )
        flat = spec.model.arch == "mlp"

        def put(x: Tensor) -> Tensor:
            x = x.to(dev, torch.float32)
            return x.reshape(x.shape[0], math.prod(x.shape[1:])) if flat else x.contiguous()

        self.x, self.y = put(data.x_train), data.y_train.to(dev)
        self.x_val, self.y_val = put(data.x_val), data.y_val.to(dev)
        self.noisy = data.noisy.to(dev).bool()
        self.clean = ~self.noisy
        gen = torch.Generator().manual_seed(spec.data.seed)
        t_n = min(spec.metrics.track_size, n)
        self.tracked = torch.randperm(n, generator=gen)[:t_n].sort().values
        self.reg = Regularizer(t.regularizer, t.strengths, dev)
        bf16 = dev.type == "cuda" and t.precision == "bf16"  # autocast needs autograd's path
        self.fast = isinstance(self.model, models.MLPEnsemble) and not bf16
        self.bufs = (
            [torch.zeros_like(p) for p in self.model.parameters()] if t.momentum > 0 else None
        )
        self.epoch, self.step, self.wall0 = 0, 0, 0.0
        self.best_val: list[float | None] = [None] * self.K
        self._xbuf: dict[int, Tensor] = {}
        self._probes: Tensor | None = None
        self.last: dict[str, Any] = {}
        if resume is not None:
            self.load(resume)

    # -- state -----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything needed to resume after the current epoch, as CPU tensors and scalars."""
        return {
            "model": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()},
            "momentum": [b.cpu().clone() for b in self.bufs] if self.bufs else [],
            "epoch": self.epoch,
            "step": self.step,
            "wall": self.wall0 + time.perf_counter() - self._t0,
            "best_val": list(self.best_val),
            "key": self.spec.key,
        }

    def load(self, state: dict[str, Any]) -> None:
        if state.get("key", self.spec.key) != self.spec.key:
            raise ValueError("resume: the checkpoint belongs to a different spec")
        self.model.load_state_dict({k: torch.as_tensor(v) for k, v in state["model"].items()})
        if self.bufs:
            for b, s in zip(self.bufs, state["momentum"], strict=True):
                b.copy_(torch.as_tensor(s))
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.wall0 = float(state.get("wall", 0.0))
        self.best_val = list(state.get("best_val", self.best_val))

    # -- training --------------------------------------------------------------------------
    def permutations(self, epoch: int) -> Tensor:
        """K x N: member k's order in `epoch`, from a generator seeded by (seed + k, epoch)."""
        seed = self.spec.train.seed
        perms = [
            torch.randperm(
                self.N, generator=torch.Generator().manual_seed(mix_seed(seed + k, epoch))
            )
            for k in range(self.K)  # once per epoch, not per step
        ]
        return torch.stack(perms).to(self.device)

    def _autocast(self):
        p = self.spec.train.precision
        if self.device.type == "cuda" and p == "bf16":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _tf32(self):
        """On CUDA, TF32 matmuls and convolutions exactly when precision is tf32 (cuDNN would
        use TF32 convolutions by default even for fp32); flags restored afterwards."""
        if self.device.type != "cuda":
            return contextlib.nullcontext()
        return _Tf32(self.spec.train.precision == "tf32")

    def gather(self, idx_KxB: Tensor) -> tuple[Tensor, Tensor]:
        """Batch x (K x B x ...) and labels (K x B) for all members, into a reused buffer."""
        K, b = idx_KxB.shape
        flat_idx = idx_KxB.reshape(-1)
        buf = self._xbuf.get(b)
        if buf is None:
            buf = self._xbuf[b] = torch.empty((K * b, *self.x.shape[1:]), device=self.device)
        torch.index_select(self.x, 0, flat_idx, out=buf)
        return buf.view(K, b, *self.x.shape[1:]), self.y[flat_idx].view(K, b)

    def sgd_step(self, xb: Tensor, yb: Tensor, lr: float, epoch: int) -> None:
        """One SGD step of all members on their batches xb (K x B x ...), yb (K x B)."""
        t, reg = self.spec.train, self.reg
        gen = (
            step_generator(t.seed, epoch, self.step, self.device)
            if reg.active or reg.adversarial
            else None
        )
        weights = None
        if reg.adversarial:
            xb, yb, weights = self._adversarial_batch(xb, yb, gen)
        elif reg.active:
            xb = reg.input(xb, gen)
        if self.fast:
            self.model.sgd_step(
                xb,
                yb,
                lr=lr,
                momentum=t.momentum,
                bufs=self.bufs,
                decay_K=reg.decay_K,
                hidden=reg.hidden_manual(gen) if reg.active else None,
                example_w=weights,
            )
            return
        self._autograd_step(xb, yb, lr, weights, reg.hidden(gen) if reg.active else None)

    def _adversarial_batch(self, xb: Tensor, yb: Tensor, gen: torch.Generator):
        """[x; x^] with labels [y; y] and weights (1-w)/B, w/B (PAPER.md item 7)."""
        from memcore.metrics import critical

        m, w, b = self.spec.metrics, self.spec.train.adv_weight, xb.shape[1]
        res = critical.lass(
            self.model,
            xb,
            radius=m.csr_radius / 255,
            alpha=m.csr_alpha / 255,
            beta=m.csr_beta / 255,
            iters=m.csr_iters,
            min_new=m.csr_min_new,
            generator=gen,
            shared=False,
        )
        weights = torch.cat([torch.full((b,), (1 - w) / b), torch.full((b,), w / b)]).to(
            self.device
        )
        return torch.cat([xb, res.x_adv.detach()], 1), torch.cat([yb, yb], 1), weights

    def _autograd_step(self, xb, yb, lr, weights, hidden) -> None:
        t, model = self.spec.train, self.model
        model.train()
        params = list(model.parameters())
        with self._autocast():
            logits = model(xb, hidden=hidden)
        ce = F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]), yb.reshape(-1), reduction="none"
        ).view(yb.shape)
        # sum over members of each member's mean: member k's gradient is its own mean gradient
        loss = ce.mean(1).sum() if weights is None else (ce * weights).sum()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            decay = self.reg.decay_K
            if decay is not None:
                for g, p in zip(grads, params, strict=True):
                    g.add_(p * decay.view(-1, *([1] * (p.dim() - 1))))
            if self.bufs:
                torch._foreach_mul_(self.bufs, t.momentum)
                torch._foreach_add_(self.bufs, grads)
                grads = self.bufs
            torch._foreach_add_(params, grads, alpha=-lr)

    # -- evaluation ------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Per-example loss, correct, prob of the label: each K x N (no regularizer, eval mode)."""
        self.model.eval()
        n = x.shape[0]
        if isinstance(self.model, models.CNNEnsemble):  # first conv's output per example
            per_example = self.model.channels[1] * x[0, 0].numel()
        else:
            per_example = max(self.spec.model.width, x[0].numel(), self.model.n_classes)
        budget = EVAL_ELEMENTS.get(self.device.type, EVAL_ELEMENTS["cpu"])
        chunk = max(1, budget // (self.K * per_example))
        losses, correct, probs = [], [], []
        for i in range(0, n, chunk):
            xc, yc = x[i : i + chunk], y[i : i + chunk]
            with self._autocast():
                logits = self.model(xc).float()  # K x b x C
            logp = torch.log_softmax(logits, -1)
            lp = logp.gather(2, yc.view(1, -1, 1).expand(self.K, -1, 1)).squeeze(2)
            losses.append(-lp)
            probs.append(lp.exp())
            correct.append(logits.argmax(-1) == yc)
        self.model.train()
        return torch.cat(losses, 1), torch.cat(correct, 1), torch.cat(probs, 1)

    def eval_records(self, epoch: float, lr: float, wall: float) -> list[dict[str, Any]]:
        loss, correct, prob = self.evaluate(self.x, self.y)
        acc = correct.float()
        cols = {
            "train_loss": _group(loss, None),
            "train_acc": _group(acc, None),
            "clean_loss": _group(loss, self.clean),
            "clean_acc": _group(acc, self.clean),
            "noisy_loss": _group(loss, self.noisy),
            "noisy_acc": _group(acc, self.noisy),
        }
        if self.y_val.shape[0] > 0:
            vl, vc, _ = self.evaluate(self.x_val, self.y_val)
            cols["val_loss"], cols["val_acc"] = vl.mean(1), vc.float().mean(1)
        else:
            cols["val_loss"] = cols["val_acc"] = None
        host = {k: (v.tolist() if v is not None else None) for k, v in cols.items()}
        self.last = host
        out = []
        for k in range(self.K):
            rec = {"type": "epoch", "epoch": epoch, "step": self.step, "member": k, "lr": lr}
            rec.update({c: (v[k] if v is not None else None) for c, v in host.items()})
            rec["wall"] = wall
            out.append(rec)
            va = rec["val_acc"]
            if va is not None and (self.best_val[k] is None or va > self.best_val[k]):
                self.best_val[k] = va
        tr = self.tracked.to(self.device)
        arrays = {
            "correct": correct[:, tr].cpu().numpy(),
            "prob": prob[:, tr].float().cpu().numpy(),
            "loss": loss[:, tr].float().cpu().numpy(),
        }
        if epoch in (0, self.spec.train.epochs):
            filters = models.first_layer_filters(self.model, tuple(self.data.input_shape))
            if filters.numel() <= FILTER_ELEMENTS:
                # a copy: on CPU .numpy() would share memory with the weights SGD updates in place
                arrays["first_layer"] = filters.float().cpu().numpy().copy()
        out.append({"type": "arrays", "epoch": epoch, "step": self.step, "arrays": arrays})
        return out

    def csr_records(self, epoch: int, wall_fn: Callable[[], float]) -> list[dict[str, Any]]:
        """Critical sample ratio of every member on the fixed probe set (metrics.critical)."""
        from memcore.metrics import critical

        m = self.spec.metrics
        if self._probes is None:
            pool = self.x_val if m.csr_set == "val" and self.x_val.shape[0] > 0 else self.x
            g = torch.Generator().manual_seed(mix_seed(self.spec.data.seed, 255))
            pick = torch.randperm(pool.shape[0], generator=g)[: m.csr_probes].sort().values
            self._probes = pool[pick.to(self.device)]
        gen = torch.Generator(device=self.device).manual_seed(
            mix_seed(self.spec.train.seed, epoch, 3)
        )
        with self._autocast():
            ratio, iters = critical.csr(self.model, self._probes, m, generator=gen)
        ratio = ratio.tolist()
        wall = wall_fn()
        used = "val" if m.csr_set == "val" and self.x_val.shape[0] > 0 else "train"
        return [
            {
                "type": "csr",
                "epoch": epoch,
                "step": self.step,
                "member": k,
                "csr": ratio[k],
                "iters": int(iters),
                "radius": m.csr_radius / 255,
                "set": used,
                "wall": wall,
            }
            for k in range(self.K)
        ]

    def sharpness_records(self, wall_fn: Callable[[], float]) -> list[dict[str, Any]]:
        """Top Hessian eigenvalue of each member's training loss (on up to SHARPNESS_EXAMPLES
        training examples, the tracked ones first) at the end of training."""
        from memcore.metrics import sharpness

        idx = self.tracked if self.tracked.numel() else torch.arange(self.N)
        idx = idx[:SHARPNESS_EXAMPLES].to(self.device)
        xs, ys = self.x[idx], self.y[idx]
        model, params = self.model, list(self.model.parameters())
        model.eval()  # BatchNorm with running statistics: a fixed function of the weights

        def loss_fn() -> Tensor:
            logits = model(xs)
            ce = F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), ys.repeat(self.K), reduction="none"
            )
            return ce.view(self.K, -1).mean(1).sum()

        gen = torch.Generator(device=self.device).manual_seed(mix_seed(self.spec.train.seed, 11))
        values = sharpness.top_eigenvalue(loss_fn, params, generator=gen).tolist()
        model.train()
        wall = wall_fn()
        return [
            {
                "type": "sharpness",
                "epoch": self.epoch,
                "member": k,
                "sharpness": values[k],
                "wall": wall,
            }
            for k in range(self.K)
        ]

    # -- the record stream -----------------------------------------------------------------
    def records(self, should_stop: Callable[[], bool] | None = None) -> Iterator[dict[str, Any]]:
        spec, t, m = self.spec, self.spec.train, self.spec.metrics
        stop = should_stop or (lambda: False)
        self._t0 = time.perf_counter()

        def wall() -> float:
            return self.wall0 + time.perf_counter() - self._t0

        with self._tf32():
            if self.epoch == 0 and self.step == 0:
                yield self.meta()
                yield from self.eval_records(0, lr_at(spec, 0), wall())
                if m.csr_every:
                    yield from self.csr_records(0, wall)
            early = min(m.early_steps, self.steps_per_epoch - 1)
            for epoch in range(self.epoch + 1, t.epochs + 1):
                lr = lr_at(spec, epoch)
                perm = self.permutations(epoch)
                self.model.train()
                for s in range(self.steps_per_epoch):
                    if stop():
                        return
                    xb, yb = self.gather(perm[:, s * self.B : (s + 1) * self.B])
                    self.sgd_step(xb, yb, lr, epoch)
                    self.step += 1
                    if epoch == 1 and s < early:
                        yield from self.eval_records((s + 1) / self.steps_per_epoch, lr, wall())
                self.epoch = epoch
                if stop():
                    return
                if epoch % m.eval_every == 0 or epoch == t.epochs:
                    yield from self.eval_records(epoch, lr, wall())
                # the last epoch too, so every run ends with its final CSR
                if m.csr_every and (epoch % m.csr_every == 0 or epoch == t.epochs):
                    yield from self.csr_records(epoch, wall)
                if epoch < t.epochs:
                    yield {"type": "checkpoint", "epoch": epoch, "state": self.state()}
            if m.sharpness:
                if stop():
                    return
                yield from self.sharpness_records(wall)
        yield {"type": "done", "wall": wall(), "epochs_run": self.epoch, "summary": self.summary()}

    def meta(self) -> dict[str, Any]:
        d = self.data
        tr = self.tracked
        return {
            "type": "meta",
            "n_train": self.N,
            "n_val": int(d.y_val.shape[0]),
            "n_noisy": int(d.noisy.sum()),
            "n_classes": int(d.n_classes),
            "classes": [str(c) for c in d.classes],
            "input_shape": [int(s) for s in d.input_shape],
            "device": str(self.device),
            "members": self.K,
            "steps_per_epoch": self.steps_per_epoch,
            "tracked": tr.tolist(),
            "tracked_noisy": d.noisy[tr].bool().tolist(),
            "tracked_labels": d.y_train[tr].tolist(),
        }

    def summary(self) -> dict[str, Any]:
        """Means over members of the last evaluation's metrics and of the best val accuracy."""
        best = [b for b in self.best_val if b is not None]
        out: dict[str, Any] = {
            c: (sum(v) / len(v) if v is not None else None) for c, v in self.last.items()
        }
        out["best_val_acc"] = sum(best) / len(best) if best else None
        out["best_val_acc_members"] = list(self.best_val)
        return out


class _Tf32(contextlib.AbstractContextManager):
    """Sets torch's TF32 flags (matmul and cuDNN) to `enabled` inside the block."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled

    def __enter__(self):
        self.old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = self.enabled
        return self

    def __exit__(self, *exc):
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self.old
        return False


def train(
    spec: RunSpec,
    *,
    data: Any = None,
    resume: dict[str, Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[dict[str, Any]]:
    """Train spec's K members; an iterator over records (module docstring). Raises ValueError
    for invalid settings before anything runs. data: a memcore.data.loading.Dataset (default
    noise.prepare(spec)); resume: a checkpoint record's "state"."""
    return Trainer(spec, data, resume).records(should_stop)
