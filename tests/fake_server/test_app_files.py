"""The Files endpoints through the handler: upload rules, listing, download, delete."""

from __future__ import annotations

import pytest

from fake_server import FakeBatchesAPI, spec
from tests.fake_server.calls import CHAT, call, chat_lines, jsonl, multipart, upload


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


def test_a_listing_that_deletes_as_it_goes_pages_on_past_the_deleted_cursor(fake: FakeBatchesAPI) -> None:
    """The SDK pages with `after=<last id of the page>`; a cleanup loop has just deleted that file."""
    ids = [upload(fake, jsonl(chat_lines(1))).json()["id"] for _ in range(5)]
    seen: list[str] = []
    query = "purpose=batch&limit=2"
    while True:
        page = call(fake, "GET", "/files", query=query)
        assert page.status == 200, page.json()
        data = page.json()["data"]
        for item in data:
            seen.append(item["id"])
            assert call(fake, "DELETE", f"/files/{item['id']}").status == 200
        if not page.json()["has_more"]:
            break
        query = f"purpose=batch&limit=2&after={data[-1]['id']}"
    assert seen == ids[::-1] and fake.files() == []


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_deleted_or_expired_cursor_keeps_its_place_and_a_foreign_id_stays_a_400(fake: FakeBatchesAPI,
                                                                                 order: str) -> None:
    ids = [upload(fake, jsonl(chat_lines(1))).json()["id"] for _ in range(3)]
    short = _upload_expiring(fake, **{"expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"})
    ids += [short.json()["id"]] + [upload(fake, jsonl(chat_lines(1))).json()["id"] for _ in range(2)]
    listed = ids if order == "asc" else ids[::-1]
    call(fake, "DELETE", f"/files/{ids[1]}")
    fake.advance(3600)  # ids[3] expires
    for gone in (ids[1], ids[3]):
        page = call(fake, "GET", "/files", query=f"order={order}&after={gone}").json()
        after = listed[listed.index(gone) + 1:]
        assert [f["id"] for f in page["data"]] == [i for i in after if i not in (ids[1], ids[3])]
    upload(fake, jsonl(chat_lines(1)), headers={"openai-organization": "org-other"})
    other = call(fake, "GET", "/files", query=f"after={ids[1]}", headers={"openai-organization": "org-other"})
    never = call(fake, "GET", "/files", query="after=file-never")
    for refused in (other, never):
        assert refused.status == 400 and refused.json()["error"]["param"] == "after"


def test_batch_outputs_are_listed_files(fake: FakeBatchesAPI) -> None:
    batch = fake.seed_batch("completed", requests=2, failed=1)
    listed = call(fake, "GET", "/files", query="purpose=batch_output").json()["data"]
    assert {f["id"] for f in listed} == {batch["output_file_id"], batch["error_file_id"]}


# ---------------------------------------------------------------- issue 13: uploads, expiry


def test_a_batch_upload_without_an_extension_is_accepted_when_it_is_jsonl(fake: FakeBatchesAPI) -> None:
    """The official SDK names in-memory bytes `upload`; instructor and curator upload that way."""
    accepted = upload(fake, jsonl(chat_lines(2)), filename="upload")
    assert accepted.status == 200 and accepted.json()["filename"] == "upload"
    for name, content in (("upload", b"not json\n"), ("upload", b"[1, 2]\n"), ("data", b"")):
        refused = upload(fake, content, filename=name)
        assert refused.status == 400, (name, content)
        assert refused.json()["error"] == {"message": "Invalid file format for Batch API. Must be .jsonl",
                                           "type": "invalid_request_error", "param": None, "code": None}


@pytest.mark.parametrize("filename", ["input.txt", "input.csv", "input.json", "input.jsonl.txt"])
def test_another_extension_is_refused_with_the_real_message_and_param_null(fake: FakeBatchesAPI,
                                                                           filename: str) -> None:
    refused = upload(fake, jsonl(chat_lines(1)), filename=filename)
    assert refused.status == 400 and refused.json()["error"]["param"] is None
    assert refused.json()["error"]["message"] == "Invalid file format for Batch API. Must be .jsonl"


@pytest.mark.parametrize("cut", [b"--testboundary7MA4YWxkTrZu0gW--\r\n", b"\r\n--testboundary7MA4YWxkTrZu0gW--\r\n"])
def test_a_multipart_body_without_its_closing_boundary_is_invalid_not_too_large(fake: FakeBatchesAPI,
                                                                               cut: bytes) -> None:
    body, ctype = multipart({"purpose": "batch"}, "input.jsonl", b'{"a": 1}\n')  # a tiny file
    assert body.endswith(cut)
    refused = call(fake, "POST", "/files", body[: -len(cut)], headers={"content-type": ctype})
    assert refused.status == 400
    assert refused.json()["error"]["message"] == "Invalid multipart/form-data body."
    assert fake.files() == []


def _upload_expiring(fake: FakeBatchesAPI, **fields: str):
    body, ctype = multipart({"purpose": "batch", **fields}, "input.jsonl", jsonl(chat_lines(1)))
    return call(fake, "POST", "/files", body, headers={"content-type": ctype})


@pytest.mark.parametrize(("fields", "param", "code"), [
    ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "10"}, "expires_after.seconds",
     "integer_below_min_value"),
    ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "2592001"}, "expires_after.seconds",
     "integer_above_max_value"),
    ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "1.5h"}, "expires_after.seconds",
     "invalid_type"),
    ({"expires_after[anchor]": "bogus", "expires_after[seconds]": "3600"}, "expires_after.anchor", "invalid_value"),
    ({"expires_after[seconds]": "3600"}, "expires_after.anchor", "missing_required_parameter"),
    ({"expires_after[anchor]": "created_at"}, "expires_after.seconds", "missing_required_parameter"),
])
def test_expires_after_is_validated_with_real_shaped_400s(fake: FakeBatchesAPI, fields: dict, param: str,
                                                          code: str) -> None:
    refused = _upload_expiring(fake, **fields)
    assert refused.status == 400
    error = refused.json()["error"]
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")
    assert fake.files() == []


@pytest.mark.parametrize("seconds", ["3600.5", "1h", "1e4"])
def test_expires_after_seconds_that_is_not_an_integer_says_so_plainly(fake: FakeBatchesAPI, seconds: str) -> None:
    refused = _upload_expiring(fake, **{"expires_after[anchor]": "created_at", "expires_after[seconds]": seconds})
    assert refused.json()["error"]["message"] == "Invalid type for 'expires_after.seconds': expected an integer."


def test_files_past_their_expiry_are_gone_everywhere(fake: FakeBatchesAPI) -> None:
    short = _upload_expiring(fake, **{"expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"}).json()
    default = upload(fake, jsonl(chat_lines(1))).json()
    assert short["expires_at"] == short["created_at"] + 3600
    batch = fake.seed_batch("completed", requests=2)
    kept = call(fake, "POST", "/batches", {"input_file_id": default["id"], "endpoint": CHAT, "completion_window": "24h",
                                           "output_expires_after": {"anchor": "created_at", "seconds": 7200}}).json()
    fake.advance(3600)  # the 1 h upload has expired
    for method, path in (("GET", f"/files/{short['id']}"), ("GET", f"/files/{short['id']}/content"),
                         ("DELETE", f"/files/{short['id']}")):
        assert call(fake, method, path).status == 404, path
    assert short["id"] not in {f["id"] for f in call(fake, "GET", "/files").json()["data"]}
    finished = call(fake, "GET", f"/batches/{kept['id']}").json()
    assert finished["status"] == "completed"
    output = call(fake, "GET", f"/files/{finished['output_file_id']}").json()
    assert output["expires_at"] == finished["completed_at"] + 7200
    fake.advance(output["expires_at"] - fake.clock.now())  # the output's own 2 h are up
    assert call(fake, "GET", f"/files/{finished['output_file_id']}/content").status == 404
    assert call(fake, "GET", f"/files/{batch['output_file_id']}").status == 200  # 30 days by default
    fake.advance(30 * 86_400)  # past 30 days: batch inputs and every output are gone
    assert call(fake, "GET", "/files").json()["data"] == []
    assert call(fake, "GET", f"/files/{default['id']}").status == 404
    assert call(fake, "GET", f"/batches/{kept['id']}").json()["input_file_id"] == default["id"]  # batches stay
