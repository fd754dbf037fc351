"""Per-line answers: deterministic well-formed defaults, reserved failing models, user responders."""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_server.responders import LineError, RequestLine, answer, default_response

CREATED = 1_700_000_030
CHAT_BODY = {"model": "gpt-4o-mini", "messages": [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "first question"},
    {"role": "assistant", "content": "first answer"},
    {"role": "user", "content": [{"type": "text", "text": "What is two plus two?"},
                                 {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
]}
ENVELOPE_KEYS = {"message", "type", "param", "code"}


def test_chat_echoes_the_last_user_message_with_usage() -> None:
    body = default_response("/v1/chat/completions", CHAT_BODY, "request-1", created=CREATED)
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["created"] == CREATED and body["model"] == "gpt-4o-mini"
    [choice] = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "Echo: What is two plus two?"
    usage = body["usage"]
    assert usage["completion_tokens"] == 6
    assert usage["prompt_tokens"] == 3 + 2 + 2 + 5
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    json.dumps(body)


def test_chat_echo_is_cut_at_200_characters() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x" * 1000}]}
    content = default_response("/v1/chat/completions", body, "a")["choices"][0]["message"]["content"]
    assert content == "Echo: " + "x" * 200


def test_defaults_are_deterministic_and_ids_differ_per_line() -> None:
    a1 = default_response("/v1/chat/completions", CHAT_BODY, "a", created=CREATED)
    a2 = default_response("/v1/chat/completions", json.loads(json.dumps(CHAT_BODY)), "a", created=CREATED)
    b = default_response("/v1/chat/completions", CHAT_BODY, "b", created=CREATED)
    assert a1 == a2
    assert a1["id"] != b["id"]
    assert a1["choices"] == b["choices"]


@pytest.mark.parametrize("dimensions", [None, 3, 256])
def test_embeddings_are_unit_vectors_seeded_by_each_input(dimensions: int | None) -> None:
    body: dict[str, Any] = {"model": "text-embedding-3-small", "input": ["red apple", "green pear", "red apple"]}
    if dimensions:
        body["dimensions"] = dimensions
    out = default_response("/v1/embeddings", body, "e1")
    assert out["object"] == "list" and out["model"] == "text-embedding-3-small"
    assert [d["index"] for d in out["data"]] == [0, 1, 2]
    assert all(d["object"] == "embedding" for d in out["data"])
    vectors = [d["embedding"] for d in out["data"]]
    assert all(len(v) == (dimensions or 8) for v in vectors)
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-6) for v in vectors)
    assert vectors[0] == vectors[2] != vectors[1]  # same text, same vector, in any line
    assert vectors[0] == default_response("/v1/embeddings", {**body, "input": "red apple"}, "other")["data"][0]["embedding"]
    assert out["usage"] == {"prompt_tokens": 6, "total_tokens": 6}


def test_embeddings_of_token_arrays_and_base64() -> None:
    out = default_response("/v1/embeddings", {"model": "m", "input": [1, 2, 3]}, "e")
    assert len(out["data"]) == 1 and out["usage"]["prompt_tokens"] == 3
    out = default_response("/v1/embeddings", {"model": "m", "input": [[1, 2], [3]]}, "e")
    assert len(out["data"]) == 2
    plain = default_response("/v1/embeddings", {"model": "m", "input": "hi"}, "e")["data"][0]["embedding"]
    packed = default_response("/v1/embeddings", {"model": "m", "input": "hi", "encoding_format": "base64"}, "e")
    decoded = struct.unpack("<8f", base64.b64decode(packed["data"][0]["embedding"]))
    assert all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7) for a, b in zip(decoded, plain, strict=True))


@pytest.mark.parametrize("dimensions", [0, -1, "8", 10**9, True])
def test_embeddings_with_bad_dimensions_fail_the_line(dimensions: Any) -> None:
    status, body = answer("/v1/embeddings", "e", {"model": "m", "input": "x", "dimensions": dimensions}, created=0)
    assert status == 400 and body["error"]["param"] == "dimensions"


def test_responses_shape_and_usage() -> None:
    body = {"model": "gpt-4.1", "instructions": "be brief",
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "hello there"}]}]}
    out = default_response("/v1/responses", body, "r1", created=CREATED)
    assert out["object"] == "response" and out["id"].startswith("resp_") and out["status"] == "completed"
    assert out["created_at"] == CREATED and out["model"] == "gpt-4.1"
    [message] = out["output"]
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["content"] == [{"type": "output_text", "text": "Echo: hello there", "annotations": [],
                                   "logprobs": []}]  # the spec's OutputTextContent requires logprobs
    usage = out["usage"]
    assert set(usage) == {"input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details",
                          "total_tokens"}
    assert usage["input_tokens"] == 4 and usage["output_tokens"] == 3 and usage["total_tokens"] == 7
    assert usage["input_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 0}  # the SDK requires both
    assert usage["output_tokens_details"] == {"reasoning_tokens": 0}
    assert default_response("/v1/responses", {"model": "m", "input": "plain text"}, "r")["output"][0]["content"][0][
        "text"] == "Echo: plain text"


def test_completions_one_choice_per_prompt() -> None:
    out = default_response("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": ["a b", "c"]}, "c1",
                           created=CREATED)
    assert out["object"] == "text_completion" and out["id"].startswith("cmpl-") and out["created"] == CREATED
    assert [c["text"] for c in out["choices"]] == ["Echo: a b", "Echo: c"]
    assert all(c["logprobs"] is None and c["finish_reason"] == "stop" for c in out["choices"])
    assert out["usage"] == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}


def test_moderations_one_unflagged_result_per_input() -> None:
    out = default_response("/v1/moderations", {"input": ["a", "b"]}, "m1")
    assert out["id"].startswith("modr-") and out["model"] == "omni-moderation-latest"
    assert len(out["results"]) == 2
    for result in out["results"]:
        assert result["flagged"] is False
        assert set(result["categories"]) == set(result["category_scores"])
        assert not any(result["categories"].values())
        assert all(0 <= s < 0.01 for s in result["category_scores"].values())
    multimodal = [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "https://x"}}]
    out = default_response("/v1/moderations", {"model": "omni-moderation-latest", "input": multimodal}, "m2")
    assert len(out["results"]) == 1


def test_images_return_b64_pngs() -> None:
    out = default_response("/v1/images/generations", {"model": "gpt-image-1", "prompt": "a cat", "n": 2}, "i",
                           created=CREATED)
    assert out["created"] == CREATED and len(out["data"]) == 2
    assert base64.b64decode(out["data"][0]["b64_json"]).startswith(b"\x89PNG")


def test_unknown_endpoint_is_a_404_line() -> None:
    status, body = answer("/v1/nope", "x", {"model": "m"}, created=0)
    assert status == 404 and set(body["error"]) == ENVELOPE_KEYS


@pytest.mark.parametrize(
    ("model", "status", "kind", "code"),
    [
        ("fake-error-400", 400, "invalid_request_error", "invalid_request"),
        ("fake-error-429", 429, "requests", "rate_limit_exceeded"),
        ("fake-error-500", 500, "server_error", None),
        ("fake-error-404", 404, "invalid_request_error", None),
        ("fake-error-503", 503, "server_error", None),
    ],
)
def test_reserved_models_fail_the_line(model: str, status: int, kind: str, code: str | None) -> None:
    for endpoint, extra in [("/v1/chat/completions", {"messages": []}), ("/v1/embeddings", {"input": "x"})]:
        got_status, body = answer(endpoint, "x", {"model": model, **extra}, created=0)
        assert got_status == status
        assert body == {"error": {"message": f"{model}: this request was rejected by the fake", "type": kind,
                                  "param": None, "code": code}}


def test_models_that_only_look_reserved_answer_normally() -> None:
    for model in ["fake-error-200", "fake-error-4000", "my-fake-error-400"]:
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
        assert answer("/v1/chat/completions", "x", body, created=0)[0] == 200


def test_line_error_envelope_has_four_keys_with_explicit_nulls() -> None:
    err = LineError("nope")
    assert (err.status_code, err.type, err.code, err.param) == (400, "invalid_request_error", None, None)
    assert err.envelope() == {"error": {"message": "nope", "type": "invalid_request_error", "param": None,
                                        "code": None}}
    assert str(err) == "nope"


def test_responder_receives_a_request_line_and_its_dict_wins() -> None:
    seen: list[RequestLine] = []

    def responder(line: RequestLine) -> dict:
        seen.append(line)
        return {"custom": line.custom_id}

    assert answer("/v1/chat/completions", "c1", CHAT_BODY, created=0, responder=responder) == (200, {"custom": "c1"})
    assert seen == [RequestLine("c1", "/v1/chat/completions", CHAT_BODY)]
    assert seen[0].model == "gpt-4o-mini"
    with pytest.raises(AttributeError):
        seen[0].custom_id = "other"  # type: ignore[misc]


def test_responder_tuple_none_and_line_error() -> None:
    def responder(line: RequestLine) -> Any:
        if line.custom_id == "tuple":
            return 422, {"error": {"message": "m", "type": "t", "param": None, "code": None}}
        if line.custom_id == "raise":
            raise LineError("slow down", status_code=429, type="requests", code="rate_limit_exceeded")
        return None

    assert answer("/v1/chat/completions", "tuple", CHAT_BODY, created=0, responder=responder)[0] == 422
    status, body = answer("/v1/chat/completions", "raise", CHAT_BODY, created=0, responder=responder)
    assert status == 429 and body["error"]["code"] == "rate_limit_exceeded"
    status, body = answer("/v1/chat/completions", "none", CHAT_BODY, created=CREATED, responder=responder)
    assert status == 200
    assert body == default_response("/v1/chat/completions", CHAT_BODY, "none", created=CREATED)


def test_responder_none_still_honours_reserved_models() -> None:
    status, _ = answer("/v1/chat/completions", "x", {"model": "fake-error-500", "messages": []}, created=0,
                       responder=lambda line: None)
    assert status == 500


@pytest.mark.parametrize("returned", ["text", 42, (200,), ("200", {}), (200, "body"), [200, {}], (True, {})])
def test_responder_returning_nonsense_is_a_500(returned: Any) -> None:
    status, body = answer("/v1/chat/completions", "x", CHAT_BODY, created=0, responder=lambda line: returned)
    assert status == 500 and body["error"]["type"] == "server_error" and set(body["error"]) == ENVELOPE_KEYS


def test_responder_exceptions_never_propagate() -> None:
    def responder(line: RequestLine) -> dict:
        raise KeyError("boom")

    status, body = answer("/v1/chat/completions", "x", CHAT_BODY, created=0, responder=responder)
    assert status == 500
    assert body["error"]["type"] == "server_error" and "KeyError" in body["error"]["message"]


body_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=15,
)
bodies = st.fixed_dictionaries({}, optional={
    "model": st.text(max_size=15) | body_values, "messages": body_values, "input": body_values,
    "prompt": body_values, "dimensions": body_values, "n": body_values, "encoding_format": body_values,
    "instructions": body_values,
})
endpoints = st.sampled_from(["/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/completions",
                             "/v1/moderations", "/v1/images/generations", "/v1/videos"])


@settings(max_examples=400, deadline=None)
@given(endpoints, st.text(max_size=10), bodies)
def test_answer_never_raises_and_is_json_and_deterministic(endpoint: str, custom_id: str, body: dict) -> None:
    status, out = answer(endpoint, custom_id, body, created=CREATED)
    assert isinstance(status, int) and isinstance(out, dict)
    if status != 200:
        assert set(out["error"]) == ENVELOPE_KEYS
    assert json.loads(json.dumps(out)) == json.loads(json.dumps(answer(endpoint, custom_id, body, created=CREATED)[1]))
