"""fake_server.spec: the tables hold what the reference says, and every endpoint is served end to end."""

from __future__ import annotations

import json

import pytest

from fake_server import FakeBatchesAPI, ManualClock, spec
from fake_server.responders import RESPONSE_BUILDERS, default_response
from fake_server.validation import validate_input

URLS = [
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
]


def test_the_endpoints_are_the_create_enum_in_its_order() -> None:
    assert list(spec.ENDPOINTS) == URLS
    assert all(url == endpoint.url for url, endpoint in spec.ENDPOINTS.items())


def test_each_endpoint_names_its_label_prompt_key_and_whether_model_is_required() -> None:
    table = {url: (e.label, e.prompt_key, e.model_required) for url, e in spec.ENDPOINTS.items()}
    assert table == {
        "/v1/responses": ("Responses", "input", True),
        "/v1/chat/completions": ("Chat Completions", "messages", True),
        "/v1/embeddings": ("Embeddings", "input", True),
        "/v1/completions": ("Completions", "prompt", True),
        "/v1/moderations": ("Moderations", "input", False),
        "/v1/images/generations": ("Images", "prompt", False),
        "/v1/images/edits": ("Images", "prompt", False),
        "/v1/videos": ("Videos", "prompt", False),
    }
    assert spec.ENDPOINTS["/v1/chat/completions"].prompt_missing_message == "Messages parameter is required."
    assert spec.ENDPOINTS["/v1/embeddings"].prompt_missing_message == "Input parameter is required."


def test_endpoints_are_frozen() -> None:
    with pytest.raises(AttributeError):
        spec.ENDPOINTS["/v1/videos"].label = "x"  # type: ignore[misc]


def test_limits_and_lifetimes_are_the_reference_numbers() -> None:
    assert spec.MAX_REQUESTS == 50_000 and spec.MAX_EMBEDDING_INPUTS == 50_000
    assert spec.MAX_BATCH_FILE_BYTES == 200 * 1024 * 1024 and spec.MAX_FILE_BYTES == 512 * 1024 * 1024
    assert (spec.METADATA_MAX_PAIRS, spec.METADATA_MAX_KEY_CHARS, spec.METADATA_MAX_VALUE_CHARS) == (16, 64, 512)
    assert (spec.EXPIRY_MIN_SECONDS, spec.EXPIRY_MAX_SECONDS) == (3_600, 2_592_000)
    assert spec.BATCH_FILE_SECONDS == spec.OUTPUT_FILE_SECONDS == 30 * 86_400
    assert spec.WINDOW_SECONDS == 86_400 and spec.COMPLETION_WINDOWS == ("24h",)
    assert spec.LIST_BATCHES_LIMIT == spec.ListLimit(low=1, high=100, default=20)
    assert spec.LIST_FILES_LIMIT == spec.ListLimit(low=1, high=10_000, default=10_000)
    assert spec.PURPOSES == ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
    assert set(spec.UNDOWNLOADABLE_PURPOSES) == {"assistants", "user_data"}


def test_statuses() -> None:
    assert set(spec.STATUSES) == {"validating", "failed", "in_progress", "finalizing", "completed", "expired",
                                  "cancelling", "cancelled"}
    assert spec.TERMINAL == {"completed", "failed", "expired", "cancelled"}
    assert spec.CANCELLABLE == {"validating", "in_progress", "finalizing"}
    assert spec.TERMINAL <= set(spec.STATUSES) and not spec.TERMINAL & spec.CANCELLABLE
    assert spec.RESERVED_MODEL_PREFIX == "fake-error-"


@pytest.mark.parametrize("url", URLS)
def test_each_endpoint_has_a_response_builder_and_a_valid_sample_body(url: str) -> None:
    assert url in RESPONSE_BUILDERS
    body = spec.ENDPOINTS[url].sample_body("gpt-4o-mini", "Say hi")
    assert isinstance(default_response(url, body, "request-1"), dict)
    line = {"custom_id": "request-1", "method": "POST", "url": url, "body": body}
    assert validate_input([json.dumps(line).encode()], url).errors == []


@pytest.mark.parametrize("url", URLS)
def test_seed_batch_serves_every_endpoint(url: str) -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    batch = fake.seed_batch("completed", requests=2, endpoint=url)
    assert batch["status"] == "completed" and batch["endpoint"] == url
    assert batch["request_counts"] == {"total": 2, "completed": 2, "failed": 0}


@pytest.mark.parametrize("url", [url for url in URLS if url != "/v1/responses"])
def test_a_line_without_the_prompt_key_names_it(url: str) -> None:
    endpoint = spec.ENDPOINTS[url]
    body = endpoint.sample_body("gpt-4o-mini", "x")
    del body[endpoint.prompt_key]
    line = {"custom_id": "r", "method": "POST", "url": url, "body": body}
    [error] = validate_input([json.dumps(line).encode()], url).errors
    assert (error["code"], error["param"], error["message"]) == (
        "invalid_request", f"body.{endpoint.prompt_key}", endpoint.prompt_missing_message)


@pytest.mark.parametrize("body", [
    {"model": "gpt-4.1", "prompt": {"id": "pmpt_123"}},  # a stored prompt
    {"model": "gpt-4.1", "instructions": "hi"},
])
def test_a_responses_line_without_input_is_answered_not_a_failed_batch(body: dict) -> None:
    """CreateResponse requires no `input`: such a line must not fail the whole batch."""
    assert spec.ENDPOINTS["/v1/responses"].prompt_required is False
    fake = FakeBatchesAPI(clock=ManualClock())
    line = {"custom_id": "r1", "method": "POST", "url": "/v1/responses", "body": body}
    batch = fake.create_batch(fake.upload([line])["id"], endpoint="/v1/responses")
    fake.advance(86_400)
    batch = fake.batch(batch["id"])
    assert batch["status"] == "completed" and batch["errors"] is None
    assert batch["request_counts"] == {"total": 1, "completed": 1, "failed": 0}
    [result] = [json.loads(x) for x in fake.file_content(batch["output_file_id"]).splitlines()]
    assert result["response"]["status_code"] == 200 and result["response"]["body"]["object"] == "response"
