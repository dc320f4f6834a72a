"""Jobs: runs computed by worker processes and kept in a diskcache store.

- `store`: the store folder (the index, a diskcache.Cache, + checksummed artifact/checkpoint files).
- `index`: the index's key scheme, in one place, behind typed accessors.
- `cachefile`: opening the index file (writable, read-only, empty or damaged); `faults`: the
  store's errors (disk full, read-only, damaged) with what to do; `doctor`: check and repair.
- `jobqueue`: atomic state transitions asked for by users (enqueue, cancel, recompute, remove,
  evict); `lease`: those made by workers (claim with a lease, commit, fail, give back).
- `control` (asking for work) and `runs`, `status` (pure reads): the API of the app and the CLI,
  gathered in `api`.
- `worker`: the worker loop (`python -m memcore worker`), `runner`: what it runs; `pool`:
  start/find workers; `sweep`: run a figure's sweep through the store; `backends` (+
  `dask_backend`): where a sweep's runs are computed, this machine or a Dask cluster.
- `fake`: a deterministic stand-in runner with the engine's record shapes (tests).

This is the only package that imports diskcache. It knows no visitor policy (memcore/demo.py).
"""
