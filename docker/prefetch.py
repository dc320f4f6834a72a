"""Download torchvision datasets into a folder at image build time (when the build is online).

`python docker/prefetch.py FOLDER NAME...` with NAME among mnist, fashion_mnist, cifar10 (the
offline datasets digits and mnist1d need nothing). A dataset that cannot be fetched (no network,
a mirror down) prints a warning and is skipped: the image still builds, and the app tells a
visitor how to add the files later. Exits 2 only for an unknown name (a typo in the build arg).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: memcore


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    folder, names = argv[0], [n for a in argv[1:] for n in a.replace(",", " ").split()]
    os.environ["MEMCORE_DATA"] = folder
    from memcore.data.files import DatasetUnavailable
    from memcore.data.loading import load
    from memcore.datasets import REGISTRY
    from memcore.spec import DataSpec

    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        known = ", ".join(REGISTRY)
        print(f"prefetch: unknown dataset(s) {unknown}; known: {known}", file=sys.stderr)
        return 2
    for name in names:
        if REGISTRY[name].offline:
            print(f"prefetch: {name} ships with its package; nothing to download")
            continue
        try:
            ds = load(DataSpec(dataset=name), root=folder)
            print(f"prefetch: {name} ready in {folder} ({ds.n_train} train / {ds.n_val} val)")
        except DatasetUnavailable as e:
            print(f"prefetch: WARNING: {name} skipped: {e}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
