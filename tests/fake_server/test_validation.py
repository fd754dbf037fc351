"""Input-file validation: every offending line reported with the API's codes, messages and params."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_server.spec import MAX_EMBEDDING_INPUTS, MAX_REQUESTS
from fake_server.validation import ValidationResult, missing_file_error, validate_input

CHAT = "/v1/chat/completions"
ERROR_KEYS = {"code", "message", "param", "line"}


def chat(i: int = 1, model: str = "gpt-4o-mini", **over: Any) -> dict:
    line = {"custom_id": f"request-{i}", "method": "POST", "url": CHAT,
            "body": {"model": model, "messages": [{"role": "user", "content": f"Say {i}"}]}}
    line.update(over)
    return line


def enc(*objs: Any) -> list[bytes]:
    return [o if isinstance(o, bytes) else json.dumps(o).encode() for o in objs]


def codes(result: ValidationResult) -> list[tuple[str, str | None, int | None]]:
    return [(e["code"], e["param"], e["line"]) for e in result.errors]


def test_a_good_file_passes_with_its_requests_and_model() -> None:
    lines = [chat(1), chat(2), chat(3)]
    result = validate_input(enc(*lines), CHAT)
    assert result.errors == [] and result.ok
    assert result.requests == lines
    assert result.model == "gpt-4o-mini"


def test_crlf_line_endings_are_fine() -> None:
    result = validate_input([json.dumps(chat(1)).encode() + b"\r"], CHAT)
    assert result.errors == []


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"   ", b"[1, 2]", b'"a string"', b"42", b"null", b"\xff\xfe{}", b"NaN",
     b'{"custom_id": "x", "n": NaN}', b"\xef\xbb\xbf" + json.dumps(chat(1)).encode(),
     json.dumps(chat(1)).encode("utf-16"), b"[" * 100_000],
)
def test_unparseable_lines_are_invalid_json_line(raw: bytes) -> None:
    result = validate_input([raw], CHAT)
    assert result.errors == [{"code": "invalid_json_line", "message": "This line is not parseable as valid JSON.",
                              "param": None, "line": 1}]


def test_every_bad_line_is_reported_with_its_1_based_number() -> None:
    lines = enc(chat(1), b"oops", chat(3), b"", chat(5), b"[]")
    result = validate_input(lines, CHAT)
    assert codes(result) == [("invalid_json_line", None, 2), ("invalid_json_line", None, 4),
                             ("invalid_json_line", None, 6)]


@pytest.mark.parametrize("key", ["custom_id", "method", "url", "body"])
@pytest.mark.parametrize("how", ["absent", "null"])
def test_missing_required_parameter(key: str, how: str) -> None:
    line = chat(1)
    if how == "absent":
        del line[key]
    else:
        line[key] = None
    [error] = validate_input(enc(line), CHAT).errors
    assert error == {"code": "missing_required_parameter", "message": f"Missing required parameter: '{key}'.",
                     "param": key, "line": 1}


def test_several_problems_on_one_line_give_one_error_each() -> None:
    result = validate_input(enc({"method": "GET", "url": "/v1/embeddings", "body": {"stream": True}}), CHAT)
    assert codes(result) == [
        ("missing_required_parameter", "custom_id", 1),
        ("invalid_value", "method", 1),
        ("invalid_url", "url", 1),
        ("streaming_unsupported", "body.stream", 1),
        ("invalid_request", "body.model", 1),
        ("invalid_request", "body.messages", 1),
    ]


def test_method_must_be_post() -> None:
    [error] = validate_input(enc(chat(1, method="get")), CHAT).errors
    assert error["code"] == "invalid_value" and error["param"] == "method"
    assert "'get'" in error["message"] and "'POST'" in error["message"]


def test_url_must_equal_the_endpoint() -> None:
    [error] = validate_input(enc(chat(1), chat(2, url="/v1/chat/completions/")), CHAT).errors
    assert error == {"code": "invalid_url", "param": "url", "line": 2,
                     "message": "The URL provided for this request does not match the batch endpoint."}


@pytest.mark.parametrize(
    ("endpoint", "label", "body"),
    [
        (CHAT, "Chat Completions", {"model": "m", "messages": []}),
        ("/v1/responses", "Responses", {"model": "m", "input": "hi"}),
        ("/v1/completions", "Completions", {"model": "m", "prompt": "hi"}),
        ("/v1/embeddings", "Embeddings", {"model": "m", "input": "hi"}),
        ("/v1/moderations", "Moderations", {"input": "hi"}),
    ],
)
def test_streaming_is_refused_with_the_endpoint_label(endpoint: str, label: str, body: dict) -> None:
    line = {"custom_id": "a", "method": "POST", "url": endpoint, "body": {**body, "stream": True}}
    [error] = validate_input(enc(line), endpoint).errors
    assert error == {"code": "streaming_unsupported", "param": "body.stream", "line": 1,
                     "message": f"{label}: Streaming is not supported in the Batch API."}
    line["body"]["stream"] = False
    assert validate_input(enc(line), endpoint).errors == []


@pytest.mark.parametrize(
    ("endpoint", "name", "message"),
    [
        (CHAT, "messages", "Messages parameter is required."),
        ("/v1/embeddings", "input", "Input parameter is required."),
        ("/v1/completions", "prompt", "Prompt parameter is required."),
    ],
)
def test_model_and_endpoint_inputs_are_required(endpoint: str, name: str, message: str) -> None:
    line = {"custom_id": "a", "method": "POST", "url": endpoint, "body": {"temperature": 0}}
    assert validate_input(enc(line), endpoint).errors == [
        {"code": "invalid_request", "message": "Model parameter is required.", "param": "body.model", "line": 1},
        {"code": "invalid_request", "message": message, "param": f"body.{name}", "line": 1},
    ]


def test_a_responses_line_needs_only_its_model() -> None:
    """CreateResponse requires no `input` (a stored prompt or instructions are enough)."""
    line = {"custom_id": "a", "method": "POST", "url": "/v1/responses", "body": {"temperature": 0}}
    assert validate_input(enc(line), "/v1/responses").errors == [
        {"code": "invalid_request", "message": "Model parameter is required.", "param": "body.model", "line": 1},
    ]


def test_moderations_may_omit_the_model() -> None:
    line = {"custom_id": "a", "method": "POST", "url": "/v1/moderations", "body": {"input": "hello"}}
    result = validate_input(enc(line), "/v1/moderations")
    assert result.errors == [] and result.model is None


def test_unsupported_model_by_default_and_by_callable() -> None:
    [error] = validate_input(enc(chat(1, model="unsupported-gpt")), CHAT).errors
    assert error == {"code": "model_not_found", "param": "body.model", "line": 1,
                     "message": "The provided model 'unsupported-gpt' is not supported by the Batch API."}
    allowed = {"gpt-4o-mini"}
    result = validate_input(enc(chat(1), chat(2)), CHAT, is_supported_model=allowed.__contains__)
    assert result.errors == []
    result = validate_input(enc(chat(1, model="gpt-5")), CHAT, is_supported_model=allowed.__contains__)
    assert codes(result) == [("model_not_found", "body.model", 1)]


def test_reserved_fake_error_models_are_supported() -> None:
    assert validate_input(enc(chat(1, model="fake-error-400")), CHAT).errors == []


def test_duplicate_custom_id_is_reported_on_each_later_line() -> None:
    result = validate_input(enc(chat(1), chat(2), chat(1), chat(1)), CHAT)
    message = "The custom_id 'request-1' is duplicated: each request in a batch needs a unique custom_id."
    assert result.errors == [
        {"code": "duplicate_custom_id", "message": message, "param": "custom_id", "line": 3},
        {"code": "duplicate_custom_id", "message": message, "param": "custom_id", "line": 4},
    ]


def test_one_model_per_file() -> None:
    result = validate_input(enc(chat(1, model="a"), chat(2, model="b"), chat(3, model="a"), chat(4, model="c")), CHAT)
    assert result.model == "a"
    assert codes(result) == [("mismatched_model", "body.model", 2), ("mismatched_model", "body.model", 4)]
    assert result.errors[0]["message"] == (
        "The model 'b' does not match the model 'a' used by earlier lines: a batch may use only one model."
    )


@pytest.mark.parametrize(("value", "kind"), [(7, "an integer"), (["x"], "an array"), (True, "a boolean")])
def test_custom_id_must_be_a_string(value: Any, kind: str) -> None:
    [error] = validate_input(enc(chat(1, custom_id=value)), CHAT).errors
    assert error["code"] == "invalid_type" and error["param"] == "custom_id" and error["line"] == 1
    assert kind in error["message"]


def test_body_and_model_of_the_wrong_type() -> None:
    result = validate_input(enc(chat(1, body="text"), {**chat(2), "body": {"model": 5, "messages": []}}), CHAT)
    assert codes(result) == [("invalid_type", "body", 1), ("invalid_type", "body.model", 2)]


def test_empty_file() -> None:
    assert validate_input([], CHAT).errors == [
        {"code": "empty_file", "message": "The input file is empty: a batch needs at least one request.",
         "param": None, "line": None}
    ]


def test_too_many_requests_is_one_whole_file_error_first() -> None:
    line = json.dumps(chat(1)).encode()
    lines = (line.replace(b"request-1", f"r-{i}".encode()) for i in range(MAX_REQUESTS + 1))
    result = validate_input(lines, CHAT)
    [error] = result.errors
    assert error["code"] == "too_many_requests" and error["line"] is None and error["param"] is None
    assert "50,000" in error["message"]
    exactly = (line.replace(b"request-1", f"r-{i}".encode()) for i in range(MAX_REQUESTS))
    assert validate_input(exactly, CHAT).errors == []


def test_too_many_embedding_inputs_counts_every_input() -> None:
    def emb(i: int, value: Any) -> dict:
        return {"custom_id": f"e{i}", "method": "POST", "url": "/v1/embeddings",
                "body": {"model": "text-embedding-3-small", "input": value}}

    half = MAX_EMBEDDING_INPUTS // 2
    ok = enc(emb(1, ["w"] * half), emb(2, ["w"] * half))
    assert validate_input(ok, "/v1/embeddings").errors == []
    too_many = enc(emb(1, ["w"] * half), emb(2, ["w"] * half), emb(3, "one more"))
    [error] = validate_input(too_many, "/v1/embeddings").errors
    assert error["code"] == "too_many_embedding_inputs" and error["line"] is None
    # One token array is one input, a list of token arrays is many.
    assert validate_input(enc(emb(1, list(range(MAX_EMBEDDING_INPUTS + 5)))), "/v1/embeddings").errors == []


def test_whole_file_errors_come_before_line_errors() -> None:
    lines = [b"bad"] * (MAX_REQUESTS + 1)
    result = validate_input(lines, CHAT)
    assert result.errors[0]["code"] == "too_many_requests"
    assert len(result.errors) == MAX_REQUESTS + 1  # lines past the limit are counted, not checked


def test_missing_file_error() -> None:
    assert missing_file_error("file-abc", "org-1") == {
        "code": "invalid_request",
        "message": "Cannot find file file-abc, or organization org-1 does not have access to it.",
        "param": "file_id",
        "line": None,
    }


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=20), st.sampled_from([CHAT, "/v1/embeddings", "/v1/moderations"]))
def test_never_raises_on_arbitrary_bytes(lines: list[bytes], endpoint: str) -> None:
    result = validate_input(lines, endpoint)
    for error in result.errors:
        assert set(error) == ERROR_KEYS
        assert error["line"] is None or 1 <= error["line"] <= len(lines)
    if lines:
        assert {e["line"] for e in result.errors if e["code"] == "invalid_json_line"} <= set(range(1, len(lines) + 1))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
line_like = st.fixed_dictionaries(
    {},
    optional={"custom_id": json_values | st.text(max_size=5), "method": st.sampled_from(["POST", "GET"]) | json_values,
              "url": st.sampled_from([CHAT, "/v1/embeddings"]) | json_values,
              "body": st.dictionaries(st.sampled_from(["model", "messages", "input", "stream", "prompt"]), json_values)
              | json_values},
)


@settings(max_examples=300, deadline=None)
@given(st.lists(line_like, max_size=8))
def test_never_raises_on_arbitrary_json_objects(objs: list[dict]) -> None:
    result = validate_input(enc(*objs), CHAT)
    assert all(set(e) == ERROR_KEYS and isinstance(e["line"], int) for e in result.errors) or not objs
    if not result.errors:
        assert result.requests == objs
