"""fake_server.line_schemas: each line's body is checked against its endpoint's request schema when it runs;
a malformed body fails that line (a 400 in the error file), not the batch."""

from __future__ import annotations

import pytest

from fake_server import FakeBatchesAPI, ManualClock, spec
from fake_server.line_schemas import BodyError, check_body, known_parameters
from tests.fake_server.calls import CHAT, content_lines, create, get

OK = {"role": "user", "content": "hi"}


@pytest.mark.parametrize(("body", "message", "param", "code"), [
    ({"messages": [{"rolez": "user", "contentz": "x"}]}, "Missing required parameter: 'messages[0].role'.",
     "messages[0].role", "missing_required_parameter"),
    ({"messages": [{"role": "userz", "content": "x"}]}, "Invalid value: 'userz'. Supported values are: 'developer', "
     "'system', 'user', 'assistant', 'tool', and 'function'.", "messages[0].role", "invalid_value"),
    ({"messages": [{"role": "user", "content": 5}]}, "Invalid type for 'messages[0].content': expected a string or "
     "an array, but got an integer instead.", "messages[0].content", "invalid_type"),
    ({"messages": []}, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty "
     "array instead.", "messages", "empty_array"),
    ({"messages": [OK], "stop": ["a", "b", "c", "d", "e"]}, "Invalid 'stop': array too long. Expected an array with "
     "maximum length 4, but got an array with length 5 instead.", "stop", "array_above_max_length"),
    ({"messages": [OK], "safety_identifier": "x" * 65}, "Invalid 'safety_identifier': string too long. Expected a "
     "string with maximum length 64, but got a string with length 65 instead.", "safety_identifier",
     "string_above_max_length"),
    ({"messages": [OK], "temperature": 2.5}, "Invalid 'temperature': decimal above maximum value. Expected a value "
     "<= 2, but got 2.5 instead.", "temperature", "decimal_above_max_value"),
    ({"messages": [OK], "n": 0}, "Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 "
     "instead.", "n", "integer_below_min_value"),
    ({"messages": [OK], "foo": 1}, "Unrecognized request argument supplied: foo", None, None),
    ({"messages": [OK], "response_format": {"type": "json_schema"}},
     "Missing required parameter: 'response_format.json_schema'.", "response_format.json_schema",
     "missing_required_parameter"),
    ({"messages": [OK], "tools": [{"type": "function", "function": {}}]},
     "Missing required parameter: 'tools[0].function.name'.", "tools[0].function.name", "missing_required_parameter"),
])
def test_chat_bodies_are_refused_with_the_api_s_wording(body: dict, message: str, param: str | None,
                                                        code: str | None) -> None:
    with pytest.raises(BodyError) as refused:
        check_body(CHAT, {"model": "gpt-4o-mini", **body})
    assert (refused.value.message, refused.value.param, refused.value.code) == (message, param, code)


@pytest.mark.parametrize("endpoint", list(spec.ENDPOINTS))
def test_every_endpoint_has_its_schema_and_accepts_its_sample_body(endpoint: str) -> None:
    sample = spec.ENDPOINTS[endpoint]
    check_body(endpoint, sample.sample_body(sample.sample_model, "hello"))
    params = known_parameters(endpoint)
    assert params is not None and "model" in params and sample.prompt_key in params
    with pytest.raises(BodyError, match="Unrecognized request argument supplied: colour"):
        check_body(endpoint, {**sample.sample_body(sample.sample_model, "hello"), "colour": "red"})


def test_realistic_bodies_pass() -> None:
    for body in (
        {"model": "gpt-4o", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA="}}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "42"}],
         "temperature": 0, "seed": 7, "max_completion_tokens": 100, "stop": ["\n"], "metadata": {"k": "v"}},
        {"model": "o3-mini", "messages": [{"role": "developer", "content": "x"}, OK], "reasoning_effort": "low"},
    ):
        check_body(CHAT, body)
    check_body("/v1/responses", {"model": "gpt-4.1", "instructions": "x", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "hi"}]}], "reasoning": {"effort": "low"}})
    check_body("/v1/embeddings", {"model": "text-embedding-3-small", "input": [[1, 2, 3], [4]], "dimensions": 8})
    check_body("/v1/custom-endpoint", {"anything": True})  # not in the spec: nothing to check


def test_malformed_lines_fail_in_the_error_file_and_the_batch_completes() -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    lines = [
        {"custom_id": "good", "method": "POST", "url": CHAT, "body": {"model": "gpt-4o-mini", "messages": [OK]}},
        {"custom_id": "bad", "method": "POST", "url": CHAT,
         "body": {"model": "gpt-4o-mini", "messages": [{"rolez": "user", "contentz": "x"}]}},
        {"custom_id": "extra", "method": "POST", "url": CHAT,
         "body": {"model": "gpt-4o-mini", "messages": [OK], "colour": "red"}},
    ]
    batch = create(fake, lines)
    fake.advance(30)  # validation looks only at the whole-batch rules: the batch runs
    assert get(fake, batch["id"])["status"] == "in_progress"
    fake.advance(3600)
    done = get(fake, batch["id"])
    assert done["status"] == "completed" and done["request_counts"] == {"total": 3, "completed": 1, "failed": 2}
    errors = {line["custom_id"]: line for line in content_lines(fake, done["error_file_id"])}
    assert errors["bad"]["error"] is None and errors["bad"]["response"]["status_code"] == 400
    assert errors["bad"]["response"]["body"] == {"error": {
        "message": "Missing required parameter: 'messages[0].role'.", "type": "invalid_request_error",
        "param": "messages[0].role", "code": "missing_required_parameter"}}
    assert errors["extra"]["response"]["body"]["error"] == {
        "message": "Unrecognized request argument supplied: colour", "type": "invalid_request_error",
        "param": None, "code": None}
