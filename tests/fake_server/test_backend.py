"""fake_server.backend: every operation called directly, with plain values and no HTTP."""

from __future__ import annotations

import json

import pytest

from fake_server.backend import Backend
from fake_server.clock import ManualClock
from fake_server.errors import ApiError
from fake_server.state import Blob

A = ("org-a", None)
B = ("org-b", "proj_1")
CHAT = "/v1/chat/completions"


def lines(n: int) -> bytes:
    return b"".join(
        json.dumps({"custom_id": f"request-{i}", "method": "POST", "url": CHAT,
                    "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Say {i}"}]}}).encode()
        + b"\n"
        for i in range(1, n + 1)
    )


@pytest.fixture
def backend() -> Backend:
    return Backend(ManualClock())


def new_batch(backend: Backend, tenant=A, n: int = 3) -> dict:
    file_id = backend.upload(tenant, "in.jsonl", "batch", Blob.from_bytes(lines(n)))["id"]
    return backend.create_batch(tenant, endpoint=CHAT, input_file_id=file_id)


def test_upload_retrieve_list_and_delete_a_file(backend: Backend) -> None:
    meta = backend.upload(A, "in.jsonl", "batch", Blob.from_bytes(lines(2)))
    assert meta["object"] == "file" and meta["bytes"] == len(lines(2))
    assert meta["expires_at"] == meta["created_at"] + 30 * 86_400
    assert backend.upload(A, "x.txt", "user_data", Blob.from_bytes(b"x"))["expires_at"] is None
    assert backend.upload(A, "y.jsonl", "batch", Blob.from_bytes(b"{}"), 3600)["expires_at"] == meta["created_at"] + 3600
    assert backend.retrieve_file(A, meta["id"]) == meta
    page = backend.list_files(A, purpose="batch", order="asc")
    assert [f["id"] for f in page["data"]][0] == meta["id"] and page["has_more"] is False
    assert backend.file_for_download(A, meta["id"]).read() == lines(2)
    assert backend.delete_file(A, meta["id"]) == {"id": meta["id"], "object": "file", "deleted": True}
    with pytest.raises(ApiError) as missing:
        backend.retrieve_file(A, meta["id"])
    assert (missing.value.status, missing.value.param) == (404, "id")


def test_undownloadable_purposes_and_bad_list_arguments_are_400s(backend: Backend) -> None:
    file_id = backend.upload(A, "notes.txt", "assistants", Blob.from_bytes(b"x"))["id"]
    with pytest.raises(ApiError, match="Not allowed to download files of purpose: assistants") as refused:
        backend.file_for_download(A, file_id)
    assert refused.value.status == 400
    with pytest.raises(ApiError) as order:
        backend.list_files(A, order="sideways")
    assert (order.value.status, order.value.param, order.value.code) == (400, "order", "invalid_value")
    with pytest.raises(ApiError) as cursor:
        backend.list_batches(A, after="batch_nope")
    assert (cursor.value.status, cursor.value.param) == (400, "after")


def test_create_then_retrieve_follows_the_clock(backend: Backend) -> None:
    batch = new_batch(backend)
    assert batch["status"] == "validating" and batch["request_counts"]["total"] == 0
    backend.clock.advance(10_000)  # type: ignore[attr-defined]
    done = backend.retrieve_batch(A, batch["id"])
    assert done["status"] == "completed" and done["request_counts"] == {"total": 3, "completed": 3, "failed": 0}
    assert done["output_file_id"] in {f["id"] for f in backend.list_files(A)["data"]}


def test_cancel_is_two_steps_then_409_for_finished_batches(backend: Backend) -> None:
    batch = new_batch(backend)
    assert backend.cancel_batch(A, batch["id"])["status"] == "cancelling"
    assert backend.cancel_batch(A, batch["id"])["status"] == "cancelling"  # again: accepted, unchanged
    backend.clock.advance(30)  # type: ignore[attr-defined]
    assert backend.cancel_batch(A, batch["id"])["status"] == "cancelled"
    done = new_batch(backend)
    backend.clock.advance(10_000)  # type: ignore[attr-defined]
    with pytest.raises(ApiError) as conflict:
        backend.cancel_batch(A, done["id"])
    assert conflict.value.status == 409
    assert conflict.value.envelope()["error"]["message"] == "Cannot cancel a batch with status 'completed'."


def test_the_test_author_cancel_shares_the_rule_but_raises_value_error(backend: Backend) -> None:
    done = new_batch(backend)
    backend.clock.advance(10_000)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=f"batch {done['id']} is already 'completed'"):
        backend.cancel(done["id"])
    running = new_batch(backend)
    assert backend.cancel(running["id"])["status"] == "cancelling"
    with pytest.raises(KeyError):
        backend.cancel("batch_nope")


def test_unknown_ids_are_404s(backend: Backend) -> None:
    for operation in (backend.retrieve_batch, backend.cancel_batch, backend.retrieve_file, backend.delete_file,
                      backend.file_for_download):
        with pytest.raises(ApiError) as missing:
            operation(A, "nope")
        assert missing.value.status == 404, operation


def test_list_batches_is_newest_first_and_pages_by_id(backend: Backend) -> None:
    ids = [new_batch(backend, n=1)["id"] for _ in range(5)]
    first = backend.list_batches(A, limit=2)
    assert [b["id"] for b in first["data"]] == ids[::-1][:2] and first["has_more"] is True
    rest = backend.list_batches(A, limit=10, after=first["last_id"])
    assert [b["id"] for b in rest["data"]] == ids[::-1][2:] and rest["has_more"] is False


def test_tenants_are_apart(backend: Backend) -> None:
    batch = new_batch(backend, A)
    with pytest.raises(ApiError) as other:
        backend.retrieve_batch(B, batch["id"])
    assert other.value.status == 404
    with pytest.raises(ApiError):
        backend.retrieve_file(B, batch["input_file_id"])
    assert backend.list_batches(B)["data"] == [] and backend.list_files(B)["data"] == []
    assert [b["id"] for b in backend.batches(A)] == [batch["id"]] and backend.batches(B) == []
    assert [b["id"] for b in backend.batches()] == [batch["id"]]  # None: every tenant
    assert backend.batch(batch["id"])["id"] == batch["id"]  # test-author reads find it in any tenant


def test_a_missing_input_file_fails_the_batch_later_naming_the_tenant(backend: Backend) -> None:
    batch = backend.create_batch(B, endpoint=CHAT, input_file_id="file-elsewhere")
    backend.clock.advance(30)  # type: ignore[attr-defined]
    [error] = backend.retrieve_batch(B, batch["id"])["errors"]["data"]
    assert error["param"] == "file_id" and "org-b" in error["message"]


def test_ids_repeat_for_a_seed_and_reset_forgets_everything(backend: Backend) -> None:
    first = [backend.new_request_id(), new_batch(backend)["id"]]
    assert backend.counts() == (1, 1)
    backend.reset()
    assert backend.counts() == (0, 0) and backend.batches() == []
    assert [backend.new_request_id(), new_batch(backend)["id"]] == first
    assert Backend(ManualClock(), seed=1).new_request_id() != Backend(ManualClock(), seed=0).new_request_id()


def test_seed_and_force_steer_batches_by_id(backend: Backend) -> None:
    seeded = backend.seed_batch(A, "in_progress", requests=4, failed=0, completed=None, endpoint=CHAT,
                                model="gpt-4o-mini", metadata=None, errors=None)
    assert seeded["status"] == "in_progress"
    assert backend.complete(seeded["id"])["status"] == "completed"
    with pytest.raises(ValueError, match="already 'completed'"):
        backend.fail(seeded["id"])
    with pytest.raises(ValueError, match="unknown status"):
        backend.seed_batch(A, "paused", requests=1, failed=0, completed=None, endpoint=CHAT, model="m",
                           metadata=None, errors=None)
    later = new_batch(backend)
    assert backend.advance_until(later["id"], "finalizing")["status"] == "finalizing"


def test_batches_made_from_one_file_share_one_parsed_copy(backend: Backend) -> None:
    file_id = backend.upload(A, "in.jsonl", "batch", Blob.from_bytes(lines(5)))["id"]
    ids = [backend.create_batch(A, endpoint=CHAT, input_file_id=file_id)["id"] for _ in range(3)]
    records = [backend._tenants[A].batches[i] for i in ids]
    assert records[0].parsed is records[1].parsed is records[2].parsed and len(records[0].requests) == 5
    other = backend.create_batch(A, endpoint="/v1/embeddings", input_file_id=file_id)  # another endpoint: its own
    assert backend._tenants[A].batches[other["id"]].parsed is not records[0].parsed
