"""The compute device: choosing it, its precision modes (TF32, bf16 autocast) and waiting for it.

Precision (spec.train.precision) only matters on CUDA: "tf32" turns on TF32 matmuls and
convolutions, "bf16" runs forward passes under bf16 autocast, "fp32" neither; on other devices
all three are plain fp32.
"""

from __future__ import annotations

import contextlib

import torch


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
            raise ValueError(
                f"train.device={name!r} is invalid: CUDA is not available on this machine; "
                "use auto or cpu"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            n = torch.cuda.device_count()
            raise ValueError(
                f"train.device={name!r} is invalid: this machine has {n} GPU(s), "
                f"cuda:0 to cuda:{n - 1}"
            )
        return dev
    if dev.type == "mps":
        if torch.backends.mps.is_available():
            return dev
        raise ValueError(
            f"train.device={name!r} is invalid: MPS (an Apple GPU) is not available on this "
            "machine; use auto, cpu or cuda"
        )
    raise ValueError(f"train.device={name!r} is invalid: must be auto, cpu, cuda, cuda:N or mps")


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA when precision is bf16; otherwise a no-op context."""
    if device.type == "cuda" and precision == "bf16":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def tf32(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """On CUDA, TF32 matmuls and convolutions exactly when precision is tf32 (cuDNN would use
    TF32 convolutions by default even for fp32); flags restored afterwards. No-op elsewhere."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    return Tf32(precision == "tf32")


class Tf32(contextlib.AbstractContextManager):
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


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (for timings); a no-op off CUDA."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
