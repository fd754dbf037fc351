"""Authentication: every route answers 401 to a missing, malformed or wrong key without echoing it, and the core
raises one AuthenticationError per call.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
import requests

from batches_ext.client import BatchesClient
from batches_ext.errors import AuthenticationError
from tests.reliability.security.probes import (
    CREATE,
    KEY,
    LINE,
    chain_text,
    secrets_in,
    state_of,
)

BAD_AUTH = {
    "missing": None, "empty": "", "basic": "Basic dXNlcjpwYXNz", "bearer-alone": "Bearer", "bearer-space": "Bearer ",
    "bearer-blank": "Bearer \t  ", "token-scheme": f"Token {KEY}", "key-alone": KEY,
    "wrong": "Bearer sk-wrong-" + uuid.uuid4().hex, "key-prefix": f"Bearer {KEY[:-1]}",
    "key-suffix": f"Bearer {KEY}0", "key-and-junk": f"Bearer {KEY} {KEY}", "other-case": f"Bearer {KEY.upper()}",
}


@pytest.mark.parametrize("authorization", list(BAD_AUTH.values()), ids=list(BAD_AUTH))
def test_missing_malformed_and_wrong_keys_get_401_on_every_route(world, authorization, report) -> None:
    """Routes aimed at real objects (a running batch, a completed one, a file) and real write bodies: the 401
    comes before any lookup or write, in OpenAI's envelope, and no part of the key is echoed or recorded."""
    fake, server, owned = world
    before, counts = state_of(fake, owned), (len(fake.batches()), len(fake.files()))
    running, done = owned["default"]["batches"]
    file_id = owned["default"]["files"][4]
    upload = {"files": {"file": ("x.jsonl", json.dumps(LINE) + "\n")}, "data": {"purpose": "batch"}}
    routes = [("GET", "/batches", {}), ("POST", "/batches", {"json": {**CREATE, "input_file_id": file_id}}),
              ("GET", f"/batches/{running}", {}), ("POST", f"/batches/{running}/cancel", {}),
              ("POST", f"/batches/{done}/cancel", {}), ("GET", "/files", {}), ("POST", "/files", upload),
              ("GET", f"/files/{file_id}", {}), ("DELETE", f"/files/{file_id}", {}),
              ("GET", f"/files/{file_id}/content", {}), ("GET", "/batches/batch_nope", {})]
    headers = {} if authorization is None else {"Authorization": authorization}
    recorded_before = len(fake.requests)
    for method, path, extra in routes:
        answer = requests.request(method, server.base_url + path, headers=headers, **extra)
        assert answer.status_code == 401, (method, path, answer.status_code, answer.text)
        error = answer.json()["error"]
        assert set(answer.json()) == {"error"} and set(error) == {"message", "type", "param", "code"}
        assert error["type"] == "invalid_request_error" and error["param"] is None
        assert error["message"].startswith(("You didn't provide an API key.", "Incorrect API key provided."))
        assert error["code"] in (None, "invalid_api_key")
        assert re.fullmatch(r"req_[0-9a-f]{32}", answer.headers["x-request-id"])
        shown = answer.text + json.dumps(dict(answer.headers))
        assert not [s for s in secrets_in(authorization) if s in shown], (method, path)
    recorded = json.dumps([r.__dict__ for r in fake.requests[recorded_before:]], default=str)
    assert not [s for s in secrets_in(authorization) if s in recorded]
    assert "authorization" not in recorded.lower()
    assert state_of(fake, owned) == before and (len(fake.batches()), len(fake.files())) == counts
    report.add("security", "401 probes", len(routes))


def test_the_core_raises_one_authentication_error_per_call_for_a_wrong_key(world, report) -> None:
    """A wrong key: every core method fails with AuthenticationError after exactly one request (a 401 is never
    retried), and the error names neither the key nor any part of it."""
    fake, server, owned = world
    wrong = "sk-wrong-" + uuid.uuid4().hex
    client = BatchesClient(api_key=wrong, base_url=server.base_url, max_retries=3)
    client.sleep = lambda _: None
    batch_id, file_id = owned["default"]["batches"][0], owned["default"]["files"][0]
    calls = [lambda: client.list_batches(), lambda: client.retrieve_batch(batch_id),
             lambda: client.cancel_batch(batch_id), lambda: client.create_batch(file_id),
             lambda: client.list_files(), lambda: client.retrieve_file(file_id), lambda: client.file_content(file_id),
             lambda: client.delete_file(file_id), lambda: client.upload_file(json.dumps(LINE).encode() + b"\n")]
    for call in calls:
        sent = len(fake.requests)
        with pytest.raises(AuthenticationError) as caught:
            call()
        assert len(fake.requests) == sent + 1 and caught.value.code == "invalid_api_key"
        assert not [s for s in secrets_in(wrong) if s in chain_text(caught.value)]
    client.close()
    report.add("security", "401 probes", len(calls))
