"""Spec inputs as an attacker sends them (issue 25 items 7, 12): a bool field takes only true or
false (1, 0, 1.0, -0.0 would be a second key, so a second job, for the same run), and an integer
too long for Python to write out is refused naming its field, from JSON or from Python."""

from __future__ import annotations

import pytest

from memcore.jobs import api
from memcore.spec import RunSpec, field_types

BOOL_FIELDS = [name for name, typ in field_types().items() if typ is bool]
HUGE = "9" * 5000  # over Python's 4,300-digit limit for int <-> str


def test_there_are_bool_fields_to_check() -> None:
    assert {"data.balanced", "metrics.sharpness"} <= set(BOOL_FIELDS)


@pytest.mark.parametrize("name", BOOL_FIELDS)
@pytest.mark.parametrize("value", [1, 0, 1.0, -0.0, 2, "true", None])
def test_a_bool_field_refuses_anything_but_true_or_false(name: str, value) -> None:
    section, field = name.split(".")
    with pytest.raises(ValueError, match=rf"^{name}=.* is invalid: must be one of True, False"):
        RunSpec.from_dict({section: {field: value}})


def test_one_run_one_job_whatever_the_submitter_writes_for_a_bool(tmp_path) -> None:
    store = tmp_path / "store"
    key = api.submit({"data": {"balanced": True}}, store)
    for value in (1, 1.0):
        with pytest.raises(ValueError, match="data.balanced"):
            api.submit({"data": {"balanced": value}}, store)
    assert [r["key"] for r in api.list_runs(store)] == [key]


@pytest.mark.parametrize("name", ["train.epochs", "train.lr", "metrics.csr_iters", "data.seed"])
def test_a_huge_integer_is_refused_naming_its_field(name: str) -> None:
    section, field = name.split(".")
    with pytest.raises(ValueError, match=rf"^{name}=.* is invalid"):
        RunSpec.from_json(f'{{"{section}": {{"{field}": {HUGE}}}}}')
    with pytest.raises(ValueError, match=rf"^{name}=an integer of about 5,000 digits is invalid"):
        RunSpec.from_dict({section: {field: int(HUGE[:4000]) * 10**1000}})
    with pytest.raises(ValueError, match=rf"^{name}=.* is invalid"):
        RunSpec().replace(**{name: HUGE})  # a URL or CLI text


def test_a_downscale_larger_than_the_image_is_refused_before_it_is_queued(tmp_path) -> None:
    """Issue 25 item 13: it was queued (demo mode estimated it at 1-2 GB) and failed only in
    the worker."""
    store = tmp_path / "store"
    for dataset, size in (("digits", 9), ("digits", 1024), ("cifar10", 33)):
        with pytest.raises(ValueError, match=r"^data\.downscale=\d+ is invalid: must be 0 or at"):
            api.submit({"data": {"dataset": dataset, "downscale": size}}, store)
    with pytest.raises(ValueError, match="not an image dataset"):
        api.submit({"data": {"dataset": "mnist1d", "downscale": 4}}, store)
    assert api.list_runs(store) == []
    api.submit({"data": {"dataset": "digits", "downscale": 8}}, store)  # the native side
