"""Fuzzing the result reader: parse_result_line gives a ResultLine or an InputError for any line, both error
shapes are read, and any file read the way results() does gives rows or a clean BatchesError.
"""

from __future__ import annotations

import pytest

from batches_ext.jsonl import parse_result_line
from tests.reliability.conftest import bounded_or_long
from tests.reliability.fuzzing import (
    COUNTS,
    record,
    run_examples,
    run_reader,
    run_result_lines,
)


@pytest.mark.parametrize("examples", bounded_or_long(500, 20_000))
def test_parse_result_line_returns_a_result_or_input_error(examples: int, report) -> None:
    COUNTS.clear()
    try:
        run_examples(run_result_lines, examples)
    finally:
        record(report, "parse_result_line", "parse_result_line")
    assert COUNTS["parse_result_line parsed"] > 0 and COUNTS["parse_result_line refused"] > 0


def test_parse_result_line_reads_both_error_shapes() -> None:
    """The documented shapes parse to what a user joins on (the fuzzing above only proves no crash)."""
    ok = parse_result_line(b'{"id":"batch_req_1","custom_id":"a","response":{"status_code":200,'
                           b'"request_id":"r","body":{"x":1}},"error":null}')
    assert (ok.custom_id, ok.status, ok.body, ok.request_id) == ("a", "ok", {"x": 1}, "r")
    ran = parse_result_line('{"custom_id":"b","response":{"status_code":429,"body":{"error":{"message":'
                            '"slow","type":"requests","param":null,"code":"rate_limit_exceeded"}}},'
                            '"error":null}')
    assert (ran.status, ran.status_code, ran.error_code, ran.error_message) == \
        ("error", 429, "rate_limit_exceeded", "slow")
    never = parse_result_line('{"custom_id":"c","response":null,'
                              '"error":{"code":"batch_expired","message":"late"}}')
    assert (never.status, never.status_code, never.body) == ("expired", None, None)


@pytest.mark.parametrize("examples", bounded_or_long(300, 3_000))
def test_the_result_reader_turns_any_file_into_rows_or_a_clean_error(examples: int, report) -> None:
    COUNTS.clear()
    try:
        run_examples(run_reader, examples)
    finally:
        record(report, "result reader", "result reader (download + parse)")
    assert COUNTS["reader rows"] > 0 and COUNTS["reader clean errors"] > 0
