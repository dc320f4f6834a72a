"""The five sections of a run spec (data, noise, model, train, metrics) and their fields.

Each field is a `spec_field` carrying its allowed values, unit and help (memcore.spec.fields);
constructing a section checks every field against that metadata, in field order. Checks that need
two fields are the rules below, run right after their field's own check. RunSpec, the key and the
flat form: memcore.spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memcore.datasets import OFFLINE_DATASETS, REGISTRY, DatasetInfo, names
from memcore.spec.fields import check_number, fail, spec_field, validate_fields

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
BOOLS = (True, False)
SEED_MAX = 2**31 - 1
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class _Section:
    """A spec section: every field is a `spec_field`, checked by its metadata on construction."""

    _name = ""

    def __post_init__(self) -> None:
        validate_fields(self, self._name)

    def _f(self, fieldname: str) -> str:
        return f"{self._name}.{fieldname}"


# -- rules that need more than one field (run right after their field's own check) ------------
def _known_dataset(d: DataSpec) -> None:
    # the registry, not a fixed list: imported datasets are added while the program runs
    # (a removed one still validates, so its stored runs read; loading it says it was removed)
    if not isinstance(d.dataset, str) or d.dataset not in REGISTRY:
        fail(d._f("dataset"), d.dataset, "must be one of " + ", ".join(names()))


def check_dataset_fit(data: DataSpec, info: DatasetInfo) -> None:
    """DataSpec checks that need the dataset's facts: data.downscale only on images, and no
    larger than their side (checked when the spec is built, so such a run is never queued)."""
    if data.downscale and len(info.input_shape) != 3:
        fail("data.downscale", data.downscale, f"{info.name} is not an image dataset; use 0")
    if data.downscale > info.input_shape[-1]:
        fail(
            "data.downscale",
            data.downscale,
            f"must be 0 or at most the native side {info.input_shape[-1]} of {info.name}",
        )


def _downscale_not_1(d: DataSpec) -> None:
    if d.downscale == 1:
        fail(d._f("downscale"), 1, "must be 0 (native) or a side length >= 2")


def _level_0_without_noise(n: NoiseSpec) -> None:
    if n.kind == "none" and n.level != 0:
        fail(n._f("level"), n.level, "must be 0 when noise.kind is 'none'")


def _in_regularizer_range(t: TrainSpec, name: str, s: object) -> None:
    lo, hi = REG_RANGES[t.regularizer]
    check_number(t._f(name), s, lo, hi, what=f"with regularizer {t.regularizer!r} it ")


def _strength_in_regularizer_range(t: TrainSpec) -> None:
    _in_regularizer_range(t, "strength", t.strength)


def _one_strength_per_member(t: TrainSpec) -> None:
    if t.member_strengths and len(t.member_strengths) != t.members:
        fail(
            t._f("member_strengths"),
            t.member_strengths,
            f"must be empty or have one value per member ({t.members})",
        )
    for i, s in enumerate(t.member_strengths):
        _in_regularizer_range(t, f"member_strengths[{i}]", s)


def _device_name(t: TrainSpec) -> None:
    # whether the device exists is checked where the run would go (engine.device, at submit)
    if not isinstance(t.device, str) or not _DEVICE_RE.match(t.device):
        fail(t._f("device"), t.device, "must be auto, cpu, cuda, cuda:N or mps")


@dataclass(frozen=True)
class DataSpec(_Section):
    _name = "data"
    dataset: str = spec_field(
        "digits",
        f"{' and '.join(OFFLINE_DATASETS)} work offline; the others need their files in the "
        "data folder; imported datasets (`datasets add`) work offline too.",
        rule=_known_dataset,
    )
    train_size: int = spec_field(
        0, "Training examples used (a subset of the train split); 0 = all.",
        unit="examples", lo=0, hi=10_000_000,
    )  # fmt: skip
    balanced: bool = spec_field(
        True, "The subset keeps equal counts per class (else a uniform random subset).",
        choices=BOOLS,
    )  # fmt: skip
    downscale: int = spec_field(
        0, "Image side after average pooling (e.g. 14 for MNIST); 0 = native, else >= 2.",
        unit="pixels", lo=0, hi=1024, rule=_downscale_not_1,
    )  # fmt: skip
    val_fraction: float = spec_field(
        0.0, "Share of the train images held out for validation; 0 = the dataset's default "
        "split.", lo=0.0, hi=0.9,
    )  # fmt: skip
    seed: int = spec_field(
        0, "Seed of the subset choice and of the train/validation split.", lo=0, hi=SEED_MAX
    )


@dataclass(frozen=True)
class NoiseSpec(_Section):
    _name = "noise"
    kind: str = spec_field(
        "none", "randX: inputs replaced by Gaussian noise. randY: labels replaced by random ones.",
        choices=NOISE_KINDS,
    )  # fmt: skip
    level: float = spec_field(
        0.0, "Exactly round(p*N) training examples are corrupted. Must be 0 for 'none'.",
        unit="fraction p", lo=0.0, hi=1.0, rule=_level_0_without_noise,
    )  # fmt: skip
    seed: int = spec_field(
        0, "Which examples are corrupted, and the noise drawn for them.", lo=0, hi=SEED_MAX
    )
    x_stats: str = spec_field(
        "global", "randX: the Gaussian matches the global, per-channel or per-pixel mean/std.",
        choices=X_STATS,
    )  # fmt: skip
    y_mode: str = spec_field(
        "uniform", "randY: the new label is uniform over all classes, or never the true one.",
        choices=Y_MODES,
    )  # fmt: skip
    labels: str = spec_field(
        "class", "unique: every training example is its own class (N-way output).",
        choices=LABEL_MODES,
    )  # fmt: skip


@dataclass(frozen=True)
class ModelSpec(_Section):
    _name = "model"
    arch: str = spec_field(
        "mlp", "mlp: input -> width x depth -> classes, ReLU. cnn: the paper's CIFAR CNN.",
        choices=ARCHS,
    )  # fmt: skip
    width: int = spec_field(512, "MLP hidden units per layer.", unit="units", lo=1, hi=65536)
    depth: int = spec_field(2, "MLP hidden layers.", unit="layers", lo=1, hi=16)
    width_mult: float = spec_field(
        1.0, "CNN channels/units multiplier.", lo=0.0, hi=16.0, open_lo=True
    )


@dataclass(frozen=True)
class TrainSpec(_Section):
    _name = "train"
    lr: float = spec_field(0.01, "SGD learning rate.", lo=0.0, hi=100.0, open_lo=True)
    momentum: float = spec_field(0.0, "SGD momentum.", lo=0.0, hi=1.0, open_hi=True)
    schedule: str = spec_field(
        "constant", "constant, or step: lr *= gamma every step_epochs epochs.", choices=SCHEDULES
    )
    step_epochs: int = spec_field(
        15, "Epochs between lr steps (schedule step).", unit="epochs", lo=1, hi=100_000
    )
    gamma: float = spec_field(
        0.5, "lr factor per step (schedule step).", lo=0.0, hi=1.0, open_lo=True
    )
    batch_size: int = spec_field(
        64, "Examples per SGD step per member.", unit="examples", lo=1, hi=1_000_000
    )
    epochs: int = spec_field(20, "Passes over the training set.", unit="epochs", lo=1, hi=100_000)
    members: int = spec_field(
        1, "K models with seeds seed..seed+K-1; bands show their spread. Easiness needs K>1.",
        unit="models", lo=1, hi=4096,
    )  # fmt: skip
    seed: int = spec_field(0, "Base seed of initialisation and data order.", lo=0, hi=SEED_MAX)
    regularizer: str = spec_field(
        "none",
        "What regularizes training (PAPER.md item 7); strength says how much.",
        choices=REGULARIZERS,
    )
    strength: float = spec_field(
        0.0, "Rate (dropout), std (noise) or L2 coefficient (weight decay); 0 for 'none'. "
        "Its range depends on the regularizer (REG_RANGES).",
        rule=_strength_in_regularizer_range,
    )  # fmt: skip
    member_strengths: tuple[float, ...] = spec_field(
        (), "Per-member strengths (one per member); empty = all the same strength.",
        rule=_one_strength_per_member,
    )  # fmt: skip
    adv_weight: float = spec_field(
        0.5, "Adversarial training: loss = (1-w) CE(x, y) + w CE(x^, y).", lo=0.0, hi=1.0
    )
    device: str = spec_field(
        "auto", "auto (cuda if available), cpu, cuda, cuda:N or mps.", rule=_device_name
    )
    precision: str = spec_field(
        "fp32", "fp32, tf32 or bf16 (autocast); tf32/bf16 only change GPU runs.",
        choices=PRECISIONS,
    )  # fmt: skip

    @property
    def strengths(self) -> tuple[float, ...]:
        """Regularizer strength of each member."""
        return self.member_strengths or (self.strength,) * self.members


@dataclass(frozen=True)
class MetricsSpec(_Section):
    _name = "metrics"
    eval_every: int = spec_field(
        1, "Epochs between full train/validation evaluations.", unit="epochs", lo=1, hi=100_000
    )
    track_size: int = spec_field(
        1000, "Training examples tracked one by one (easiness, forgetting, data maps).",
        unit="examples", lo=0, hi=100_000,
    )  # fmt: skip
    early_steps: int = spec_field(
        0, "Also evaluate after each of the first N SGD steps of epoch 1.",
        unit="steps", lo=0, hi=100_000,
    )  # fmt: skip
    csr_every: int = spec_field(
        0, "Epochs between critical sample ratio measurements; 0 = off.",
        unit="epochs", lo=0, hi=100_000,
    )  # fmt: skip
    csr_set: str = spec_field("val", "CSR probes are drawn from this set.", choices=CSR_SETS)
    csr_probes: int = spec_field(1000, "CSR probe points.", unit="probes", lo=1, hi=100_000)
    csr_radius: float = spec_field(
        0.3,
        "L-inf radius of the LASS search, in 1/255 of the dataset's value range (one pixel "
        "level on 8-bit images); the paper uses 0.3.",
        unit="/255 of the data range", lo=0.0, hi=255.0,
    )  # fmt: skip
    csr_alpha: float = spec_field(
        0.25, "LASS step on the gradient sign.", unit="/255 of the data range", lo=0.0, hi=255.0
    )
    csr_beta: float = spec_field(
        0.2, "LASS Langevin noise std.", unit="/255 of the data range", lo=0.0, hi=255.0
    )
    csr_iters: int = spec_field(100, "LASS iterations at most.", unit="iterations", lo=1, hi=10_000)
    csr_min_new: int = spec_field(
        20, "LASS stops when an iteration finds fewer new critical samples than this (the "
        "paper: 20 for 1,000 probes); 0 runs every iteration.",
        unit="samples", lo=0, hi=100_000,
    )  # fmt: skip
    sharpness: bool = spec_field(
        False, "Top Hessian eigenvalue of the training loss at the end.", choices=BOOLS
    )
    sens_every: int = spec_field(
        10, "Sensitivity task: SGD steps between evaluations.", unit="steps", lo=1, hi=100_000
    )
    sens_class_every: int = spec_field(
        1, "Sensitivity task: the per-class matrix is updated every this many evaluations (the "
        "Gini uses every one); an update costs as many backward sweeps as there are classes.",
        unit="evaluations", lo=1, hi=100_000,
    )  # fmt: skip
    sens_mode: str = spec_field(
        "total", "Sensitivity: the total derivative, or indirect (through theta_t only).",
        choices=SENS_MODES,
    )  # fmt: skip
