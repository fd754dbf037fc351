"""render.live: the live table's cells say what a person would, never "0/0" for a batch with no counts yet."""

from __future__ import annotations

from batches_ext import render

from .test_values import batch


def _progress_cell(b) -> str:
    keys = [c["key"] for c in render.TABLE_COLUMNS]
    return render.table_row(b, now=1_700_000_100)["cells"][keys.index("progress")]


def test_the_progress_cell_counts_requests_or_says_why_there_are_none() -> None:
    assert ">7/10<" in _progress_cell(batch())  # 6 completed + 1 failed of 10
    waiting = batch(status="validating", request_counts={"total": 0, "completed": 0, "failed": 0})
    refused = batch(status="failed", request_counts={"total": 0, "completed": 0, "failed": 0})
    assert ">queued<" in _progress_cell(waiting) and "0/0" not in _progress_cell(waiting)
    assert ">none run<" in _progress_cell(refused) and "0/0" not in _progress_cell(refused)
