"""Run specifications: one frozen spec fully describes a run, and its hash is the cache key.

A `RunSpec` nests five frozen dataclasses of scalars and tuples (data, noise, model, train,
metrics). Every field states its unit and allowed values in a comment; `__post_init__` rejects an
invalid value with a `ValueError` that names the field, the value and what is allowed. Derive
variants with `spec.replace(**{"noise.level": 0.5})` or `dataclasses.replace`.

`spec.key` = sha256(canonical JSON + CODE_VERSION): the same spec gives the same key in any
process; any field change gives a new key. Bump CODE_VERSION whenever results would change.

Flat form: `to_flat()` / `from_flat()` map a spec to {"section.field": value} (URL query params,
CLI flags, table columns); values may be strings there and are parsed to the field's type.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass, field, fields
from typing import Any

CODE_VERSION = "3"  # 2: CSR after the last epoch; 3: first-layer filters stored

DATASETS = ("digits", "mnist1d", "mnist", "fashion_mnist", "cifar10")
OFFLINE_DATASETS = ("digits", "mnist1d")
NOISE_KINDS = ("none", "randX", "randY")
LABEL_MODES = ("class", "unique")
X_STATS = ("global", "channel", "pixel")
Y_MODES = ("uniform", "other")
ARCHS = ("mlp", "cnn")
SCHEDULES = ("constant", "step")
REGULARIZERS = (
    "none",
    "dropout",
    "input_dropout",
    "input_noise",
    "hidden_noise",
    "weight_decay",
    "adversarial",
)
# Allowed strength per regularizer (PAPER.md item 7); adversarial's strength is its dropout rate.
REG_RANGES = {
    "none": (0.0, 0.0),
    "dropout": (0.0, 0.95),
    "input_dropout": (0.0, 0.95),
    "input_noise": (0.0, 10.0),
    "hidden_noise": (0.0, 5.0),
    "weight_decay": (0.0, 10.0),
    "adversarial": (0.0, 0.95),
}
PRECISIONS = ("fp32", "tf32", "bf16")
TASKS = ("train", "sensitivity")
CSR_SETS = ("val", "train")
SENS_MODES = ("total", "indirect")
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def _fail(name: str, value: Any, allowed: str) -> None:
    raise ValueError(f"{name}={value!r} is invalid: {allowed}")


def _choice(name: str, value: Any, options: tuple) -> None:
    if value not in options:
        _fail(name, value, "must be one of " + ", ".join(map(str, options)))


def _int(name: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        _fail(name, value, f"must be an integer in [{lo}, {hi}]")


def _num(
    name: str, value: Any, lo: float, hi: float, *, open_hi: bool = False, what: str = ""
) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not lo <= value <= hi or (open_hi and value == hi):
        _fail(name, value, f"{what}must be a number in [{lo}, {hi}{')' if open_hi else ']'}")


class _Section:
    """Shared helpers; `_validate` is called after construction."""

    _name = ""

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:  # pragma: no cover - overridden
        pass

    def _f(self, fieldname: str) -> str:
        return f"{self._name}.{fieldname}"


@dataclass(frozen=True)
class DataSpec(_Section):
    _name = "data"
    dataset: str = "digits"  # one of DATASETS
    train_size: int = 0  # training examples used (subset of the train split); 0 = all
    balanced: bool = True  # subset keeps equal counts per class (else a uniform random subset)
    downscale: int = 0  # image side after average pooling (e.g. 14 for MNIST); 0 = native
    val_fraction: float = 0.0  # share of train images held out; 0 = dataset default split
    seed: int = 0  # seed of the subset choice and of the train/val split, >= 0

    def _validate(self) -> None:
        _choice(self._f("dataset"), self.dataset, DATASETS)
        _int(self._f("train_size"), self.train_size, 0, 10_000_000)
        _choice(self._f("balanced"), self.balanced, (True, False))
        _int(self._f("downscale"), self.downscale, 0, 1024)
        if self.downscale == 1:
            _fail(self._f("downscale"), 1, "must be 0 (native) or a side length >= 2")
        _num(self._f("val_fraction"), self.val_fraction, 0.0, 0.9)
        _int(self._f("seed"), self.seed, 0, 2**31 - 1)


@dataclass(frozen=True)
class NoiseSpec(_Section):
    _name = "noise"
    kind: str = "none"  # none | randX (inputs -> Gaussian noise) | randY (labels -> random)
    level: float = 0.0  # fraction p of training examples corrupted, [0, 1]; 0 when kind=none
    seed: int = 0  # which examples, and the noise drawn for them, >= 0
    x_stats: str = "global"  # randX Gaussian matched to: global | channel | pixel mean/std
    y_mode: str = "uniform"  # randY label: uniform over all classes | other (never the true one)
    labels: str = "class"  # class labels | unique (every training example its own class)

    def _validate(self) -> None:
        _choice(self._f("kind"), self.kind, NOISE_KINDS)
        _num(self._f("level"), self.level, 0.0, 1.0)
        if self.kind == "none" and self.level != 0:
            _fail(self._f("level"), self.level, "must be 0 when noise.kind is 'none'")
        _int(self._f("seed"), self.seed, 0, 2**31 - 1)
        _choice(self._f("x_stats"), self.x_stats, X_STATS)
        _choice(self._f("y_mode"), self.y_mode, Y_MODES)
        _choice(self._f("labels"), self.labels, LABEL_MODES)


@dataclass(frozen=True)
class ModelSpec(_Section):
    _name = "model"
    arch: str = "mlp"  # mlp (input -> H x depth -> classes, ReLU) | cnn (the paper's CIFAR CNN)
    width: int = 512  # MLP hidden units per layer, [1, 65536]
    depth: int = 2  # MLP hidden layers, [1, 16]
    width_mult: float = 1.0  # CNN channels/units multiplier, (0, 16]

    def _validate(self) -> None:
        _choice(self._f("arch"), self.arch, ARCHS)
        _int(self._f("width"), self.width, 1, 65536)
        _int(self._f("depth"), self.depth, 1, 16)
        _num(self._f("width_mult"), self.width_mult, 0.0, 16.0)
        if self.width_mult <= 0:
            _fail(self._f("width_mult"), self.width_mult, "must be > 0")


@dataclass(frozen=True)
class TrainSpec(_Section):
    _name = "train"
    lr: float = 0.01  # SGD learning rate, (0, 100]
    momentum: float = 0.0  # SGD momentum, [0, 1)
    schedule: str = "constant"  # constant | step (lr *= gamma every step_epochs epochs)
    step_epochs: int = 15  # epochs between lr steps (schedule=step), >= 1
    gamma: float = 0.5  # lr factor per step (schedule=step), (0, 1]
    batch_size: int = 64  # examples per SGD step per member, [1, 1_000_000]
    epochs: int = 20  # passes over the training set, [1, 100_000]
    members: int = 1  # K models trained together; member k uses seed + k, [1, 4096]
    seed: int = 0  # base seed of init and data order, >= 0
    regularizer: str = "none"  # one of REGULARIZERS
    strength: float = 0.0  # regularizer strength (rate, std or L2 coefficient; REG_RANGES)
    member_strengths: tuple[float, ...] = ()  # per-member strengths (len = members); () = all same
    adv_weight: float = 0.5  # adversarial: loss = (1-w) CE(x, y) + w CE(x^, y), [0, 1]
    device: str = "auto"  # auto (cuda if available) | cpu | cuda | cuda:N | mps
    precision: str = "fp32"  # fp32 | tf32 | bf16 (autocast); tf32/bf16 only change GPU runs

    def _validate(self) -> None:
        _num(self._f("lr"), self.lr, 0.0, 100.0)
        if self.lr <= 0:
            _fail(self._f("lr"), self.lr, "must be > 0")
        _num(self._f("momentum"), self.momentum, 0.0, 1.0, open_hi=True)
        _choice(self._f("schedule"), self.schedule, SCHEDULES)
        _int(self._f("step_epochs"), self.step_epochs, 1, 100_000)
        _num(self._f("gamma"), self.gamma, 0.0, 1.0)
        if self.gamma <= 0:
            _fail(self._f("gamma"), self.gamma, "must be > 0")
        _int(self._f("batch_size"), self.batch_size, 1, 1_000_000)
        _int(self._f("epochs"), self.epochs, 1, 100_000)
        _int(self._f("members"), self.members, 1, 4096)
        _int(self._f("seed"), self.seed, 0, 2**31 - 1)
        _choice(self._f("regularizer"), self.regularizer, REGULARIZERS)
        lo, hi = REG_RANGES[self.regularizer]
        for i, s in enumerate((self.strength, *self.member_strengths)):
            name = self._f("strength") if i == 0 else self._f(f"member_strengths[{i - 1}]")
            _num(name, s, lo, hi, what=f"with regularizer {self.regularizer!r} it ")
        if self.member_strengths and len(self.member_strengths) != self.members:
            _fail(
                self._f("member_strengths"),
                self.member_strengths,
                f"must be empty or have one value per member ({self.members})",
            )
        _num(self._f("adv_weight"), self.adv_weight, 0.0, 1.0)
        if not isinstance(self.device, str) or not _DEVICE_RE.match(self.device):
            _fail(self._f("device"), self.device, "must be auto, cpu, cuda, cuda:N or mps")
        _choice(self._f("precision"), self.precision, PRECISIONS)

    @property
    def strengths(self) -> tuple[float, ...]:
        """Regularizer strength of each member."""
        return self.member_strengths or (self.strength,) * self.members


@dataclass(frozen=True)
class MetricsSpec(_Section):
    _name = "metrics"
    eval_every: int = 1  # epochs between full train/val evaluations, >= 1
    track_size: int = 1000  # training examples tracked per example (easiness etc.), [0, 100_000]
    early_steps: int = 0  # also evaluate after each of the first N SGD steps of epoch 1, >= 0
    csr_every: int = 0  # epochs between critical sample ratio measurements; 0 = off
    csr_set: str = "val"  # probes drawn from: val | train
    csr_probes: int = 1000  # probe points, [1, 100_000]
    csr_radius: float = 0.3  # L-inf radius r, in 0-255 pixel units (scaled to [0, 1] data)
    csr_alpha: float = 0.25  # LASS step on the gradient sign, 0-255 units
    csr_beta: float = 0.2  # LASS Langevin noise std, 0-255 units
    csr_iters: int = 100  # LASS iterations at most, [1, 10_000]
    csr_min_new: int = 20  # stop when an iteration finds fewer new critical samples, >= 0
    sharpness: bool = False  # top Hessian eigenvalue of the training loss at the end
    sens_every: int = 10  # sensitivity task: SGD steps between evaluations, >= 1
    sens_mode: str = "total"  # sensitivity: total derivative | indirect (through theta_t only)

    def _validate(self) -> None:
        _int(self._f("eval_every"), self.eval_every, 1, 100_000)
        _int(self._f("track_size"), self.track_size, 0, 100_000)
        _int(self._f("early_steps"), self.early_steps, 0, 100_000)
        _int(self._f("csr_every"), self.csr_every, 0, 100_000)
        _choice(self._f("csr_set"), self.csr_set, CSR_SETS)
        _int(self._f("csr_probes"), self.csr_probes, 1, 100_000)
        _num(self._f("csr_radius"), self.csr_radius, 0.0, 255.0)
        _num(self._f("csr_alpha"), self.csr_alpha, 0.0, 255.0)
        _num(self._f("csr_beta"), self.csr_beta, 0.0, 255.0)
        _int(self._f("csr_iters"), self.csr_iters, 1, 10_000)
        _int(self._f("csr_min_new"), self.csr_min_new, 0, 100_000)
        _choice(self._f("sharpness"), self.sharpness, (True, False))
        _int(self._f("sens_every"), self.sens_every, 1, 100_000)
        _choice(self._f("sens_mode"), self.sens_mode, SENS_MODES)


SECTIONS = {
    "data": DataSpec,
    "noise": NoiseSpec,
    "model": ModelSpec,
    "train": TrainSpec,
    "metrics": MetricsSpec,
}


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines a run's results. `task` picks what the worker computes:
    train (the engine's records) or sensitivity (unrolled loss-sensitivity, PAPER.md 4-5)."""

    data: DataSpec = field(default_factory=DataSpec)
    noise: NoiseSpec = field(default_factory=NoiseSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    metrics: MetricsSpec = field(default_factory=MetricsSpec)
    task: str = "train"  # train | sensitivity

    def __post_init__(self) -> None:
        _choice("task", self.task, TASKS)
        for name, cls in SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                _fail(name, getattr(self, name), f"must be a {cls.__name__}")
        if self.model.arch == "cnn" and self.data.dataset == "mnist1d":
            _fail("model.arch", "cnn", "the CNN needs image data; use mlp for mnist1d")
        if self.task == "sensitivity" and self.model.arch != "mlp":
            _fail("model.arch", self.model.arch, "the sensitivity task supports mlp only")

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no spaces; tuples as lists."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        unknown = set(d) - set(SECTIONS) - {"task"}
        if unknown:
            _fail(sorted(unknown)[0], d[sorted(unknown)[0]], "unknown spec section")
        parts = {}
        for name, sec in SECTIONS.items():
            values = dict(d.get(name, {}))
            names = {f.name for f in fields(sec)}
            bad = set(values) - names
            if bad:
                b = sorted(bad)[0]
                _fail(f"{name}.{b}", values[b], "unknown field")
            if "member_strengths" in values:
                values["member_strengths"] = tuple(values["member_strengths"])
            parts[name] = sec(**values)
        return cls(**parts, task=d.get("task", "train"))

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls.from_dict(json.loads(text))

    @property
    def key(self) -> str:
        """Stable cache key: sha256 of canonical JSON plus CODE_VERSION (hex)."""
        payload = self.to_json() + "|" + CODE_VERSION
        return hashlib.sha256(payload.encode()).hexdigest()

    # -- flat form -------------------------------------------------------------------------
    def to_flat(self) -> dict[str, Any]:
        """{"data.dataset": "digits", ..., "task": "train"}."""
        flat: dict[str, Any] = {"task": self.task}
        for name in SECTIONS:
            for k, v in dataclasses.asdict(getattr(self, name)).items():
                flat[f"{name}.{k}"] = v
        return flat

    def replace(self, **changes: Any) -> RunSpec:
        """Copy with dotted-name changes, e.g. replace(**{"noise.level": 0.5}); strings parse."""
        return from_flat(changes, base=self)


def field_types() -> dict[str, type]:
    """Dotted field name -> Python type of its default (used to parse strings)."""
    out: dict[str, type] = {"task": str}
    for name, sec in SECTIONS.items():
        for f in fields(sec):
            has_default = f.default is not dataclasses.MISSING
            out[f"{name}.{f.name}"] = type(f.default) if has_default else tuple
    return out


def _parse(name: str, value: Any, typ: type) -> Any:
    if not isinstance(value, str) or typ is str:
        return tuple(value) if typ is tuple and isinstance(value, list) else value
    text = value.strip()
    try:
        if typ is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            return int(float(text)) if float(text).is_integer() else float(text)
        if typ is float:
            return float(text)
        if typ is tuple:
            return tuple(float(t) for t in text.replace(";", ",").split(",") if t.strip())
    except ValueError:
        _fail(name, value, f"cannot be read as {typ.__name__}")
    return value


def from_flat(flat: dict[str, Any], base: RunSpec | None = None) -> RunSpec:
    """Build a spec from {"section.field": value} (strings allowed), on top of `base`."""
    base = base or RunSpec()
    types = field_types()
    d = base.to_dict()
    for name, value in flat.items():
        if name not in types:
            _fail(name, value, "unknown spec field")
        value = _parse(name, value, types[name])
        if name == "task":
            d["task"] = value
        else:
            sec, fname = name.split(".", 1)
            d[sec][fname] = value
    return RunSpec.from_dict(d)


# -- presets ----------------------------------------------------------------------------------
# Per-dataset quick defaults (PAPER.md calibration notes): lr 0.1 on small offline data, and a
# CSR search that makes a few percent of real-data probes critical. The authors' early stop (fewer
# than 20 new critical samples in an iteration) was set for 1,000 probes; on the 359 digits
# validation probes it ends every search after one iteration, so offline data searches all
# iterations (csr_min_new 0), where radius 2/255 leaves ~3% of trained real-data probes critical.
_OFFLINE_CSR = {"metrics.csr_radius": 2.0, "metrics.csr_min_new": 0}
_PAPER_CSR = {"metrics.csr_radius": 0.3, "metrics.csr_min_new": 20}
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {"train.lr": 0.1, "train.batch_size": 64, **_OFFLINE_CSR},
    "mnist1d": {"train.lr": 0.1, "train.batch_size": 64, **_OFFLINE_CSR},
    "mnist": {"train.lr": 0.01, "train.batch_size": 128, **_PAPER_CSR},
    "fashion_mnist": {"train.lr": 0.01, "train.batch_size": 128, **_PAPER_CSR},
    "cifar10": {"train.lr": 0.01, "train.batch_size": 128, **_PAPER_CSR},
}

PRESETS: dict[str, dict[str, Any]] = {
    # The offline default: real 8x8 digits, a small MLP, quick to train on a laptop.
    "digits-mlp": {
        "data.dataset": "digits",
        "model.width": 256,
        "train.lr": 0.1,
        "train.batch_size": 64,
        "train.epochs": 30,
        "metrics.csr_every": 5,
        **_OFFLINE_CSR,
    },
    "mnist1d-mlp": {
        "data.dataset": "mnist1d",
        "model.width": 256,
        "train.lr": 0.1,
        "train.batch_size": 64,
        "train.epochs": 30,
        "metrics.csr_every": 5,
        **_OFFLINE_CSR,
    },
    # The paper's MNIST MLP (ICML Figs 5-9): 784-4096-4096-10, SGD lr 0.01.
    "mnist-mlp": {
        "data.dataset": "mnist",
        "model.width": 4096,
        "train.lr": 0.01,
        "train.batch_size": 128,
        "train.epochs": 100,
        "metrics.csr_every": 5,
    },
    # The paper's CIFAR-10 CNN: momentum 0.9, lr 0.01 halved every 15 epochs.
    "cifar-cnn": {
        "data.dataset": "cifar10",
        "model.arch": "cnn",
        "train.lr": 0.01,
        "train.momentum": 0.9,
        "train.schedule": "step",
        "train.step_epochs": 15,
        "train.gamma": 0.5,
        "train.batch_size": 128,
        "train.epochs": 100,
        "metrics.csr_every": 5,
    },
    # Loss-sensitivity (ICML Figs 3-4): 2x16 MLP on 1,000 examples, unrolled SGD.
    "sensitivity-2x16": {
        "task": "sensitivity",
        "data.dataset": "digits",
        "data.train_size": 1000,
        "model.width": 16,
        "model.depth": 2,
        "train.lr": 0.1,
        "train.batch_size": 10,
        "train.epochs": 1,
        "metrics.track_size": 0,
        "metrics.sens_every": 10,
    },
}
DEFAULT_PRESET = "digits-mlp"


def preset(name: str, **changes: Any) -> RunSpec:
    """A named preset (PRESETS) with dotted-name changes on top."""
    if name not in PRESETS:
        _fail("preset", name, "must be one of " + ", ".join(PRESETS))
    return from_flat({**PRESETS[name], **changes})
