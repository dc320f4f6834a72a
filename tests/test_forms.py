"""app.forms: the widgets' options, limits and help come from the spec's field metadata and
equal what the form used to state by hand."""

from __future__ import annotations

import pytest

from app import forms, links
from memcore.spec import RunSpec, field_meta
from memcore.spec.presets import preset

# (lo, hi) of every number widget as app/forms.py stated them before reading the metadata
OLD_LIMITS = {
    "noise.level": (0.0, 1.0),
    "model.width": (1, 65536),
    "model.depth": (1, 16),
    "train.strength": (0.0, 10.0),
    "train.epochs": (1, 100_000),
    "train.members": (1, 4096),
    "train.batch_size": (1, 1_000_000),
    "train.lr": (0.0001, 100.0),
    "train.momentum": (0.0, 0.99),
    "metrics.csr_every": (0, 100_000),
    "metrics.csr_radius": (0.0, 255.0),
    "metrics.csr_probes": (1, 100_000),
    "metrics.csr_min_new": (0, 100_000),
    "train.seed": (0, 2**31 - 1),
}
OLD_OPTIONS = {
    "data.dataset": ("digits", "mnist1d", "mnist", "fashion_mnist", "cifar10"),
    "noise.kind": ("none", "randX", "randY"),
    "noise.labels": ("class", "unique"),
    "metrics.csr_schedule": ("every", "early"),  # offered since the early-dense CSR schedule
    "train.regularizer": (
        "none", "dropout", "input_dropout", "input_noise", "hidden_noise", "weight_decay",
        "adversarial",
    ),
}  # fmt: skip


def test_widget_limits_and_options_match_the_old_form():
    by_name = {f.name: f for f in forms.FIELDS}
    assert set(by_name) == set(OLD_LIMITS) | set(OLD_OPTIONS)
    for name, (lo, hi) in OLD_LIMITS.items():
        assert (by_name[name].lo, by_name[name].hi) == (lo, hi), name
        assert type(by_name[name].lo) is type(lo), name
    for name, options in OLD_OPTIONS.items():
        assert by_name[name].kind == "select" and by_name[name].options == options


@pytest.mark.parametrize("f", forms.FIELDS, ids=lambda f: f.name)
def test_widget_help_is_the_spec_help(f):
    assert f.help == field_meta(f.name).help and f.help


@pytest.mark.parametrize(
    "spec",
    [
        preset("digits-mlp"),
        preset("digits-mlp", **{"model.width": 300, "noise.kind": "randY", "noise.level": 0.5}),
        preset("mnist1d-mlp", **{"train.epochs": 4}),
        preset("mnist-mlp"),
        preset("sensitivity-2x16"),
        RunSpec(),
    ],
    ids=lambda s: f"{s.data.dataset}-{s.task}-{s.model.width}",
)
def test_a_short_link_reads_back_as_the_same_run(spec):
    params = links.short_params(spec)
    link = links.read_link(params)
    assert link.problems == () and link.spec == spec
    assert links.short_params(links.app_default()) == {}  # the default run: an empty link
