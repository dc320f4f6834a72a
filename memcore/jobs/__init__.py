"""Jobs: runs computed by worker processes, kept in the store (memcore/store).

- `jobqueue`: atomic state transitions asked for by users (enqueue, cancel, recompute, remove,
  evict); `lease`: those made by workers (claim with a lease, commit, fail, give back).
- `control` (asking for work) and `runs`, `status` (pure reads): the API of the app and the CLI,
  gathered in `api`.
- `writer`: the one RunWriter, turning a run's record stream into its store entries (used by
  the worker, batched sweeps and the Dask driver alike).
- `worker`: the worker loop (`python -m memcore worker`), `runner`: what it runs; `pool`:
  start/find workers.

A figure's grid of runs (submit, batching, Dask) is memcore/sweeps; the store's files and its
faults are memcore/store; visitor policy is memcore/demo.
"""
