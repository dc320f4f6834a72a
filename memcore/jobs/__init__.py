"""Jobs: runs computed by worker processes and kept in a diskcache store.

- `store`: the store folder (one diskcache.Cache + checksummed artifact/checkpoint files).
- `jobqueue`: atomic state transitions (enqueue, lease-based claim, commit, requeue, fail).
- `api`: submit / status / records / arrays / result / cancel / delete / retry / list_runs /
  submit_sweep / sweep_status, for the app and the CLI.
- `worker`: the worker loop (`python -m memcore worker`); `pool`: start/find workers.
- `fake`: a deterministic stand-in runner with the engine's record shapes (tests).

This is the only package that imports diskcache.
"""
