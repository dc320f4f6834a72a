"""When a run measures the critical sample ratio (CSR): the one home of the CSR schedule.

The engine measures CSR at these epochs, the cost model counts them, the app's ETA expects them.
- "every" (metrics.csr_schedule): epoch 0 (initialization), every metrics.csr_every epochs, and
  the last epoch.
- "early": the same, plus the early-dense epochs EARLY (1, 2, 4, 8, 16) below the last, so a rise
  within the first epochs (poster Fig 4.1: randX's CSR "increases very rapidly") is seen; then
  evenly (every csr_every epochs) to the end. "Rises" is then read against epoch 0, the same
  untrained function for every setting (PAPER.md 6).
metrics.csr_every = 0 turns CSR off (no epochs at all).
"""

from __future__ import annotations

CSR_SCHEDULES = ("every", "early")
EARLY = (1, 2, 4, 8, 16)  # doubling: each early measurement halves the time since the last
SCHEDULE_HELP = (
    "every: epoch 0, every csr_every epochs and the last; early: also epochs 1, 2, 4, 8, 16 (a "
    "rise in the first epochs is seen; memcore.spec.schedule)."
)


def csr_epochs(every: int, epochs: int, schedule: str = "every") -> tuple[int, ...]:
    """The sorted epochs at whose end CSR is measured (module docstring); () when off."""
    if schedule not in CSR_SCHEDULES:
        raise ValueError(
            f"metrics.csr_schedule={schedule!r} is invalid: must be one of "
            + ", ".join(CSR_SCHEDULES)
        )
    if every <= 0:
        return ()
    at = {0, epochs, *range(every, epochs + 1, every)}
    if schedule == "early":
        at |= {e for e in EARLY if e < epochs}
    return tuple(sorted(at))
