"""The error tree, the one-line messages, and the status -> class mapping."""

from __future__ import annotations

import pickle

import pytest

from batches_ext import errors
from batches_ext.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchesError,
    ConfigError,
    ConflictError,
    InputError,
    InternalServerError,
    JobError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    WaitTimeout,
    status_error,
)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_status_maps_to_class(status, cls):
    err = status_error(status, {"error": {"message": "m", "type": "t", "param": None, "code": None}})
    assert type(err) is cls
    assert isinstance(err, APIStatusError) and isinstance(err, BatchesError)
    assert err.status_code == status


def test_envelope_is_unwrapped_and_str_is_one_line():
    payload = {"error": {"message": "No such File object: file-x", "type": "invalid_request_error",
                         "param": "id", "code": None}}
    err = status_error(404, payload, request_id="req_abc")
    assert str(err) == "404 Not Found: No such File object: file-x (request req_abc)"
    assert (err.message, err.type, err.param, err.code, err.request_id) == (
        "No such File object: file-x", "invalid_request_error", "id", None, "req_abc")
    assert err.args == (str(err),)


def test_multiline_message_becomes_one_line_and_missing_request_id_is_omitted():
    err = status_error(500, {"error": {"message": "boom\n  and more", "type": "server_error"}})
    assert str(err) == "500 Internal Server Error: boom and more"
    assert "\n" not in repr(err)


def test_non_json_body_uses_fallback_text():
    err = status_error(502, None, fallback="<html>Bad gateway</html>")
    assert isinstance(err, InternalServerError)
    assert err.message == "<html>Bad gateway</html>" and err.type is None


def test_empty_body_uses_reason_phrase():
    assert status_error(429, None).message == "Too Many Requests"


def test_key_is_redacted_from_messages():
    key = "sk-CANARY-redact-me"
    err = status_error(401, {"error": {"message": f"Incorrect API key provided: {key}.", "type": "x"}},
                       redact=key)
    assert key not in str(err) and key not in repr(err) and "sk-***" in err.message


def test_tree_shape():
    for cls in (ConfigError, InputError, JobError, APIConnectionError, APIStatusError):
        assert issubclass(cls, BatchesError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(WaitTimeout, JobError)
    assert "BatchesError" in errors.__doc__ and "ConflictError" in errors.__doc__


def test_input_error_carries_line_and_problems():
    err = InputError("line 3: not JSON", line=3, problems=[{"line": 3, "code": "invalid_json_line"}])
    assert err.line == 3 and err.problems[0]["code"] == "invalid_json_line"
    assert str(err) == "line 3: not JSON"


def test_status_error_pickles():
    err = status_error(409, {"error": {"message": "Cannot cancel", "type": "invalid_request_error"}},
                       request_id="req_1")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is ConflictError and str(back) == str(err)


def test_every_server_sent_field_is_redacted_and_bounded():
    key = "sk-proj-CANARY0123456789abcdef"
    envelope = {"error": {"message": "m " * 5000 + key, "type": f"t {key}", "code": f"c-{key[-20:]}",
                          "param": ["p", key]}}
    err = status_error(401, envelope, request_id=f"req_{key}\n{'x' * 500}", redact=key)
    fields = [err.message, err.type, err.code, err.param, err.request_id, str(err), repr(err)]
    assert not [f for f in fields if f and ("CANARY0123456789abcdef" in f or "\n" in f)], fields
    assert len(err.message) <= 1000 and len(err.request_id or "") <= 200 and err.code == "c-***"


def test_a_retry_after_that_stopped_a_retry_is_said_and_pickled():
    err = status_error(429, {"error": {"message": "slow down"}}, request_id="req_9", retry_after=300.0)
    assert str(err) == ("429 Too Many Requests: slow down (not retried: the server asks to wait 300 s; try again "
                        "after that) (request req_9)")
    back = pickle.loads(pickle.dumps(err))
    assert back.retry_after == 300.0 and str(back) == str(err)


def test_a_malformed_answer_error_pickles_and_is_a_batches_error():
    err = errors.APIResponseError("malformed answer to GET x (200, request req_1): the batch is null",
                                  status_code=200, request_id="req_1", method="GET", url="x")
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, BatchesError) and str(back) == str(err) and back.request_id == "req_1"
