"""The Files endpoints through the handler: upload rules, listing, download, delete."""

from __future__ import annotations

import pytest

from fake_server import FakeBatchesAPI, ManualClock, spec
from tests.fake_server.calls import call, chat_lines, jsonl, upload


@pytest.fixture
def fake() -> FakeBatchesAPI:
    return FakeBatchesAPI(clock=ManualClock())


def test_upload_answers_200_with_the_true_byte_count(fake: FakeBatchesAPI) -> None:
    content = jsonl(chat_lines(3))
    response = upload(fake, content)
    assert response.status == 200
    meta = response.json()
    assert meta["bytes"] == len(content)
    assert meta["object"] == "file" and meta["purpose"] == "batch" and meta["status"] == "processed"
    assert meta["filename"] == "input.jsonl"
    assert meta["expires_at"] == meta["created_at"] + 30 * 86_400
    assert call(fake, "GET", f"/files/{meta['id']}/content").read() == content


@pytest.mark.parametrize(
    ("filename", "purpose", "message"),
    [
        ("input.csv", "batch", "Invalid file format for Batch API. Must be .jsonl"),
        ("input.jsonl", "wrong", "Invalid value: 'wrong'."),
    ],
)
def test_upload_rules(fake: FakeBatchesAPI, filename: str, purpose: str, message: str) -> None:
    response = upload(fake, b"{}\n", filename=filename, purpose=purpose)
    assert response.status == 400
    assert response.json()["error"]["message"].startswith(message)


def test_batch_files_over_50000_lines_are_refused(fake: FakeBatchesAPI) -> None:
    response = upload(fake, b"{}\n" * 50_001)
    assert response.status == 400
    assert "50,000" in response.json()["error"]["message"]
    assert upload(fake, b"{}\n" * 50_000).status == 200


def test_oversized_batch_upload_is_refused_without_storing_it(fake: FakeBatchesAPI, monkeypatch) -> None:
    monkeypatch.setattr(spec, "MAX_BATCH_FILE_BYTES", 1000)
    response = upload(fake, b"x" * 2000)
    assert response.status == 400
    assert response.json()["error"]["message"] == "File is too large."
    assert fake.files() == []


def test_undownloadable_purposes_are_refused(fake: FakeBatchesAPI) -> None:
    file_id = upload(fake, b"data", filename="notes.txt", purpose="user_data").json()["id"]
    response = call(fake, "GET", f"/files/{file_id}/content")
    assert response.status == 400
    assert response.json()["error"]["message"] == "Not allowed to download files of purpose: user_data"


def test_delete_then_404_with_a_message(fake: FakeBatchesAPI) -> None:
    file_id = upload(fake, jsonl(chat_lines(1))).json()["id"]
    assert call(fake, "DELETE", f"/files/{file_id}").json() == {"id": file_id, "object": "file", "deleted": True}
    missing = call(fake, "GET", f"/files/{file_id}")
    assert missing.status == 404
    assert missing.json()["error"] == {
        "message": f"No such File object: {file_id}", "type": "invalid_request_error", "param": "id", "code": None,
    }


def test_list_files_pages_orders_and_filters(fake: FakeBatchesAPI) -> None:
    ids = []
    for _ in range(5):
        ids.append(upload(fake, jsonl(chat_lines(1))).json()["id"])
        fake.advance(1)
    upload(fake, b"x", filename="a.txt", purpose="user_data")
    page = call(fake, "GET", "/files", query="purpose=batch&limit=2").json()
    assert [f["id"] for f in page["data"]] == ids[::-1][:2] and page["has_more"] is True
    rest = call(fake, "GET", "/files", query=f"purpose=batch&after={page['last_id']}").json()
    assert [f["id"] for f in rest["data"]] == ids[::-1][2:] and rest["has_more"] is False
    ascending = call(fake, "GET", "/files", query="purpose=batch&order=asc").json()
    assert [f["id"] for f in ascending["data"]] == ids


def test_batch_outputs_are_listed_files(fake: FakeBatchesAPI) -> None:
    batch = fake.seed_batch("completed", requests=2, failed=1)
    listed = call(fake, "GET", "/files", query="purpose=batch_output").json()["data"]
    assert {f["id"] for f in listed} == {batch["output_file_id"], batch["error_file_id"]}
