"""What a training checkpoint holds, and putting it back: everything needed to resume a run
after an epoch with records identical to an uninterrupted run's (engine.trainer).

The state is CPU tensors and scalars (torch.save'd by the store): the ensemble's parameters,
the SGD momentum buffers, epoch and step counters, wall seconds so far, each member's best
validation accuracy, and the spec's key (a checkpoint resumes only its own spec).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from memcore.engine.evaluation import Evaluator
from memcore.engine.sgd import SGD


def state(
    model: nn.Module, opt: SGD, evaluator: Evaluator, epoch: int, step: int, wall: float, key: str
) -> dict[str, Any]:
    """The resume state after `epoch` (`step` steps, `wall` seconds) of the run with `key`."""
    return {
        "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "momentum": [b.cpu().clone() for b in opt.bufs] if opt.bufs else [],
        "epoch": epoch,
        "step": step,
        "wall": wall,
        "best_val": list(evaluator.best_val),
        "key": key,
    }


def restore(
    state: dict[str, Any], model: nn.Module, opt: SGD, evaluator: Evaluator, key: str
) -> tuple[int, int, float]:
    """Load `state` into model, momentum buffers and evaluator; returns (epoch, step, wall).
    ValueError when the checkpoint belongs to another spec."""
    if state.get("key", key) != key:
        raise ValueError("resume: the checkpoint belongs to a different spec")
    model.load_state_dict({k: torch.as_tensor(v) for k, v in state["model"].items()})
    if opt.bufs:
        for b, s in zip(opt.bufs, state["momentum"], strict=True):
            b.copy_(torch.as_tensor(s))
    evaluator.best_val = list(state.get("best_val", evaluator.best_val))
    return int(state["epoch"]), int(state["step"]), float(state.get("wall", 0.0))
