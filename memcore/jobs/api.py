"""The job API used by the app and the CLI, in one namespace: `from memcore.jobs import api`.

- asking for work (memcore/jobs/control.py): submit, submit_sweep, retry, cancel, delete,
  mark_recompute, enforce_limit; annotate (a run's name, tags and note);
- looking at runs (runs.py, status.py; pure reads): status, records, arrays, result, spec,
  exists, list_runs, sweep_keys, sweep_status, with the records JobStatus, SweepStatus, RunResult.
"""

from __future__ import annotations

from memcore.jobs.control import (
    annotate,
    cancel,
    delete,
    enforce_limit,
    mark_recompute,
    retry,
    submit,
    submit_sweep,
    sweep_id,
)
from memcore.jobs.runs import RunResult, arrays, list_runs, records, result, spec
from memcore.jobs.status import (
    JobStatus,
    SweepStatus,
    exists,
    status,
    sweep_keys,
    sweep_status,
)
from memcore.store import StoreArg

__all__ = [
    "JobStatus",
    "annotate",
    "RunResult",
    "StoreArg",
    "SweepStatus",
    "arrays",
    "cancel",
    "delete",
    "enforce_limit",
    "exists",
    "list_runs",
    "mark_recompute",
    "records",
    "result",
    "retry",
    "spec",
    "status",
    "submit",
    "submit_sweep",
    "sweep_id",
    "sweep_keys",
    "sweep_status",
]
