"""Every JSON object the fake returns validates against OpenAI's own OpenAPI schemas.

The spec types many nullable fields without `null` while the real API sends `null`; the
checker accepts a null wherever a type is expected, and nothing else (issue 2). The schemas come from
the whole spec in ../shared/spec when it sits beside the checkout, else from the Batch + Files subset
vendored in tests/reliability/spec (the same schemas), so the checks always run.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from fake_server import FakeBatchesAPI, ManualClock
from tests.fake_server.calls import call, chat_lines, create, jsonl, upload
from tests.null_allowance import allow_null

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "openapi.json"
SUBSET = Path(__file__).resolve().parents[1] / "reliability" / "spec" / "openai-batch-files-subset.yaml"
STATUSES = ["validating", "in_progress", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled"]


@pytest.fixture(scope="module")
def check():
    spec = json.loads(SPEC.read_text()) if SPEC.exists() else yaml.safe_load(SUBSET.read_text(encoding="utf-8"))
    components = allow_null(copy.deepcopy(spec["components"]))

    def check(name: str, instance: Any) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": components}
        jsonschema.Draft202012Validator(schema).validate(instance)

    return check


def test_allowance_still_rejects_wrong_shapes(check) -> None:
    good = FakeBatchesAPI(clock=ManualClock()).seed_batch("completed")
    check("Batch", good)
    with pytest.raises(jsonschema.ValidationError):
        check("Batch", {**good, "request_counts": {"total": "many"}})
    with pytest.raises(jsonschema.ValidationError):
        check("Batch", {k: v for k, v in good.items() if k != "created_at"})


@pytest.mark.parametrize("status", STATUSES)
def test_batches_in_every_status_conform(check, fake: FakeBatchesAPI, status: str) -> None:
    batch = fake.seed_batch(status, requests=4, failed=1 if status == "completed" else 0, metadata={"k": "v"})
    check("Batch", call(fake, "GET", f"/batches/{batch['id']}").json())


def test_lists_files_and_deletes_conform(check, fake: FakeBatchesAPI) -> None:
    for status in STATUSES:
        fake.seed_batch(status)
    check("ListBatchesResponse", call(fake, "GET", "/batches", query="limit=3").json())
    check("ListBatchesResponse", call(fake, "GET", "/batches", query="limit=100").json())
    file = upload(fake, jsonl(chat_lines(2))).json()
    check("OpenAIFile", file)
    check("ListFilesResponse", call(fake, "GET", "/files").json())
    check("DeleteFileResponse", call(fake, "DELETE", f"/files/{file['id']}").json())
    created = create(fake, chat_lines(2))
    check("Batch", created)
    check("Batch", call(fake, "POST", f"/batches/{created['id']}/cancel").json())


def test_error_envelopes_conform(check, fake: FakeBatchesAPI) -> None:
    fake.faults.fail_next(429, retry_after=1, path="/files$")
    answers = [
        call(fake, "GET", "/batches", key=None),
        call(fake, "GET", "/batches/batch_x"),
        call(fake, "POST", "/batches", {"endpoint": "/v1/nope"}),
        call(fake, "POST", f"/batches/{fake.seed_batch('completed')['id']}/cancel"),
        call(fake, "GET", "/files"),
    ]
    assert [a.status for a in answers] == [401, 404, 400, 409, 429]
    for answer in answers:
        check("ErrorResponse", answer.json())
