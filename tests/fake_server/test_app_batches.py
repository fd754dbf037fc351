"""The Batches endpoints through the handler: create, lifecycle, results files, cancel, expiry, listing."""

from __future__ import annotations

import pytest

from fake_server import FakeBatchesAPI, ManualClock, Timings
from tests.fake_server.calls import CHAT, call, chat_lines, content_lines, create, get

BATCH_KEYS = {
    "id", "object", "endpoint", "model", "errors", "input_file_id", "completion_window", "status",
    "output_file_id", "error_file_id", "created_at", "in_progress_at", "expires_at", "finalizing_at",
    "completed_at", "failed_at", "expired_at", "cancelling_at", "cancelled_at", "request_counts", "usage",
    "metadata",
}


def test_create_answers_validating_with_every_key(fake: FakeBatchesAPI) -> None:
    batch = create(fake, chat_lines(3), metadata={"job": "demo"})
    assert set(batch) == BATCH_KEYS
    assert batch["status"] == "validating"
    assert batch["id"].startswith("batch_")
    assert batch["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert batch["output_file_id"] is None and batch["error_file_id"] is None and batch["errors"] is None
    assert batch["expires_at"] == batch["created_at"] + 86_400
    assert batch["metadata"] == {"job": "demo"}


def test_status_follows_the_clock_to_completed_with_shuffled_output(fake: FakeBatchesAPI) -> None:
    batch = create(fake, chat_lines(6))
    fake.advance(30)
    running = get(fake, batch["id"])
    assert running["status"] == "in_progress"
    assert running["request_counts"]["total"] == 6
    fake.advance(10)
    assert 0 < get(fake, batch["id"])["request_counts"]["completed"] < 6  # counts climb
    fake.advance(20)
    assert get(fake, batch["id"])["status"] == "finalizing"
    fake.advance(30)
    done = get(fake, batch["id"])
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 6, "completed": 6, "failed": 0}
    assert done["usage"]["total_tokens"] > 0
    assert done["created_at"] < done["in_progress_at"] < done["finalizing_at"] < done["completed_at"]
    output = content_lines(fake, done["output_file_id"])
    ids = [line["custom_id"] for line in output]
    assert sorted(ids) == sorted(f"request-{i}" for i in range(1, 7))
    assert ids != [f"request-{i}" for i in range(1, 7)]  # not input order
    assert all(line["response"]["status_code"] == 200 and line["error"] is None for line in output)
    meta = call(fake, "GET", f"/files/{done['output_file_id']}").json()
    assert meta["purpose"] == "batch_output"
    assert meta["created_at"] == done["completed_at"]
    assert meta["bytes"] == len(call(fake, "GET", f"/files/{done['output_file_id']}/content").read())


def test_stamps_are_set_once_and_kept(fake: FakeBatchesAPI) -> None:
    batch = create(fake, chat_lines(4))
    seen: dict = {}
    for _ in range(40):
        fake.advance(7)
        for name, value in get(fake, batch["id"]).items():
            if name.endswith("_at") and value is not None:
                assert seen.setdefault(name, value) == value


def test_failing_lines_go_to_the_error_file_with_a_filled_response(fake: FakeBatchesAPI) -> None:
    def responder(line):
        from fake_server import LineError

        if line.custom_id == "request-2":
            raise LineError("bad request line", status_code=400)
        return None

    fake.responder = responder
    batch = create(fake, chat_lines(3))
    fake.advance(10_000)
    done = get(fake, batch["id"])
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 3, "completed": 2, "failed": 1}
    [error_line] = content_lines(fake, done["error_file_id"])
    assert error_line["custom_id"] == "request-2"
    assert error_line["error"] is None
    assert error_line["response"]["status_code"] == 400
    assert error_line["response"]["body"]["error"]["message"] == "bad request line"


@pytest.mark.parametrize(
    ("lines", "code", "line_no"),
    [
        ([b"{not json"], "invalid_json_line", 1),
        ([{"method": "POST", "url": CHAT, "body": {"model": "m", "messages": []}}], "missing_required_parameter", 1),
        ([*chat_lines(1), {**chat_lines(1, start=2)[0], "url": "/v1/embeddings"}], "invalid_url", 2),
        ([*chat_lines(2), chat_lines(1)[0]], "duplicate_custom_id", 3),
        ([{**chat_lines(1)[0], "body": {"model": "m", "messages": [], "stream": True}}], "streaming_unsupported", 1),
        ([*chat_lines(1), *chat_lines(1, model="other", start=2)], "mismatched_model", 2),
        (chat_lines(1, model="unsupported-model"), "model_not_found", 1),
    ],
)
def test_bad_input_fails_the_batch_naming_the_line(fake: FakeBatchesAPI, lines, code: str, line_no: int) -> None:
    batch = create(fake, lines)
    fake.advance(30)
    failed = get(fake, batch["id"])
    assert failed["status"] == "failed"
    assert failed["failed_at"] == batch["created_at"] + 30
    assert failed["in_progress_at"] is None
    assert failed["output_file_id"] is None and failed["error_file_id"] is None
    assert failed["errors"]["object"] == "list"
    assert (code, line_no) in {(e["code"], e["line"]) for e in failed["errors"]["data"]}


def test_missing_input_file_fails_later_not_at_create(fake: FakeBatchesAPI) -> None:
    response = call(fake, "POST", "/batches", {"input_file_id": "file-nope", "endpoint": CHAT, "completion_window": "24h"})
    assert response.status == 200
    fake.advance(30)
    [error] = get(fake, response.json()["id"])["errors"]["data"]
    assert error["param"] == "file_id" and error["line"] is None and "file-nope" in error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"endpoint": "/v1/invalid/endpoint"}, "endpoint"),
        ({"completion_window": "48h"}, "completion_window"),
        ({"metadata": {"tags": ["a"]}}, "metadata.tags"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k": "v" * 513}}, "metadata.k"),
        ({"input_file_id": None}, "input_file_id"),
    ],
)
def test_create_time_400s(fake: FakeBatchesAPI, body: dict, param: str) -> None:
    request = {"input_file_id": "file-x", "endpoint": CHAT, "completion_window": "24h", **body}
    response = call(fake, "POST", "/batches", {k: v for k, v in request.items() if v is not None})
    assert response.status == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param and error["type"] == "invalid_request_error"


@pytest.mark.parametrize("advance", [0, 35, 85])  # validating, in_progress, finalizing
def test_cancel_takes_two_steps_and_keeps_partial_output(fake: FakeBatchesAPI, advance: int) -> None:
    batch = create(fake, chat_lines(10))
    fake.advance(advance)
    before = get(fake, batch["id"])["status"]
    cancelling = call(fake, "POST", f"/batches/{batch['id']}/cancel").json()
    assert cancelling["status"] == "cancelling"
    assert cancelling["cancelling_at"] == batch["created_at"] + advance
    assert cancelling["output_file_id"] is None
    fake.advance(30)
    cancelled = get(fake, batch["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"] == cancelling["cancelling_at"] + 30
    finished = cancelled["request_counts"]["completed"]
    if before == "validating":
        assert cancelled["in_progress_at"] is None and cancelled["output_file_id"] is None
    else:
        assert cancelled["in_progress_at"] == batch["created_at"] + 30
        assert len(content_lines(fake, cancelled["output_file_id"])) == finished > 0
    again = call(fake, "POST", f"/batches/{batch['id']}/cancel")
    assert again.status == 200 and again.json()["status"] == "cancelled"


@pytest.mark.parametrize("status", ["completed", "failed", "expired"])
def test_cancelling_a_finished_batch_is_a_409_in_the_real_wording(fake: FakeBatchesAPI, status: str) -> None:
    batch = fake.seed_batch(status)
    response = call(fake, "POST", f"/batches/{batch['id']}/cancel")
    assert response.status == 409
    assert response.json()["error"] == {
        "message": f"Cannot cancel a batch with status '{status}'.",
        "type": "invalid_request_error", "param": None, "code": None,
    }
    assert response.headers["x-request-id"].startswith("req_")


def test_expiry_keeps_finished_lines_and_reports_the_rest_as_batch_expired() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), timings=Timings(per_request=20_000, max_processing=200_000))
    batch = create(fake, chat_lines(8))
    fake.advance(86_400)
    expired = get(fake, batch["id"])
    assert expired["status"] == "expired"
    assert expired["expired_at"] == expired["expires_at"]
    counts = expired["request_counts"]
    assert counts["total"] == 8 and 0 < counts["completed"] < 8
    assert counts["completed"] + counts["failed"] == 8
    errors = content_lines(fake, expired["error_file_id"])
    assert len(errors) == 8 - counts["completed"]
    assert all(e["response"] is None and e["error"]["code"] == "batch_expired" for e in errors)
    assert len(content_lines(fake, expired["output_file_id"])) == counts["completed"]


def test_unknown_batch_is_a_404_envelope(fake: FakeBatchesAPI) -> None:
    response = call(fake, "GET", "/batches/batch_nope")
    assert response.status == 404
    assert "batch_nope" in response.json()["error"]["message"]


def test_list_is_newest_first_with_truthful_cursor_paging(fake: FakeBatchesAPI) -> None:
    ids = [fake.seed_batch("in_progress")["id"] for _ in range(25)]
    newest_first = ids[::-1]
    seen, after = [], None
    while True:
        page = call(fake, "GET", "/batches", query=f"limit=10{'&after=' + after if after else ''}").json()
        seen += [b["id"] for b in page["data"]]
        assert page["first_id"] == page["data"][0]["id"] and page["last_id"] == page["data"][-1]["id"]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == newest_first
    assert len(call(fake, "GET", "/batches", query="limit=0").json()["data"]) == 1  # clamped to 1..100
    assert len(call(fake, "GET", "/batches", query="limit=500").json()["data"]) == 25
    exact = call(fake, "GET", "/batches", query="limit=25").json()
    assert exact["has_more"] is False
    last = call(fake, "GET", "/batches", query=f"after={ids[0]}").json()
    assert last == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    assert call(fake, "GET", "/batches", query="limit=abc").status == 400
    assert call(fake, "GET", "/batches", query="after=batch_unknown").status == 400


def test_reserved_error_models_fail_chosen_lines_of_a_normal_file(fake: FakeBatchesAPI) -> None:
    lines = chat_lines(3)
    lines[1]["body"]["model"] = "fake-error-400"
    batch = create(fake, lines)
    fake.advance(10_000)
    done = get(fake, batch["id"])
    assert done["status"] == "completed" and done["model"] == "gpt-4o-mini"
    assert done["request_counts"] == {"total": 3, "completed": 2, "failed": 1}
    [error] = content_lines(fake, done["error_file_id"])
    assert error["custom_id"] == "request-2" and error["response"]["status_code"] == 400
