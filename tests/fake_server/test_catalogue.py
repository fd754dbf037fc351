"""fake_server.catalogue: only models the Batch API serves, per endpoint, unless the fake is told otherwise."""

from __future__ import annotations

import pytest

from fake_server import FakeBatchesAPI, ManualClock
from fake_server.catalogue import ModelRule
from tests.fake_server.calls import CHAT, chat_lines, create, get

SERVED = {
    "/v1/chat/completions": ["gpt-4o-mini", "gpt-4o-mini-2024-07-18", "gpt-4.1-nano", "gpt-5", "gpt-5.2-2025-12-11",
                             "o3-mini", "o4-mini-2025-04-16", "gpt-3.5-turbo-0125", "gpt-4-turbo-2024-04-09"],
    "/v1/responses": ["gpt-4o", "o3-pro", "gpt-5-codex", "o1-pro-2025-03-19"],
    "/v1/embeddings": ["text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"],
    "/v1/completions": ["gpt-3.5-turbo-instruct", "babbage-002", "davinci-002"],
    "/v1/moderations": ["omni-moderation-latest", "omni-moderation-2024-09-26", "text-moderation-stable"],
    "/v1/images/generations": ["gpt-image-1", "dall-e-3", "gpt-image-1-mini"],
    "/v1/images/edits": ["gpt-image-1", "dall-e-2"],
    "/v1/videos": ["sora-2", "sora-2-pro-2025-10-06"],
}
REFUSED = {
    "/v1/chat/completions": ["nonexistent-model-xyz", "m", "gpt-4o-audio-preview", "gpt-4o-search-preview",
                             "text-embedding-3-small", "o3-pro", "gpt-4o-mini-2024-7-18", "GPT-4O-MINI"],
    "/v1/embeddings": ["gpt-4o-mini", "text-embedding-4"],
    "/v1/images/edits": ["dall-e-3"],
    "/v1/videos": ["sora-1"],
}


@pytest.mark.parametrize("endpoint", list(SERVED))
def test_the_catalogue_serves_each_endpoint_s_models_and_dated_snapshots(endpoint: str) -> None:
    rule = ModelRule()
    assert [m for m in SERVED[endpoint] if not rule.supports(endpoint, m)] == []
    assert [m for m in REFUSED.get(endpoint, []) if rule.supports(endpoint, m)] == []


def test_reserved_names_keep_working_with_catalogue_extras_and_any() -> None:
    for rule in (ModelRule(), ModelRule(["my-*"]), ModelRule("any")):
        assert rule.supports(CHAT, "fake-error-500") and not rule.supports(CHAT, "unsupported-gpt")
    assert ModelRule(["my-*", "ft:gpt-4o-mini:acme"]).supports("/v1/embeddings", "my-embedder")
    assert ModelRule(["ft:gpt-4o-mini:acme"]).supports(CHAT, "ft:gpt-4o-mini:acme")
    assert ModelRule("any").supports(CHAT, "nonexistent-model-xyz") and not ModelRule("any").supports(CHAT, "")
    assert ModelRule(lambda m: m == "only").supports(CHAT, "only") and not ModelRule(lambda m: m == "x").supports(
        CHAT, "fake-error-500")  # a predicate decides alone
    assert ModelRule().supports("/v1/custom-endpoint", "anything")  # a test author's own endpoint
    with pytest.raises(ValueError):
        ModelRule("all")


def test_an_unknown_model_fails_the_batch_with_model_not_found() -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    batch = create(fake, chat_lines(2, model="nonexistent-model-xyz"))
    fake.advance(30)
    failed = get(fake, batch["id"])
    assert failed["status"] == "failed"
    assert failed["errors"]["data"] == [
        {"code": "model_not_found", "param": "body.model", "line": line,
         "message": "The provided model 'nonexistent-model-xyz' is not supported by the Batch API."}
        for line in (1, 2)]


def test_models_extend_or_replace_the_catalogue() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), models=["nonexistent-*"])
    batch = create(fake, chat_lines(1, model="nonexistent-model-xyz"))
    fake.advance(3600)
    assert get(fake, batch["id"])["status"] == "completed"
    fake.models = "any"
    assert fake.models == "any"
    other = create(fake, chat_lines(1, model="made-up"))
    fake.advance(3600)
    assert get(fake, other["id"])["status"] == "completed"


def test_fine_tuned_models_are_served_where_their_base_model_is() -> None:
    rule = ModelRule()
    assert rule.supports(CHAT, "ft:gpt-4o-mini-2024-07-18:my-org:custom:abc123")
    assert rule.supports(CHAT, "ft:gpt-3.5-turbo-0125:my-org::abc123")  # no suffix
    assert rule.supports("/v1/responses", "ft:gpt-4.1-2025-04-14:my-org:custom:abc123")
    assert rule.supports("/v1/completions", "ft:davinci-002:my-org:custom:abc123")
    assert not rule.supports(CHAT, "ft:davinci-002:my-org:custom:abc123")  # its base is not a chat model
    assert not rule.supports("/v1/embeddings", "ft:gpt-4o-mini:my-org:custom:abc123")
    assert not rule.supports(CHAT, "ft:nonexistent-model:my-org:custom:abc123")
    assert not rule.supports(CHAT, "ft:gpt-4o-mini")  # nothing after the base: not a fine-tuned name


def test_a_batch_of_a_fine_tuned_model_completes_by_default() -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    model = "ft:gpt-4o-mini-2024-07-18:my-org:custom:abc123"
    batch = create(fake, chat_lines(2, model=model))
    fake.advance(3600)
    done = get(fake, batch["id"])
    assert (done["status"], done["model"], done["request_counts"]["completed"]) == ("completed", model, 2)
