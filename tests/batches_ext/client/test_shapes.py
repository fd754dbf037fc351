"""What a 2xx answer must look like: each wrong shape is named, each right one passes untouched (unknown fields
and unknown statuses included). The same checks over the wire: test_transport.py's malformed-answer tests."""

from __future__ import annotations

import pytest

from batches_ext.client import shapes
from batches_ext.errors import APIResponseError, BatchesError

from ..conftest import batch_payload

FILE = {"id": "file-1", "object": "file", "bytes": 3, "created_at": 1, "filename": "in.jsonl", "purpose": "batch",
        "status": "processed", "expires_at": None}


def test_right_shapes_pass_untouched():
    batch = batch_payload(status="some_new_status", extra_field={"kept": True}, usage={"input_tokens": 1},
                          errors={"object": "list", "data": [{"code": "x", "message": "m", "line": 2}]})
    assert shapes.batch(batch) is batch
    assert shapes.file_object(FILE) is FILE
    page = {"object": "list", "data": [FILE], "has_more": False, "first_id": "file-1", "last_id": "file-1"}
    assert shapes.page(page, shapes.file_object) is page
    assert shapes.deleted({"id": "file-1", "deleted": True})["deleted"] is True


@pytest.mark.parametrize(
    ("check", "value", "what"),
    [
        (shapes.file_object, [], "the file is a list, not an object"),
        (shapes.file_object, {**FILE, "id": ""}, "`id` is empty, not a string"),
        (shapes.file_object, {**FILE, "bytes": -1}, "`bytes` is -1, not a count"),
        (shapes.file_object, {**FILE, "bytes": True}, "`bytes` is a boolean, not a count"),
        (shapes.file_object, {**FILE, "created_at": float("nan")}, "`created_at` is nan, not a time in seconds"),
        (shapes.file_object, {**FILE, "filename": 7}, "`filename` is a number, not a string"),
        (shapes.batch, batch_payload(errors={"data": [5]}), "an entry of `errors.data` is a number"),
        (shapes.batch, batch_payload(metadata={"a": 1}), "`metadata` holds a value that is not a string"),
        (shapes.batch, batch_payload(usage=[1]), "`usage` is a list, not an object"),
        (shapes.deleted, {"deleted": "yes"}, "`deleted` is a string, not a boolean"),
    ],
)
def test_each_wrong_shape_is_named(check, value, what):
    with pytest.raises(shapes.ShapeError, match=what.replace("(", r"\(").replace("[", r"\[")):
        check(value)


def test_checked_names_the_call_status_and_request_id():
    with pytest.raises(APIResponseError) as caught:
        shapes.checked(shapes.batch, None, what="GET https://h/v1/batches/b", status=200, request_id="req_7")
    assert str(caught.value) == "malformed answer to GET https://h/v1/batches/b (200, request req_7): the batch is null, not an object"
    assert isinstance(caught.value, BatchesError) and caught.value.request_id == "req_7"
