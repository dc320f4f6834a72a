"""Sweeps: a figure's grid of specs run through the store.

- `sweep`: run one figure (submit its specs, wait, evaluate its claim); `batches`: same-shape
  specs trained as one batched run; `backends` (+ `dask_backend`): where a sweep's runs are
  computed, this machine or a Dask cluster.

The only wing above memcore.jobs that imports memcore.figures.
"""
