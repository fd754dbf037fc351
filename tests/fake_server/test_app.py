"""The handler (fake_server.app) through `handle()`: routes, auth, tenants, faults, Idempotency-Key, headers."""

from __future__ import annotations

import json
import threading

import pytest

from fake_server import DropConnection, FakeBatchesAPI, ManualClock
from fake_server.app import ROUTES, App, resolve
from fake_server.backend import Backend
from fake_server.errors import ApiError
from fake_server.faults import FaultPlan
from fake_server.request_log import RequestLog
from fake_server.wire import Request
from tests.concurrency import run_concurrently, within
from tests.fake_server.calls import CHAT, KEY, call, chat_lines, create, jsonl, multipart, upload


def test_every_answer_has_a_unique_request_id(fake: FakeBatchesAPI) -> None:
    responses = [call(fake, "GET", "/batches"), call(fake, "GET", "/batches/nope"), call(fake, "GET", "/nowhere")]
    ids = [r.headers["x-request-id"] for r in responses]
    assert len(set(ids)) == 3 and all(i.startswith("req_") for i in ids)
    assert responses[2].status == 404
    assert responses[2].json()["error"]["message"] == "Invalid URL (GET /v1/nowhere)"


def test_missing_key_is_a_401_envelope(fake: FakeBatchesAPI) -> None:
    response = call(fake, "GET", "/batches", key=None)
    assert response.status == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "didn't provide an API key" in error["message"]


def test_only_accepted_keys_pass_and_the_key_is_never_echoed() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys={"sk-good"})
    assert call(fake, "GET", "/batches", key="sk-good").status == 200
    bad = call(fake, "GET", "/batches", key="sk-CANARY-wrong")
    assert bad.status == 401 and bad.json()["error"]["code"] == "invalid_api_key"
    assert b"CANARY" not in bad.read()
    assert all("authorization" not in r.headers for r in fake.requests)


def test_tenants_cannot_see_each_other(fake: FakeBatchesAPI) -> None:
    a, b = {"openai-organization": "org-a"}, {"openai-organization": "org-b", "openai-project": "proj_1"}
    batch = create(fake, chat_lines(1), headers=a)
    assert call(fake, "GET", f"/batches/{batch['id']}", headers=b).status == 404
    assert call(fake, "POST", f"/batches/{batch['id']}/cancel", headers=b).status == 404
    assert call(fake, "GET", "/batches", headers=b).json()["data"] == []
    assert call(fake, "GET", f"/files/{batch['input_file_id']}", headers=b).status == 404
    assert [x["id"] for x in call(fake, "GET", "/batches", headers=a).json()["data"]] == [batch["id"]]
    assert [x["id"] for x in fake.batches(organization="org-a")] == [batch["id"]]
    assert fake.batches(organization="org-b", project="proj_1") == []


def test_a_key_bound_to_an_organization_cannot_reach_another() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys={"sk-a": "org-a"})
    assert call(fake, "GET", "/batches", key="sk-a").headers["openai-organization"] == "org-a"
    other = call(fake, "GET", "/batches", key="sk-a", headers={"openai-organization": "org-b"})
    assert other.status == 401 and other.json()["error"]["code"] == "mismatched_organization"


def test_rate_limit_fault_carries_retry_after_then_clears(fake: FakeBatchesAPI) -> None:
    fake.faults.fail_next(429, times=2, retry_after=3, path="/batches$")
    first = call(fake, "GET", "/batches")
    assert first.status == 429 and first.headers["retry-after"] == "3"
    assert first.json()["error"]["code"] == "rate_limit_exceeded"
    assert call(fake, "GET", "/batches").status == 429
    assert call(fake, "GET", "/batches").status == 200


def test_server_error_fault_by_method(fake: FakeBatchesAPI) -> None:
    fake.faults.fail_next(500, method="POST")
    assert call(fake, "GET", "/batches").status == 200
    failed = call(fake, "POST", "/batches", {"input_file_id": "f", "endpoint": CHAT, "completion_window": "24h"})
    assert failed.status == 500 and failed.json()["error"]["type"] == "server_error"
    assert fake.batches() == []


def test_drop_before_does_nothing_and_drop_after_commit_does_the_work(fake: FakeBatchesAPI) -> None:
    fake.honour_idempotency_key = True
    file_id = upload(fake, jsonl(chat_lines(1))).json()["id"]
    body = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    fake.faults.drop_next(method="POST", path="/batches$")
    with pytest.raises(DropConnection) as before:
        call(fake, "POST", "/batches", body)
    assert not before.value.after_commit and fake.batches() == []
    fake.faults.drop_next(method="POST", path="/batches$", after_commit=True)
    with pytest.raises(DropConnection) as after:
        call(fake, "POST", "/batches", body, headers={"idempotency-key": "k1"})
    assert after.value.after_commit and len(fake.batches()) == 1
    retried = call(fake, "POST", "/batches", body, headers={"idempotency-key": "k1"})
    assert retried.status == 200 and retried.json()["id"] == fake.batches()[0]["id"]
    assert len(fake.batches()) == 1


def test_idempotency_key_is_per_key(fake: FakeBatchesAPI) -> None:
    fake.honour_idempotency_key = True
    file_id = upload(fake, jsonl(chat_lines(1))).json()["id"]
    body = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    first = call(fake, "POST", "/batches", body, headers={"idempotency-key": "a"}).json()
    assert call(fake, "POST", "/batches", body, headers={"idempotency-key": "a"}).json()["id"] == first["id"]
    assert call(fake, "POST", "/batches", body, headers={"idempotency-key": "b"}).json()["id"] != first["id"]




# ---------------------------------------------------------------- routes and headers


def test_the_route_table_is_explicit_and_matches_only_the_api_paths() -> None:
    table = [(route.method, route.parse.__name__) for route in ROUTES]
    assert table == [
        ("POST", "upload_file"), ("GET", "list_files"), ("GET", "retrieve_file"), ("DELETE", "delete_file"),
        ("GET", "download_file"), ("POST", "create_batch"), ("GET", "retrieve_batch"), ("POST", "cancel_batch"),
        ("GET", "list_batches"),
    ]
    route, args = resolve(Request("GET", "/v1/batches/batch_1"))
    assert (route.parse.__name__, args) == ("retrieve_batch", {"batch_id": "batch_1"})
    for path in ("/some/prefix/v1/batches", "/x/y/z/batches", "/v1/batches/", "/batches", "/v1/batches/a/b"):
        with pytest.raises(ApiError) as elsewhere:
            resolve(Request("GET", path))
        assert (elsewhere.value.status, elsewhere.value.message) == (404, f"Invalid URL (GET {path})")
    with pytest.raises(ApiError) as missing:
        resolve(Request("PATCH", "/v1/batches"))
    assert missing.value.status == 404 and missing.value.message == "Invalid URL (PATCH /v1/batches)"


def test_every_answer_carries_the_api_headers(fake: FakeBatchesAPI) -> None:
    for response in (call(fake, "GET", "/batches"), call(fake, "GET", "/batches/nope")):
        assert response.headers["openai-version"] == "2020-10-01"
        assert response.headers["openai-organization"] == "org-fake"
        assert int(response.headers["openai-processing-ms"]) >= 0
    assert call(fake, "GET", "/batches", headers={"openai-organization": "org-x"}).headers[
        "openai-organization"] == "org-x"


def test_an_app_serves_on_its_own_without_the_facade() -> None:
    backend = Backend(ManualClock())
    log = RequestLog(max_recorded=2)
    app = App(backend, FaultPlan(), log, api_keys={"sk-a": ("org-a", "proj_1")})
    assert call(app, "GET", "/batches", key="sk-a").status == 200
    assert backend.batches(("org-a", "proj_1")) == [] and call(app, "GET", "/batches", key="sk-b").status == 401
    wrong = call(app, "GET", "/batches", key="sk-a", headers={"openai-project": "proj_2"})
    assert wrong.status == 401 and wrong.json()["error"]["code"] == "mismatched_project"
    assert len(log) == 2 and [r.status for r in log.entries()] == [401, 401]


# ---------------------------------------------------------------- Idempotency-Key and the lock


def test_concurrent_twins_with_one_key_make_one_batch(fake: FakeBatchesAPI) -> None:
    fake.honour_idempotency_key = True
    file_id = upload(fake, jsonl(chat_lines(2))).json()["id"]
    body = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    answers: list[dict] = []

    def twin() -> None:
        answers.append(call(fake, "POST", "/batches", body, headers={"idempotency-key": "same"}).json())

    run_concurrently([twin] * 16)
    assert len({a["id"] for a in answers}) == 1 and len(fake.batches()) == 1


def test_an_error_is_not_kept_so_the_corrected_request_runs_and_a_server_error_is_not_kept(
        fake: FakeBatchesAPI) -> None:
    fake.honour_idempotency_key = True
    file_id = upload(fake, jsonl(chat_lines(1))).json()["id"]
    body = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    assert call(fake, "POST", "/batches", b"{not json", headers={"idempotency-key": "k"}).status == 400
    wrong = call(fake, "POST", "/batches", {**body, "completion_window": "48h"}, headers={"idempotency-key": "k"})
    assert wrong.status == 400
    corrected = call(fake, "POST", "/batches", body, headers={"idempotency-key": "k"})
    assert corrected.status == 200 and [b["id"] for b in fake.batches()] == [corrected.json()["id"]]
    fake.faults.fail_next(500, method="POST", path="/batches$")
    assert call(fake, "POST", "/batches", body, headers={"idempotency-key": "k2"}).status == 500
    assert call(fake, "POST", "/batches", body, headers={"idempotency-key": "k2"}).status == 200


def test_a_key_reused_with_another_request_is_a_422_and_runs_nothing(fake: FakeBatchesAPI) -> None:
    fake.honour_idempotency_key = True
    file_a = upload(fake, jsonl(chat_lines(1))).json()["id"]
    file_b = upload(fake, jsonl(chat_lines(2))).json()["id"]
    body = {"input_file_id": file_a, "endpoint": CHAT, "completion_window": "24h"}
    first = call(fake, "POST", "/batches", body, headers={"idempotency-key": "k"}).json()
    same = call(fake, "POST", "/batches", json.dumps(body, indent=2, sort_keys=True).encode(),
                headers={"idempotency-key": "k"})
    assert same.status == 200 and same.json()["id"] == first["id"]  # the same parameters, spelt differently
    other_body = {"input_file_id": file_b, "endpoint": "/v1/embeddings", "completion_window": "24h"}
    for method, path, other in (("POST", "/batches", other_body), ("POST", f"/batches/{first['id']}/cancel", None)):
        refused = call(fake, method, path, other, headers={"idempotency-key": "k"})
        assert refused.status == 422, path
        assert refused.json() == {"error": {
            "message": "Keys for idempotent requests can only be used with the same parameters they were first used "
                       "with.", "type": "invalid_request_error", "param": None, "code": None}}
    assert [b["id"] for b in fake.batches()] == [first["id"]] and fake.batches()[0]["status"] == "validating"


def test_an_upload_is_replayed_only_for_the_same_file_name_and_purpose(fake: FakeBatchesAPI) -> None:
    fake.honour_idempotency_key = True
    content = jsonl(chat_lines(1))
    first = upload(fake, content, headers={"idempotency-key": "u"}).json()
    body, ctype = multipart({"purpose": "batch"}, "input.jsonl", content)
    old = ctype.partition("boundary=")[2]  # a retried upload's body has a new boundary (the SDK rebuilds it)
    again = call(fake, "POST", "/files", body.replace(old.encode(), b"retried-boundary-42"),
                 headers={"content-type": ctype.replace(old, "retried-boundary-42"), "idempotency-key": "u"})
    assert again.status == 200 and again.json()["id"] == first["id"]
    for changed in (dict(content=jsonl(chat_lines(7))), dict(content=content, filename="z.jsonl"),
                    dict(content=content, purpose="user_data")):
        assert upload(fake, **{"headers": {"idempotency-key": "u"}, **changed}).status == 422, changed
    assert [f["id"] for f in fake.files()] == [first["id"]]


def test_reset_forgets_kept_answers(fake: FakeBatchesAPI) -> None:
    file_id = upload(fake, jsonl(chat_lines(1))).json()["id"]
    body = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    assert call(fake, "POST", "/batches", body, headers={"idempotency-key": "k"}).status == 200
    fake.reset()
    upload(fake, jsonl(chat_lines(1)))
    again = call(fake, "POST", "/batches", body, headers={"idempotency-key": "k"})
    assert again.status == 200 and [b["id"] for b in fake.batches()] == [again.json()["id"]]  # made, not replayed


def test_a_slow_request_body_does_not_hold_up_other_clients(fake: FakeBatchesAPI) -> None:
    """The JSON body is read before the backend is touched: a client trickling its body in blocks nobody."""
    file_id = upload(fake, jsonl(chat_lines(1))).json()["id"]
    raw = json.dumps({"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}).encode()
    arriving, go = threading.Event(), threading.Event()

    def slow_body():
        yield raw[:10]
        arriving.set()
        go.wait(10)
        yield raw[10:]

    headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
    slow = threading.Thread(target=lambda: fake.handle(Request("POST", "/v1/batches", "", headers, slow_body())))
    slow.start()
    try:
        assert arriving.wait(10)
        assert within(5, lambda: call(fake, "GET", "/batches").status) == 200
        assert within(5, lambda: create(fake, chat_lines(1))["status"]) == "validating"
    finally:
        go.set()
        slow.join(10)
    assert len(fake.batches()) == 2
