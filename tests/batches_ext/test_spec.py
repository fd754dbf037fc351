"""batches_ext.spec holds the Batch API's vocabulary as the reference states it, and the rest of the package
takes it from there (a change in spec changes what build_requests and preflight do)."""

from __future__ import annotations

from batches_ext import spec
from batches_ext.jsonl import build_requests, preflight
from batches_ext.models import Status


def test_the_endpoint_table_is_the_references() -> None:
    assert list(spec.ENDPOINTS) == ["/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions",
                                    "/v1/moderations", "/v1/images/generations", "/v1/images/edits", "/v1/videos"]
    assert {url for url, e in spec.ENDPOINTS.items() if not e.model_required} == {
        "/v1/moderations", "/v1/images/generations", "/v1/images/edits", "/v1/videos"}
    assert spec.ENDPOINTS["/v1/chat/completions"].prompt_key == "messages"
    assert spec.DEFAULT_ENDPOINT in spec.ENDPOINTS and spec.MESSAGE_ENDPOINTS <= set(spec.ENDPOINTS)


def test_limits_and_statuses() -> None:
    assert (spec.MAX_LINES, spec.MAX_BYTES, spec.MAX_EMBEDDING_INPUTS) == (50_000, 200 * 1024 * 1024, 50_000)
    assert (spec.METADATA_MAX_PAIRS, spec.METADATA_MAX_KEY_CHARS, spec.METADATA_MAX_VALUE_CHARS) == (16, 64, 512)
    assert (spec.EXPIRY_MIN_SECONDS, spec.EXPIRY_MAX_SECONDS) == (3_600, 2_592_000)
    assert spec.TERMINAL | spec.CANCELLABLE | {"cancelling"} == set(spec.STATUSES)
    assert Status.TERMINAL is spec.TERMINAL and Status.ALL == set(spec.STATUSES)


def test_every_endpoint_builds_and_preflights_from_the_table() -> None:
    for url, endpoint in spec.ENDPOINTS.items():
        lines = build_requests(["a prompt"], model="some-model", endpoint=url)
        assert lines[0]["body"][endpoint.prompt_key] and lines[0]["url"] == url
        assert preflight(lines, url).ok, url
        del lines[0]["body"][endpoint.prompt_key]
        missing = ["invalid_request"] if endpoint.prompt_required else []  # Responses: a stored prompt will do
        assert [p.code for p in preflight(lines, url).problems] == missing, url
