"""What a run costs before it runs: FLOPs, peak memory and seconds on a device, from its spec.

Read by the public demo's caps (memcore.demo: a cap on estimated seconds and memory), by the
queue at submit (memcore.jobs.control refuses a run that cannot fit in the device's memory) and
by the form (shown before Run). No data is loaded and no model is built: the sizes come from the
dataset registry. The estimate is an upper bound in spirit (every LASS iteration is counted as
run) and good to a factor of a few; it is a guard, not a benchmark (`python -m memcore bench`).

Notation: K members, N training examples (`train_examples`), V validation examples, D input
numbers per example (after data.downscale), C classes (N with unique labels), B batch size,
E epochs, S = E ceil(N / B) SGD steps per member, M multiply-adds of one member's forward pass on
one example (MLP: D W + (depth - 1) W^2 + W C; CNN: 25 C_in ch H W + 25 ch^2 h1 w1 + dense
layers, the shapes of engine.models.CNNEnsemble), P parameters per member.

FLOPs (a multiply-add is 2; backward costs twice the forward):
    train        6 M K N E
    evaluation   2 M K (N + V) (2 + floor(E / eval_every) + early_steps)
    CSR          4 M K P' iters n_csr (input gradients only; every iteration counted), P' =
                 min(csr_probes, the probe set's size),
                 n_csr = 1 + ceil(E / csr_every) when csr_every > 0
    adversarial  (train.regularizer "adversarial") per SGD step, LASS on each member's batch:
                 4 M K B iters (every iteration counted), plus the adversarial half of the
                 doubled batch: 6 M K B; so S (4 iters + 6) M K B in all, S x iters launches
    sharpness    24 M K 2048 (20 Hessian-vector products on 2,048 examples, 4x a backward each)
    sensitivity  (task "sensitivity", float64, on the CPU) evaluations at t = k, 2k, ... S,
                 k = sens_every; the one at t recomputes t steps for a_t adjoints at once:
                 sum over evaluations of 8 M B a_t t + 6 M a_t N, a_t = the dataset's classes
                 C0 at a class-matrix evaluation (every sens_class_every-th, and the last), 1
                 at the others (unique labels too: their adjoints are the original classes)
Memory (bytes; fp32 = 4, the sensitivity task's float64 = 8):
    4 P K x 3 (weights, gradients, momentum) + 4 D (N + V) (data on the device)
    + 4 K B A x 3 (training activations, A = hidden units of all layers; CNN: the conv maps)
    + evaluation chunk budget (engine.evaluation.EVAL_ELEMENTS x 4)
    + 4 K probes (D + A) x 3 (CSR) + 4 K B (D + A) x 3 (adversarial: the LASS batch)
    + 4 x 3 K T (E + 2) (tracked arrays, T = min(track_size, N),
    held whole by the app to draw them); sensitivity: 8 P (S + 1) (theta_s kept for the reverse
    sweep) + 8 C N D x 2 (input adjoints).
Seconds = FLOPs / rate + launches x overhead, with a nominal rate per device (RATES: fp32 FLOP/s
the engine reaches, measured on this project's CPU and assumed for GPUs) and a fixed cost per
launched step (an SGD step; a LASS iteration counts LASS_LAUNCHES; SENS_STEP_S for a
sensitivity step, recomputed or not: that task is dominated by small-op overhead).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from memcore.datasets import REGISTRY, DatasetInfo
from memcore.spec import RunSpec

# fp32 FLOP/s the engine reaches (CPU: per thread; about half the measured matmul peak of 76 GF/s
# on one core of this project's EPYC; GPU: a conservative share of a datacenter GPU's fp32).
RATES = {"cpu": 4e10, "cuda": 1e13, "mps": 2e12}
OVERHEAD_S = {"cpu": 2e-4, "cuda": 1e-4, "mps": 2e-4}  # per launched step
FP64_SLOWDOWN = 2.0  # the sensitivity task's float64 matmuls run at about half the fp32 rate
# A recomputed sensitivity step is ~30 small float64 ops (metrics.sensitivity.step_hvp): measured
# 0.3-1 ms on this project's CPU, so its launch cost is 5e-4 s (quick-scale sensitivity runs:
# estimated 2.5 s / 23 s, measured 1.7 s / 33 s with 10 classes / unique labels).
SENS_STEP_S = 5e-4
EVAL_BYTES = {"cpu": 4 * 2**24, "cuda": 4 * 2**27, "mps": 4 * 2**24}  # engine.evaluation chunks
SHARPNESS_EXAMPLES, SHARPNESS_HVPS = 2048, 20
# A LASS iteration is a forward, an input gradient, a sign step, noise, a clamp and its checks:
# about 4 launches' overhead (measured on this project's CPU, digits width 64, K=1-8: 0.96-1.9
# ms per iteration of adversarial training, of which the FLOPs explain 0.05-0.5 ms).
LASS_LAUNCHES = 4
GiB = 2**30


@dataclass(frozen=True)
class Cost:
    """A run's estimated FLOPs, peak memory (bytes) and seconds on `device` ("cpu", "cuda")."""

    flops: float
    memory_bytes: float
    seconds: float
    device: str

    def describe(self) -> str:
        """One line, e.g. "≈ 2.1 TFLOP, 310 MB, about 70 s on cpu"."""
        return (
            f"≈ {_si(self.flops)}FLOP, {_bytes(self.memory_bytes)}, "
            f"about {_duration(self.seconds)} on {self.device}"
        )


def _si(x: float) -> str:
    for unit, scale in (("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x:.3g} "


def _bytes(x: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x / 1e3:.3g} kB"


def _duration(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s" if s >= 1 else "1 s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.3g} h" if s < 86400 * 3 else f"{s / 86400:.3g} days"


# -- sizes ------------------------------------------------------------------------------------
def _info(spec: RunSpec) -> DatasetInfo:
    return REGISTRY[spec.data.dataset]


def train_examples(spec: RunSpec) -> int:
    """Training examples a spec uses: data.train_size, or the whole training split (the default
    split, or what data.val_fraction leaves of the train images)."""
    if spec.data.train_size:
        return spec.data.train_size
    info, vf = _info(spec), spec.data.val_fraction
    return info.n_train if vf == 0 else info.n_images - math.floor(vf * info.n_images)


def val_examples(spec: RunSpec) -> int:
    info, vf = _info(spec), spec.data.val_fraction
    return info.n_val if vf == 0 else math.floor(vf * info.n_images)


def sgd_steps(spec: RunSpec) -> int:
    """SGD steps per member: epochs x ceil(examples / batch_size)."""
    return spec.train.epochs * math.ceil(train_examples(spec) / spec.train.batch_size)


def input_shape(spec: RunSpec) -> tuple[int, ...]:
    shape = _info(spec).input_shape
    s = spec.data.downscale
    return (shape[0], s, s) if s and len(shape) == 3 else shape


def classes(spec: RunSpec) -> int:
    unique = spec.noise.labels == "unique"
    return train_examples(spec) if unique else len(_info(spec).classes)


@dataclass(frozen=True)
class Shape:
    """One member's size: multiply-adds per example (M), parameters (P), hidden units (A)."""

    macs: int
    params: int
    hidden: int


def model_shape(spec: RunSpec) -> Shape:
    """M, P and A of one member (the layer shapes of engine.models)."""
    shape, c = input_shape(spec), classes(spec)
    d = math.prod(shape)
    m = spec.model
    if m.arch == "mlp":
        sizes = [d] + [m.width] * m.depth + [c]
        pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
        macs = sum(a * b for a, b in pairs)
        return Shape(macs, macs + sum(b for _, b in pairs), m.width * m.depth)
    cin, h, w = shape
    crop = 2 if (h, w) == (32, 32) else 0
    h, w = h - 2 * crop, w - 2 * crop
    ch = max(1, round(200 * m.width_mult))
    d1, d2 = max(1, round(384 * m.width_mult)), max(1, round(192 * m.width_mult))
    macs, params, hidden = 0, 0, 0
    for c_in in (cin, ch):
        macs += 25 * c_in * ch * h * w
        params += 25 * c_in * ch + ch + 2 * ch
        hidden += ch * h * w
        h, w = math.ceil((h - 3) / 3) + 1, math.ceil((w - 3) / 3) + 1
    dense = [ch * h * w, d1, d2, c]
    pairs = list(zip(dense[:-1], dense[1:], strict=True))
    macs += sum(a * b for a, b in pairs)
    params += sum(a * b + b for a, b in pairs) + 2 * (d1 + d2)
    return Shape(macs, params, hidden + d1 + d2)


# -- the estimate -----------------------------------------------------------------------------
def _kind(device: str) -> str:
    kind = device.split(":")[0]
    return kind if kind in RATES else "cpu"


def cpu_threads() -> int:
    """Threads a worker trains with by default: the cores left after one for the app."""
    return max(1, (os.cpu_count() or 1) - 1)


def estimate(spec: RunSpec, device: str = "cpu", threads: int | None = None) -> Cost:
    """The run's Cost on `device` (a resolved name: "cpu", "cuda", "cuda:0", "mps"); on the CPU
    the rate scales with `threads` (default `cpu_threads()`). Formulas: module docstring."""
    t, mx = spec.train, spec.metrics
    n, v, k, b, e = train_examples(spec), val_examples(spec), t.members, t.batch_size, t.epochs
    d = math.prod(input_shape(spec))
    sh = model_shape(spec)
    m, p, a = sh.macs, sh.params, sh.hidden
    steps = sgd_steps(spec)
    if spec.task == "sensitivity":
        return _sensitivity(spec, n, v, d, sh, steps)
    n_eval = 2 + e // mx.eval_every + mx.early_steps
    n_csr = 1 + math.ceil(e / mx.csr_every) if mx.csr_every else 0
    flops = 6 * m * k * n * e + 2 * m * k * (n + v) * n_eval
    pool = v if mx.csr_set == "val" and v > 0 else n
    probes = min(mx.csr_probes, pool)  # engine.measurements.probe_set draws at most all
    flops += 4 * m * k * probes * mx.csr_iters * n_csr  # no weight gradients
    adversarial = t.regularizer == "adversarial"
    if adversarial:  # a LASS search on every minibatch, then a doubled batch ([x; x^])
        flops += (4 * mx.csr_iters + 6) * m * k * b * steps
    if mx.sharpness:
        flops += 4 * 6 * m * k * SHARPNESS_EXAMPLES * SHARPNESS_HVPS
    tracked = min(mx.track_size, n)
    memory = 4 * (3 * p * k + d * (n + v) + 3 * k * b * a + 3 * k * tracked * (e + 2))
    memory += EVAL_BYTES[_kind(device)]
    if mx.csr_every:
        memory += 4 * 3 * k * probes * (d + a)
    if adversarial:
        memory += 4 * 3 * k * b * (d + a)
    lass = mx.csr_iters * (n_csr + steps * adversarial)  # LASS iterations, every one counted
    launches = steps + LASS_LAUNCHES * lass + n_eval
    if mx.sharpness:
        launches += SHARPNESS_HVPS
    kind = _kind(device)
    rate = RATES[kind] * ((threads or cpu_threads()) if kind == "cpu" else 1)
    seconds = flops / rate + launches * OVERHEAD_S[kind]
    return Cost(float(flops), float(memory), float(seconds), device)


def _sensitivity(spec: RunSpec, n: int, v: int, d: int, sh: Shape, steps: int) -> Cost:
    """The sensitivity task's Cost (module docstring): float64 on the CPU, one thread's rate, a
    launch cost per recomputed step."""
    mx, m, b = spec.metrics, sh.macs, spec.train.batch_size
    at = [mx.sens_every * i for i in range(1, steps // mx.sens_every + 1)] or [steps]
    c0 = len(_info(spec).classes)  # the class matrix's rows: the original classes
    last = len(at) - 1
    adj = [c0 if i % mx.sens_class_every == 0 or i == last else 1 for i in range(len(at))]
    flops = FP64_SLOWDOWN * sum(
        8 * m * b * a * t + 6 * m * a * n for a, t in zip(adj, at, strict=True)
    )
    memory = 8 * sh.params * (steps + 1) + 2 * 8 * c0 * n * d + 8 * d * (n + v)
    seconds = flops / RATES["cpu"] + (steps + sum(at)) * SENS_STEP_S
    return Cost(float(flops), float(memory), float(seconds), "cpu")


# -- the device -------------------------------------------------------------------------------
def resolve(name: str = "auto") -> str:
    """The device a worker on this machine would train `name` ("auto", "cpu", "cuda:1", ...)
    on; raises ValueError naming train.device when it does not exist here (engine.device)."""
    if name == "cpu":
        return "cpu"
    from memcore.engine.device import resolve_device  # imports torch: only when needed

    return str(resolve_device(name))


def memory_of(device: str) -> float:
    """Bytes of memory on `device`: the GPU's total memory, or the machine's RAM for the CPU."""
    if _kind(device) == "cuda":
        import torch

        return float(torch.cuda.get_device_properties(torch.device(device)).total_memory)
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a small machine
        return 8.0 * GiB


def check_fits(spec: RunSpec) -> Cost | None:
    """Raise ValueError, with the numbers, when `spec` cannot fit in the memory of the device it
    would run on here; returns its Cost when it was checked (None: obviously small, not checked,
    so submitting a small run never imports torch)."""
    device = "cpu" if spec.task == "sensitivity" else spec.train.device
    rough = estimate(spec, "cpu", threads=1)
    if rough.memory_bytes < GiB and device in ("auto", "cpu"):
        return None
    resolved = "cpu" if spec.task == "sensitivity" else resolve(device)
    cost = estimate(spec, resolved)
    have = memory_of(resolved)
    if cost.memory_bytes > have:
        m = spec.model
        size = f"width {m.width} x depth {m.depth}" if m.arch == "mlp" else f"x{m.width_mult:g}"
        raise ValueError(
            f"this run needs about {_bytes(cost.memory_bytes)} of memory but {resolved} has "
            f"{_bytes(have)} ({m.arch} {size}, {spec.train.members} members, "
            f"{train_examples(spec):,} examples): reduce model.width, train.members, "
            "train.batch_size or data.train_size"
        )
    return cost
