"""What a worker runs for a spec: the engine, the sensitivity task, or an injected test runner."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

from memcore import settings
from memcore.spec import RunSpec

Runner = Callable[..., Iterator[dict[str, Any]]]


def default_runner(spec: RunSpec, *, resume: Any = None, should_stop=None):
    """Dispatch on spec.task: "train" -> memcore.engine.trainer.train, "sensitivity" ->
    engine.sensitivity_task.run. MEMCORE_JOBS_RUNNER="module:function" replaces it (tests)."""
    override = settings.get("MEMCORE_JOBS_RUNNER")
    if override:
        mod, _, fn = override.partition(":")
        return getattr(importlib.import_module(mod), fn)(
            spec, resume=resume, should_stop=should_stop
        )
    if spec.task == "sensitivity":
        from memcore.engine import sensitivity_task

        return sensitivity_task.run(spec, should_stop=should_stop)
    from memcore.engine import trainer as engine

    return engine.train(spec, resume=resume, should_stop=should_stop)


def warm_up() -> None:
    """Import the engine and load the offline default dataset before the first claim, so the
    first Run of a fresh app shows its first curve point in about a second, not after the
    several seconds these take on a cold process. Skipped when a test runner is injected."""
    if settings.get("MEMCORE_JOBS_RUNNER"):
        return
    try:
        from memcore.data import loading
        from memcore.engine import trainer  # noqa: F401  (imports torch and the models)
        from memcore.spec import DataSpec

        loading.load(DataSpec())
    except Exception as e:  # a warm-up failure must not stop the worker; jobs report errors
        print(f"warm-up skipped: {e}", flush=True)


def on_device(spec: RunSpec, device: str | None) -> RunSpec:
    """The spec a worker runs: its own `device` replaces "auto" (the run's key keeps "auto")."""
    if device and spec.train.device == "auto":
        return spec.replace(**{"train.device": device})
    return spec
