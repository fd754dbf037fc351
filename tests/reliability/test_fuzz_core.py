"""Fuzzing the core: preflight and iter_jsonl never crash and agree with the fake's validator line by line;
offline submit refuses bad input with InputError or makes a batch the server runs.
"""

from __future__ import annotations

import pytest

from tests.reliability.conftest import bounded_or_long
from tests.reliability.fuzzing import (
    COUNTS,
    record,
    run_agreement,
    run_examples,
    run_preflight,
    run_preflight_objects,
    run_submit,
)


@pytest.mark.parametrize("examples", bounded_or_long(400, 4_000))
def test_preflight_and_iter_jsonl_never_crash(examples: int, report) -> None:
    COUNTS.clear()
    try:
        run_examples(run_preflight, examples)
        run_examples(run_preflight_objects, examples)
    finally:
        record(report, "preflight", "preflight")
        record(report, "iter_jsonl", "iter_jsonl")


@pytest.mark.parametrize("examples", bounded_or_long(300, 3_000))
def test_preflight_flags_the_lines_the_fake_rejects(examples: int, report) -> None:
    """A user who runs preflight first learns of exactly the problems the server would fail the batch for."""
    COUNTS.clear()
    try:
        run_examples(run_agreement, examples)
    finally:
        report.add("fuzzing", "preflight vs fake validator inputs compared", COUNTS["agreement inputs"])
        report.add("fuzzing", "of which the fake rejected", COUNTS["agreement rejected"])
        report.loss("fuzzing", "preflight vs fake validator crashes", COUNTS["agreement crashes"])
    assert 0 < COUNTS["agreement rejected"] < COUNTS["agreement inputs"]


@pytest.mark.parametrize("examples", bounded_or_long(200, 2_000))
def test_submit_refuses_bad_input_or_makes_a_batch_the_server_runs(examples: int, report) -> None:
    """What the core's submit lets through is never failed by the server's validation (offline fake)."""
    COUNTS.clear()
    try:
        run_examples(run_submit, examples)
    finally:
        record(report, "submit", "core submit")
    assert COUNTS["submit refused by the core"] > 0 and COUNTS["submit completed"] > 0
