"""What the demo tests share (test_demo_caps, test_demo_submitting, test_demo_visitors): SMALL,
a seconds-scale digits spec within every cap of the demo's defaults. Their fixture `demo_env`
is in conftest.py."""

from __future__ import annotations

from memcore.spec.presets import preset

SMALL = preset("digits-mlp", **{"model.width": 16, "train.epochs": 2})
