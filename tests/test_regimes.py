"""The quick scale reaches the regime each claim is about, on both offline datasets, where that
is cheap to check here: the figures' own specs trained by the production code (issue 12: choose
the set-up for the regime, and check them). The report run in the README checks the rest."""

from __future__ import annotations

import pytest

from memcore.engine import sensitivity_task as task
from memcore.engine.trainer import train
from memcore.figures import filters, sensitivity, verdict

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest


@pytest.mark.parametrize("dataset", ["digits", "mnist1d"])
@pytest.mark.parametrize("labels", ["class", "unique"])
def test_sensitivity_quick_real_data_net_learns_its_labels(dataset, labels):
    """The sensitivity checks read Gini only when the real-data 2x16 net learned (training
    accuracy: figures.verdict.learned); the quick epochs were chosen for that. The
    task's own SGD and data order, without the (costly) unrolled evaluations."""
    spec = sensitivity.run_spec(dataset, "quick", "real", 0.0, labels, seed=0)
    un, data = task.setup(spec)
    n = len(data.x_train)
    for batch in task.batches(n, spec.train.batch_size, spec.train.epochs, spec.train.seed):
        un.sgd_step(batch)
    _, acc = un.loss_acc()
    chance = 1.0 / data.n_classes
    assert data.n_classes == (n if labels == "unique" else 10)
    assert verdict.learned(acc, chance)[0], acc


def test_filters_quick_mnist1d_random_label_net_fits_its_labels():
    """mnist1d's first-layer filters are compared only once the 100%-randY MLP has fitted its
    labels (filters.MIN_FIT); 60 epochs left it at 79%, the quick scale gives the MLP 100."""
    real, rand = filters.specs("mnist1d", "quick")
    assert rand.noise.kind == "randY" and rand.noise.level == 1.0
    last = [r for r in train(rand) if r["type"] == "epoch"][-1]
    assert last["train_acc"] >= filters.MIN_FIT, last["train_acc"]
