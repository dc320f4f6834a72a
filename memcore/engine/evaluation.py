"""Full evaluation of an ensemble during training, and the records it yields.

Evaluation runs without gradients in large batches, in eval mode, without any regularizer:
loss/accuracy on all, clean and noisy training examples (against the training labels) and on the
validation set, one "epoch" record per member; per-example correct/prob/loss of the tracked
training examples in one "arrays" record. The evaluator remembers the last evaluation and each
member's best validation accuracy, which "done"'s summary reports.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from memcore import records
from memcore.engine import device as devices
from memcore.engine import models
from memcore.engine.device_data import DeviceData

# activations (K x chunk x width) per evaluation chunk, bounding memory: 64 MB on CPU, 512 MB
# on GPUs (larger chunks keep a wide ensemble's evaluation matmuls efficient)
EVAL_ELEMENTS = {"cpu": 2**24, "cuda": 2**27}


def _group(values: Tensor, mask: Tensor | None) -> Tensor | None:
    """Mean over the examples in mask (K x N -> K), None if the group is empty."""
    if mask is None:
        return values.mean(1)
    if not bool(mask.any()):
        return None
    return values[:, mask].mean(1)


def _groups(values: Tensor, masks: Tensor, slices: list[slice]) -> list[float | None]:
    """Per member, the mean over its spec's examples in masks (S x N): spec s's members are
    values[slices[s]]; None for the members of a spec whose group is empty."""
    out: list[float | None] = []
    for s, sl in enumerate(slices):
        g = _group(values[sl], masks[s])
        out += g.tolist() if g is not None else [None] * (sl.stop - sl.start)
    return out


class Evaluator:
    """Evaluates `model` (an engine.models ensemble of K members) on `data`. width: the MLP's
    hidden width (sizes the evaluation chunks); precision: spec.train.precision; slices: the
    members of each spec of a batched run (engine.batching; default: one spec)."""

    def __init__(
        self,
        model: models.Ensemble,
        data: DeviceData,
        width: int,
        precision: str,
        slices: list[slice] | None = None,
    ):
        self.model, self.data = model, data
        self.K, self.width, self.precision = int(model.members), width, precision
        self.slices = slices or [slice(0, self.K)]
        self.device = data.x.device
        self.best_val: list[float | None] = [None] * self.K
        self.last: dict[str, Any] = {}  # the last evaluation's metrics, one list per column

    @torch.no_grad()
    def evaluate(
        self, x: Tensor, y: Tensor, x_member: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Per-example loss, correct, prob of the label: each K x N (no regularizer, eval mode).
        x: shared N x ..., or U x N x ... with member k reading row x_member[k]; y: N or K x N."""
        self.model.eval()
        n = y.shape[-1]
        example = x[0] if x_member is None else x[0, 0]  # one input
        if isinstance(self.model, models.CNNEnsemble):  # first conv's output per example
            per_example = self.model.channels[1] * example[0].numel()
        else:
            per_example = max(self.width, example.numel(), self.model.n_classes)
        budget = EVAL_ELEMENTS.get(self.device.type, EVAL_ELEMENTS["cpu"])
        chunk = max(1, budget // (self.K * per_example))
        losses, correct, probs = [], [], []
        for i in range(0, n, chunk):
            # shared b x ..., or K x b x ...: each member its own inputs
            xc = x[i : i + chunk] if x_member is None else x[:, i : i + chunk][x_member]
            if y.dim() == 1:
                yc = y[i : i + chunk].view(1, -1).expand(self.K, -1)
            else:
                yc = y[:, i : i + chunk]
            with devices.autocast(self.device, self.precision):
                logits = self.model(xc).float()  # K x b x C
            logp = torch.log_softmax(logits, -1)
            lp = logp.gather(2, yc.unsqueeze(2)).squeeze(2)
            losses.append(-lp)
            probs.append(lp.exp())
            correct.append(logits.argmax(-1) == yc)
        self.model.train()
        return torch.cat(losses, 1), torch.cat(correct, 1), torch.cat(probs, 1)

    def records(
        self,
        epoch: float,
        step: int,
        lr: float,
        wall: float,
        extra_arrays: dict[str, np.ndarray] | None = None,
    ) -> list[dict[str, Any]]:
        """One "epoch" record per member, then one "arrays" record (with `extra_arrays`)."""
        d, sl = self.data, self.slices
        loss, correct, prob = self.evaluate(d.x, d.member_labels(), d.x_member)
        acc = correct.float()
        host: dict[str, list[float | None] | None] = {
            "train_loss": loss.mean(1).tolist(),
            "train_acc": acc.mean(1).tolist(),
            "clean_loss": _groups(loss, d.clean, sl),
            "clean_acc": _groups(acc, d.clean, sl),
            "noisy_loss": _groups(loss, d.noisy, sl),
            "noisy_acc": _groups(acc, d.noisy, sl),
        }
        if d.y_val.shape[0] > 0:
            vl, vc, _ = self.evaluate(d.x_val, d.y_val)
            host["val_loss"], host["val_acc"] = vl.mean(1).tolist(), vc.float().mean(1).tolist()
        else:
            host["val_loss"] = host["val_acc"] = None
        self.last = host
        out = []
        for k in range(self.K):
            values = {c: (v[k] if v is not None else None) for c, v in host.items()}
            out.append(records.Epoch(epoch=epoch, step=step, member=k, lr=lr, **values, wall=wall))
            va = values["val_acc"]
            if va is not None and (self.best_val[k] is None or va > self.best_val[k]):
                self.best_val[k] = va
        tr = d.tracked.to(self.device)
        arrays = {
            "correct": correct[:, tr].cpu().numpy(),
            "prob": prob[:, tr].float().cpu().numpy(),
            "loss": loss[:, tr].float().cpu().numpy(),
            **(extra_arrays or {}),
        }
        out.append(records.Arrays(epoch=epoch, step=step, arrays=arrays))
        return [r.to_dict() for r in out]

    def summary(self, members: slice | None = None) -> dict[str, Any]:
        """Means over `members` (default: all) of the last evaluation's metrics and of the best
        validation accuracy."""
        sl = members or slice(0, self.K)

        def mean(values: list[float | None]) -> float | None:
            vals = [v for v in values if v is not None]
            return sum(vals) / len(vals) if vals else None

        out: dict[str, Any] = {
            c: (mean(v[sl]) if v is not None else None) for c, v in self.last.items()
        }
        out["best_val_acc"] = mean(self.best_val[sl])
        out["best_val_acc_members"] = list(self.best_val[sl])
        return out
