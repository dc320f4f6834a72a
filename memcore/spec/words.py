"""A spec in words: the one place that turns a run's spec into text and labels.

- `setting(spec)`: the poster's colour key, "real", "randX" or "randY" (clean data is "real"
  whatever noise kind is set at level 0); charts colour by it, figures group by it.
- `describe(spec)`: one line telling a run apart from others (dataset, noise, model,
  regularizer, members, learning rate, task), for the app's run lists, legends and links.
- `describe_training(spec)`: its training set-up (dataset size, model, optimiser, batch, epochs,
  members), what the runs of a figure share, shown next to the figure.
"""

from __future__ import annotations

from memcore.spec import RunSpec

SETTINGS = ("real", "randX", "randY")


def setting(spec: RunSpec) -> str:
    """'real', 'randX' or 'randY' (the poster's colour key)."""
    return "real" if spec.noise.kind == "none" or spec.noise.level == 0 else spec.noise.kind


def noise_text(spec: RunSpec) -> str:
    """ "real data", or the noise kind and level as set ("randY 0.4"), and ", unique labels"."""
    n = spec.noise
    text = "real data" if n.kind == "none" else f"{n.kind} {n.level:g}"
    return text + (", unique labels" if n.labels == "unique" else "")


def model_text(spec: RunSpec) -> str:
    """ "MLP 2x512" (depth x width) or "CNN x1" (width multiplier)."""
    m = spec.model
    return f"MLP {m.depth}x{m.width}" if m.arch == "mlp" else f"CNN x{m.width_mult:g}"


def describe(spec: RunSpec) -> str:
    """One line: dataset, noise, model, regularizer, members, learning rate (and the task when
    it is not training)."""
    t = spec.train
    reg = "" if t.regularizer == "none" else f" · {t.regularizer} {t.strength:g}"
    task = " · sensitivity task" if spec.task == "sensitivity" else ""
    return (
        f"{spec.data.dataset} · {noise_text(spec)} · {model_text(spec)}{reg} · "
        f"K={t.members} · lr {t.lr:g}{task}"
    )


def describe_training(spec: RunSpec) -> str:
    """The training set-up shown next to a figure: dataset and its size, model, SGD values,
    batch, epochs, members; for the sensitivity task its evaluation interval and mode."""
    d, t, m = spec.data, spec.train, spec.metrics
    size = f"train {d.train_size or 'all'}"
    if d.downscale:
        size += f", {d.downscale}x{d.downscale}"
    momentum = f", momentum {t.momentum:g}" if t.momentum else ""
    text = (
        f"{d.dataset} ({size}), {model_text(spec)}, SGD lr {t.lr:g}{momentum}, "
        f"batch {t.batch_size}, {t.epochs} epochs"
    )
    if spec.task == "sensitivity":
        return f"{text}, evaluated every {m.sens_every} steps, {m.sens_mode} derivative"
    return f"{text}, {t.members} member(s)"
