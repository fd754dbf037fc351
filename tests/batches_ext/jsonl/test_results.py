"""parse_result_line: both error shapes of the output and error files, garbage as an InputError naming its line.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batches_ext.errors import InputError
from batches_ext.jsonl import parse_result_line

from .samples import EXPIRED, HTTP_400, OK


def test_success_line() -> None:
    r = parse_result_line(json.dumps(OK))
    assert (r.custom_id, r.status, r.status_code, r.error_code, r.request_id) == (
        "request-1", "ok", 200, None, "req_1")
    assert r.body["choices"][0]["message"]["content"] == "Hello"


def test_error_shape_response_filled_error_null() -> None:
    r = parse_result_line(json.dumps(HTTP_400))
    assert (r.status, r.status_code, r.error_code, r.error_message) == (
        "error", 400, "invalid_request", "Bad model.")
    assert r.body == HTTP_400["response"]["body"]


def test_error_shape_response_null_error_object() -> None:
    r = parse_result_line(json.dumps(EXPIRED).encode())
    assert (r.status, r.status_code, r.body, r.error_code) == ("expired", None, None, "batch_expired")
    assert "completion window" in (r.error_message or "")
    cancelled = {**EXPIRED, "error": {"code": "batch_cancelled", "message": "cancelled"}}
    assert parse_result_line(json.dumps(cancelled)).status == "cancelled"


def test_http_error_without_an_error_code_gets_one() -> None:
    line = {**HTTP_400, "response": {"status_code": 500, "body": {"error": {"message": "boom", "code": None}}}}
    r = parse_result_line(json.dumps(line))
    assert (r.status, r.error_code, r.error_message) == ("error", "http_500", "boom")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("nope", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"response": null, "error": {"code": "x"}}', "no custom_id"),
        ('{"custom_id": "a"}', "neither"),
        ('{"custom_id": "a", "response": 3}', "not an object"),
    ],
)
def test_garbage_raises_input_error_with_the_line(text: str, why: str) -> None:
    with pytest.raises(InputError, match=f"line 7: .*{why}") as info:
        parse_result_line(text, line=7)
    assert info.value.line == 7


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_parse_never_crashes(text: str | bytes) -> None:
    try:
        parse_result_line(text, line=1)
    except InputError:
        pass
