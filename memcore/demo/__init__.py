"""Demo mode: what one visitor of a shared, public explorer may ask for, and the verbs that
check it and act in one step.

A hosted demo (the Docker image, docker/entrypoint.sh) serves strangers from a few CPU cores, so
every run a visitor asks for is checked against caps: the app (app/state.py) and the CLI
(memcore/commands) submit, retry, cancel and delete through this package's verbs
(memcore/demo/verbs.py), never memcore.jobs directly; memcore.jobs knows nothing of this policy
(it runs the verbs' admission rule inside its transaction). The caps are one table of rows
(memcore/demo/caps.py: ROWS), each set by a setting read at call time (memcore/settings.py), so
an operator sets them with `docker run -e ...`:

    MEMCORE_DEMO=1                          caps on (off by default: local users are trusted)
    MEMCORE_READONLY=1                      serve stored runs only; queue nothing (works alone)
    MEMCORE_DEMO_MAX_WIDTH=1024             model.width (MLP hidden units per layer; MLPs only)
    MEMCORE_DEMO_MAX_WIDTH_MULT=2           model.width_mult (CNN channel multiplier; CNNs only)
    MEMCORE_DEMO_MAX_DEPTH=4                model.depth (MLP hidden layers; MLPs only)
    MEMCORE_DEMO_MAX_EPOCHS=50              train.epochs
    MEMCORE_DEMO_MAX_MEMBERS=16             train.members (K models trained together)
    MEMCORE_DEMO_MAX_TRAIN_SIZE=5000        training examples (data.train_size; 0 = the whole split)
    MEMCORE_DEMO_MAX_STEPS=20000            SGD steps = epochs x ceil(examples / batch_size)
    MEMCORE_DEMO_MAX_SENS_STEPS=1000        SGD steps of the unrolled sensitivity task
    MEMCORE_DEMO_MAX_CSR_PROBES=1000        metrics.csr_probes (when CSR is measured)
    MEMCORE_DEMO_MAX_CSR_ITERS=100          metrics.csr_iters (when CSR is measured, and for
                                            adversarial training: a LASS search per minibatch)
    MEMCORE_DEMO_MAX_TRACK_SIZE=2000        metrics.track_size
    MEMCORE_DEMO_MAX_EARLY_STEPS=100        metrics.early_steps
    MEMCORE_DEMO_MAX_SECONDS=600            the run's estimated seconds on the server's device
    MEMCORE_DEMO_MAX_MEMORY_MB=4096         the run's estimated memory (memcore.engine.cost)
    MEMCORE_DEMO_MAX_QUEUED_PER_SESSION=10  queued + running jobs per visitor (demo/visitors.py: the
                                            client's address; visitors without one share one)
    MEMCORE_DEMO_MAX_QUEUED=50              queued + running jobs in the whole store

(The deprecated old names still work for one release: memcore/settings.py.) A cap set to 0
means "no cap". Caps only guard new work: a run already stored is served as is. A
refusal is a ValueError naming the field, the value, the cap and the variable that sets it, e.g.
"model.width=4096 exceeds this demo's cap of 1024 (set by MEMCORE_DEMO_MAX_WIDTH)". Single-field
caps bound what is easy to name; the cost caps (seconds and memory, from the spec's cost estimate
on the server's device, which counts every LASS search: CSR, adversarial examples on every
minibatch, sharpness) bound everything together. A visitor cannot choose the device:
train.device must stay "auto" (the server's device).

Visitors (memcore.demo.visitors) may cancel or delete only the runs their own session created;
the app passes the visitor to every verb, the command line passes none (an operator).
"""

from __future__ import annotations

from memcore.demo.caps import (
    CAPS,
    DEVICE_MESSAGE,
    READONLY_MESSAGE,
    ROWS,
    Cap,
    DemoLimits,
    check,
    check_queue,
    limits,
    uses_lass,
)
from memcore.demo.verbs import (
    MANAGE_MESSAGE,
    cancel,
    check_manage,
    check_submit,
    delete,
    retry,
    submit,
    submit_sweep,
)
from memcore.demo.visitors import Visitor
from memcore.engine.cost import sgd_steps, train_examples

__all__ = [
    "CAPS",
    "DEVICE_MESSAGE",
    "MANAGE_MESSAGE",
    "READONLY_MESSAGE",
    "ROWS",
    "Cap",
    "DemoLimits",
    "Visitor",
    "cancel",
    "check",
    "check_manage",
    "check_queue",
    "check_submit",
    "delete",
    "limits",
    "retry",
    "sgd_steps",
    "submit",
    "submit_sweep",
    "train_examples",
    "uses_lass",
]
