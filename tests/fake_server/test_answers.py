"""fake_server.answers: every body of every endpoint is what the official SDK's strict models and the spec's
response schemas accept, and it fits the request (structured outputs, tool calls, n, token limits)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import jsonschema_rs
import pytest
from pydantic import BaseModel, Field

from fake_server import FakeBatchesAPI, ManualClock, spec
from fake_server.responders import answer
from tests.fake_server.calls import call, content_lines, create, get

openai = pytest.importorskip("openai", reason="the SDK's models are the judge here")
from openai.types import (  # noqa: E402
    Completion,
    CreateEmbeddingResponse,
    ImagesResponse,
    ModerationCreateResponse,
)
from openai.types.chat import ChatCompletion  # noqa: E402
from openai.types.responses import Response  # noqa: E402
from openai.types.video import Video  # noqa: E402

SDK_MODELS = {"/v1/chat/completions": ChatCompletion, "/v1/responses": Response,
              "/v1/embeddings": CreateEmbeddingResponse, "/v1/completions": Completion,
              "/v1/moderations": ModerationCreateResponse, "/v1/images/generations": ImagesResponse,
              "/v1/images/edits": ImagesResponse, "/v1/videos": Video}
RESPONSES = json.loads((Path(__file__).parent / "schemas" / "responses.json").read_text())
CHAT, RESP = "/v1/chat/completions", "/v1/responses"


class Weather(BaseModel):
    city: str = Field(min_length=2)
    celsius: float = Field(ge=-60, le=60)
    sky: Literal["clear", "cloudy", "rain"]
    hours: list[int] = Field(min_length=1, max_length=24)


WEATHER = Weather.model_json_schema()
STRICT_WEATHER = {**WEATHER, "additionalProperties": False, "required": list(WEATHER["properties"])}
MESSAGES = [{"role": "user", "content": "What is the weather in Paris today?"}]
CHAT_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": STRICT_WEATHER}},
              {"type": "function", "function": {"name": "get_time", "parameters": {
                  "type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}]
RESP_TOOLS = [{"type": "function", "name": "get_weather", "parameters": STRICT_WEATHER, "strict": True}]

#: (endpoint, body) for every endpoint and every feature the answers honour
CASES: list[tuple[str, dict]] = [
    *((url, e.sample_body(e.sample_model, "Hello there")) for url, e in spec.ENDPOINTS.items()),
    (CHAT, {"model": "gpt-4o-mini", "messages": MESSAGES, "response_format": {
        "type": "json_schema", "json_schema": {"name": "weather", "schema": STRICT_WEATHER, "strict": True}}}),
    (CHAT, {"model": "gpt-4o-mini", "messages": MESSAGES, "response_format": {"type": "json_object"}}),
    (CHAT, {"model": "gpt-4o-mini", "messages": MESSAGES, "tools": CHAT_TOOLS, "tool_choice": "required"}),
    (CHAT, {"model": "gpt-4o", "messages": MESSAGES, "tools": CHAT_TOOLS,
            "tool_choice": {"type": "function", "function": {"name": "get_time"}}}),
    (CHAT, {"model": "o3-mini", "messages": MESSAGES, "n": 3, "max_completion_tokens": 20}),
    (CHAT, {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 3, "logprobs": True, "top_logprobs": 2}),
    (CHAT, {"model": "gpt-4.1", "messages": MESSAGES, "tools": CHAT_TOOLS, "tool_choice": "auto"}),
    (RESP, {"model": "gpt-4o-mini", "input": "Weather?", "text": {"format": {
        "type": "json_schema", "name": "weather", "schema": STRICT_WEATHER, "strict": True}}}),
    (RESP, {"model": "gpt-5", "input": MESSAGES, "tools": RESP_TOOLS, "tool_choice": "required"}),
    (RESP, {"model": "gpt-4o-mini", "input": "Weather in Paris today please", "max_output_tokens": 16,
            "instructions": "Be brief.", "temperature": 0.5, "metadata": {"k": "v"}}),
    (RESP, {"model": "gpt-4o-mini", "input": "x", "text": {"format": {"type": "json_object"}}}),
    ("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": ["a b c d", "e"], "n": 2, "max_tokens": 3}),
    # (encoding_format "base64" is left out: the real API then answers base64 strings that neither the spec nor
    # the SDK's model describe; the SDK decodes them before it builds its model. test_responders covers them.)
    ("/v1/embeddings", {"model": "text-embedding-3-large", "input": ["a", "b"], "encoding_format": "float",
                        "dimensions": 4}),
    ("/v1/moderations", {"input": [{"type": "text", "text": "hi"}]}),
    ("/v1/images/generations", {"model": "gpt-image-1", "prompt": "a cat", "n": 3, "size": "1024x1024"}),
    ("/v1/videos", {"model": "sora-2", "prompt": "a cat", "seconds": "8", "size": "1280x720"}),
]


def _spec_errors(endpoint: str, body: Any) -> list[str]:
    validator = jsonschema_rs.validator_for({"$defs": RESPONSES["$defs"], **RESPONSES["endpoints"][endpoint]})
    return [f"{list(e.instance_path)}: {e.message[:200]}" for e in validator.iter_errors(body)]


@pytest.mark.parametrize(("endpoint", "body"), CASES, ids=[f"{e}-{i}" for i, (e, _) in enumerate(CASES)])
def test_every_body_passes_the_sdk_s_strict_models_and_the_spec(endpoint: str, body: dict) -> None:
    status, out = answer(endpoint, "line-1", body, created=1_700_000_000)
    assert status == 200, out
    SDK_MODELS[endpoint].model_validate(out, strict=True)
    assert _spec_errors(endpoint, out) == []


def test_the_vendored_response_schemas_come_from_the_spec() -> None:
    assert set(RESPONSES["endpoints"]) == set(spec.ENDPOINTS) and RESPONSES["source"]["version"]


def test_json_schema_content_satisfies_the_schema_and_repeats_per_custom_id() -> None:
    body = dict(CASES[len(spec.ENDPOINTS)][1])
    contents = {cid: answer(CHAT, cid, body, created=0)[1]["choices"][0]["message"]["content"]
                for cid in ("a", "b", "a")}
    for content in contents.values():
        Weather.model_validate_json(content, strict=True)
    assert len({answer(CHAT, f"c{i}", body, created=0)[1]["choices"][0]["message"]["content"] for i in range(8)}) > 1
    responses_body = {"model": "gpt-4o-mini", "input": "x", "text": {"format": {
        "type": "json_schema", "name": "w", "schema": STRICT_WEATHER, "strict": True}}}
    text = answer(RESP, "a", responses_body, created=0)[1]["output"][0]["content"][0]["text"]
    Weather.model_validate_json(text, strict=True)


def test_json_object_is_a_json_object() -> None:
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "response_format": {"type": "json_object"}}
    assert isinstance(json.loads(answer(CHAT, "a", body, created=0)[1]["choices"][0]["message"]["content"]), dict)


def test_forced_tool_calls_carry_arguments_that_satisfy_the_parameters() -> None:
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "tools": CHAT_TOOLS,
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}
    [choice] = answer(CHAT, "a", body, created=0)[1]["choices"]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    [call_] = choice["message"]["tool_calls"]
    assert call_["type"] == "function" and call_["function"]["name"] == "get_weather"
    Weather.model_validate_json(call_["function"]["arguments"], strict=True)
    required = answer(CHAT, "b", {**body, "tool_choice": "required"}, created=0)[1]["choices"][0]
    assert required["message"]["tool_calls"][0]["function"]["name"] in {"get_weather", "get_time"}
    auto = answer(CHAT, "c", {**body, "tool_choice": "auto"}, created=0)[1]["choices"][0]
    assert "tool_calls" not in auto["message"] and auto["message"]["content"].startswith("Echo: ")
    item = answer(RESP, "d", {"model": "gpt-4o-mini", "input": "x", "tools": RESP_TOOLS,
                              "tool_choice": {"type": "function", "name": "get_weather"}}, created=0)[1]["output"][0]
    assert item["type"] == "function_call" and item["name"] == "get_weather"
    Weather.model_validate_json(item["arguments"], strict=True)


def test_n_choices_and_token_limits_bound_usage() -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "one two three four five six"}],
            "n": 3, "max_tokens": 4}
    out = answer(CHAT, "a", body, created=0)[1]
    assert [c["index"] for c in out["choices"]] == [0, 1, 2]
    assert all(c["finish_reason"] == "length" and len(c["message"]["content"].split()) == 4 for c in out["choices"])
    assert out["usage"]["completion_tokens"] == 12 <= 3 * 4
    reasoning = answer(CHAT, "a", {**body, "model": "o4-mini", "max_tokens": None, "max_completion_tokens": 30},
                       created=0)[1]
    details = reasoning["usage"]["completion_tokens_details"]
    assert details["reasoning_tokens"] == 3 * 16 and reasoning["usage"]["completion_tokens"] <= 3 * 30
    words = " ".join(f"w{i}" for i in range(30))
    cut = answer(RESP, "a", {"model": "gpt-4o-mini", "input": words, "max_output_tokens": 16}, created=0)[1]
    assert cut["status"] == "incomplete" and cut["incomplete_details"] == {"reason": "max_output_tokens"}
    assert cut["usage"]["output_tokens"] == 16
    status, refused = answer(RESP, "a", {"model": "gpt-4o-mini", "input": words, "max_output_tokens": 3}, created=0)
    assert status == 400 and refused["error"]["code"] == "integer_below_min_value"  # the spec's minimum is 16


def test_a_batch_s_usage_sums_chat_and_responses_style_details() -> None:
    def responder(line):
        if line.endpoint == CHAT:
            return {**answer(CHAT, line.custom_id, line.body, created=0)[1], "usage": {
                "prompt_tokens": 100, "completion_tokens": 30, "total_tokens": 130,
                "prompt_tokens_details": {"cached_tokens": 64}, "completion_tokens_details": {"reasoning_tokens": 20}}}
        return None

    fake = FakeBatchesAPI(clock=ManualClock(), responder=responder)
    chat_lines = [{"custom_id": f"c{i}", "method": "POST", "url": CHAT,
                   "body": {"model": "gpt-4o-mini", "messages": MESSAGES}} for i in range(3)]
    batch = create(fake, chat_lines)
    fake.advance(3600)
    assert get(fake, batch["id"])["usage"] == {
        "input_tokens": 300, "input_tokens_details": {"cached_tokens": 192}, "output_tokens": 90,
        "output_tokens_details": {"reasoning_tokens": 60}, "total_tokens": 390}
    fake.responder = None
    responses_lines = [{"custom_id": f"r{i}", "method": "POST", "url": RESP,
                        "body": {"model": "o3", "input": "one two"}} for i in range(2)]
    other = create(fake, responses_lines, endpoint=RESP)
    fake.advance(3600)
    usage = get(fake, other["id"])["usage"]
    assert usage["output_tokens_details"]["reasoning_tokens"] == 2 * 16 and usage["input_tokens"] == 2 * 2


def test_every_result_line_through_a_batch_parses_with_the_strict_sdk() -> None:
    """End to end, through the strict in-process SDK client: each endpoint's batch of sample lines completes
    and every output body is accepted by the SDK's model for it."""
    fake = FakeBatchesAPI(clock=ManualClock())
    client = fake.openai_client()  # strict by default
    for url, endpoint in spec.ENDPOINTS.items():
        lines = [{"custom_id": f"{i}", "method": "POST", "url": url,
                  "body": endpoint.sample_body(endpoint.sample_model, f"Prompt {i}")} for i in range(3)]
        uploaded = client.files.create(file=("in.jsonl", "".join(json.dumps(x) + "\n" for x in lines).encode()),
                                       purpose="batch")
        batch = client.batches.create(input_file_id=uploaded.id, endpoint=url, completion_window="24h")
        fake.advance(3600)
        done = client.batches.retrieve(batch.id)
        assert done.status == "completed" and done.request_counts.completed == 3, (url, done)
        for line in content_lines(fake, done.output_file_id):
            SDK_MODELS[url].model_validate(line["response"]["body"], strict=True)
    assert call(fake, "GET", "/batches").status == 200
