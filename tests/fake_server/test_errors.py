"""fake_server.errors: one 4-key envelope, and every producer of an error body uses it."""

from __future__ import annotations

import json

import pytest

from fake_server import FakeBatchesAPI, ManualClock
from fake_server.errors import ApiError, envelope
from fake_server.faults import Fault
from fake_server.files import parse_upload
from fake_server.responders import LineError, answer
from fake_server.wire import Request
from tests.fake_server.calls import call, upload

KEYS = {"message", "type", "param", "code"}


def test_envelope_has_all_four_keys_with_explicit_nulls() -> None:
    assert envelope("Nope.") == {
        "error": {"message": "Nope.", "type": "invalid_request_error", "param": None, "code": None}
    }
    assert envelope("Slow down.", type="requests", param="x", code="rate_limit_exceeded")["error"] == {
        "message": "Slow down.", "type": "requests", "param": "x", "code": "rate_limit_exceeded",
    }


def test_api_error_carries_status_and_builds_the_same_envelope() -> None:
    err = ApiError(409, "Cannot cancel a batch with status 'completed'.")
    assert (err.status, str(err)) == (409, "Cannot cancel a batch with status 'completed'.")
    assert err.envelope() == envelope("Cannot cancel a batch with status 'completed'.")
    coded = ApiError(404, "No such File object: file-x", param="id")
    assert coded.envelope() == envelope("No such File object: file-x", param="id")


def test_line_errors_and_responder_crashes_use_the_envelope() -> None:
    assert LineError("bad", status_code=422, code="c").envelope() == envelope("bad", code="c")

    def crash(line):
        raise RuntimeError("boom")

    valid = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    status, body = answer("/v1/chat/completions", "r", valid, created=0, responder=crash)
    assert status == 500 and set(body["error"]) == KEYS and body["error"]["type"] == "server_error"
    status, body = answer("/v1/chat/completions", "r", {"model": "fake-error-429", "messages": []}, created=0)
    assert (status, body) == (429, envelope("fake-error-429: this request was rejected by the fake",
                                            type="requests", code="rate_limit_exceeded"))


@pytest.mark.parametrize("status", [418, 429, 500, 503])
def test_fault_bodies_use_the_envelope(status: int) -> None:
    body = Fault(status=status).error_body()
    assert set(body) == {"error"} and set(body["error"]) == KEYS


def test_upload_errors_are_api_errors_with_param_and_code() -> None:
    with pytest.raises(ApiError) as raised:
        parse_upload(Request("POST", "/v1/files", "", {"content-type": "text/plain"}, b"x"))
    assert raised.value.status == 400 and raised.value.param is None


def test_errors_on_the_wire_and_in_seeded_error_files_have_the_four_keys() -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    for response in (call(fake, "GET", "/nowhere"), call(fake, "GET", "/batches", key=None),
                     upload(fake, b"{}\n", filename="x.csv")):
        assert set(response.json()["error"]) == KEYS
    batch = fake.seed_batch("completed", requests=2, failed=1)
    content = fake.file_content(batch["error_file_id"])
    [line] = [json.loads(raw) for raw in content.splitlines()]
    assert line["response"]["body"] == envelope("Seeded request failure.")
