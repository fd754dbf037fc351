"""The Batch API's input-file rules: raw JSONL lines in, the `errors.data` of a failed batch out.

`validate_input(lines, endpoint)` applies every rule of reference §4.4 / §9.12 and reports
every offending line (1-based `line`), one error per problem, each shaped exactly like the
API's `BatchError`: ``{"code", "message", "param", "line"}``. It never raises on arbitrary
bytes. Whole-file problems (empty file, too many requests, too many embedding inputs) carry
``line: None`` and come first.

Choices where the reference is silent:

* a `null` `custom_id` / `method` / `url` / `body` counts as missing;
* `body.model` is optional for `/v1/moderations` (and the image/video endpoints, whose real
  APIs default it); an empty string counts as missing;
* a `mismatched_model` is reported against the first model seen in the file, on every line
  that names a different one; lines without a model, or with one of the fake's reserved
  `fake-error-NNN` models (fake_server.responders), are not compared, so a test can fail chosen
  lines of an otherwise normal file;
* past `spec.MAX_REQUESTS` lines the remaining lines are only counted, not checked or kept;
* strict JSON: `NaN` / `Infinity` are not parseable, nor is anything that is not UTF-8, nor a line nested
  too deep for the parser (fake_server.strict_json); ``1e999`` is valid JSON text and parses (as infinity);
* these checks are the whole-batch ones and run at create time; each line's body is checked against its
  endpoint's request schema only when its answer is computed (fake_server.line_schemas), so a malformed
  body fails that line (a 400 in the error file), not the batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import spec, strict_json, tokens

__all__ = [
    "ValidationResult",
    "validate_input",
    "missing_file_error",
    "default_is_supported_model",
]

_REQUIRED_KEYS = ("custom_id", "method", "url", "body")
_INVALID_JSON = "This line is not parseable as valid JSON."
_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a decimal", str: "a string", list: "an array",
               dict: "an object", type(None): "null"}


@dataclass
class ValidationResult:
    """What `validate_input` found. `requests` and `model` are only meaningful when `errors` is empty."""

    errors: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    model: str | None = None
    prompt_tokens: int = 0  # what the lines enqueue against the model's token quota (fake_server.tokens)

    @property
    def ok(self) -> bool:
        return not self.errors


def default_is_supported_model(model: str) -> bool:
    """`models="any"`: every non-empty model name is supported except those starting with ``unsupported-``."""
    return bool(model) and not model.startswith(spec.UNSUPPORTED_MODEL_PREFIX)


def missing_file_error(file_id: str, organization: str) -> dict:
    """The error of a batch whose input file does not exist or belongs to someone else."""
    return _error(
        "invalid_request",
        f"Cannot find file {file_id}, or organization {organization} does not have access to it.",
        "file_id",
        None,
    )


def validate_input(
    lines: Iterable[bytes],
    endpoint: str,
    *,
    is_supported_model: Callable[[str], bool] | None = None,
) -> ValidationResult:
    """Check the raw lines (without their b"\\n") of a batch input file against `endpoint`."""
    supported = is_supported_model or default_is_supported_model
    checker = _Checker(endpoint, supported)
    count = 0
    for count, raw in enumerate(lines, start=1):
        if count <= spec.MAX_REQUESTS:
            checker.check(raw, count)
    head: list[dict] = []
    if count == 0:
        head.append(_error("empty_file", "The input file is empty: a batch needs at least one request.", None, None))
    elif count > spec.MAX_REQUESTS:
        head.append(_error(
            "too_many_requests",
            f"The input file has {count:,} requests, more than the limit of {spec.MAX_REQUESTS:,} requests per "
            "batch.",
            None,
            None,
        ))
    if endpoint == "/v1/embeddings" and checker.embedding_inputs > spec.MAX_EMBEDDING_INPUTS:
        head.append(_error(
            "too_many_embedding_inputs",
            f"The batch has {checker.embedding_inputs:,} embedding inputs in total, more than the limit of "
            f"{spec.MAX_EMBEDDING_INPUTS:,} embedding inputs per batch.",
            None,
            None,
        ))
    return ValidationResult(errors=head + checker.errors, requests=checker.requests, model=checker.first_model,
                            prompt_tokens=checker.prompt_tokens)


class _Checker:
    """Per-file state while lines stream past: seen custom_ids, the first model, counts."""

    def __init__(self, endpoint: str, supported: Callable[[str], bool]) -> None:
        self.endpoint = endpoint
        self.supported = supported
        known = spec.ENDPOINTS.get(endpoint)  # None: a test author's batch on an endpoint the API lacks
        self.label = known.label if known else endpoint
        self.prompt_key = known.prompt_key if known and known.prompt_required else None
        self.prompt_missing = known.prompt_missing_message if known else ""
        self.model_required = known.model_required if known else True
        self.errors: list[dict] = []
        self.requests: list[dict] = []
        self.seen_ids: set[str] = set()
        self.first_model: str | None = None
        self.embedding_inputs = 0
        self.prompt_tokens = 0

    def fail(self, code: str, message: str, param: str | None, line: int) -> None:
        self.errors.append(_error(code, message, param, line))

    def check(self, raw: Any, line: int) -> None:
        obj = _parse(raw)
        if not isinstance(obj, dict):
            self.fail("invalid_json_line", _INVALID_JSON, None, line)
            return
        self.requests.append(obj)
        for key in _REQUIRED_KEYS:
            if obj.get(key) is None:
                self.fail("missing_required_parameter", f"Missing required parameter: '{key}'.", key, line)
        self._check_custom_id(obj.get("custom_id"), line)
        method = obj.get("method")
        if method is not None and method != "POST":
            self.fail("invalid_value", f"Invalid value: {_show(method)}. Supported values are: 'POST'.",
                      "method", line)
        url = obj.get("url")
        if url is not None and url != self.endpoint:
            self.fail("invalid_url", "The URL provided for this request does not match the batch endpoint.",
                      "url", line)
        body = obj.get("body")
        if body is None:
            return
        if not isinstance(body, dict):
            self.fail("invalid_type", _type_message("body", "an object", body), "body", line)
            return
        self._check_body(body, line)

    def _check_custom_id(self, custom_id: Any, line: int) -> None:
        if custom_id is None:
            return
        if not isinstance(custom_id, str):
            self.fail("invalid_type", _type_message("custom_id", "a string", custom_id), "custom_id", line)
        elif custom_id in self.seen_ids:
            self.fail(
                "duplicate_custom_id",
                f"The custom_id '{custom_id}' is duplicated: each request in a batch needs a unique custom_id.",
                "custom_id",
                line,
            )
        else:
            self.seen_ids.add(custom_id)

    def _check_body(self, body: dict, line: int) -> None:
        if body.get("stream") is True:
            self.fail("streaming_unsupported", f"{self.label}: Streaming is not supported in the Batch API.",
                      "body.stream", line)
        model = body.get("model")
        if model is None or model == "":
            if self.model_required:
                self.fail("invalid_request", "Model parameter is required.", "body.model", line)
        elif not isinstance(model, str):
            self.fail("invalid_type", _type_message("model", "a string", model), "body.model", line)
        else:
            self._check_model(model, line)
        if self.prompt_key is not None and body.get(self.prompt_key) is None:
            self.fail("invalid_request", self.prompt_missing, f"body.{self.prompt_key}", line)
        if self.endpoint == "/v1/embeddings":
            self.embedding_inputs += _count_inputs(body.get("input"))
        self.prompt_tokens += tokens.prompt_tokens(self.endpoint, body)

    def _check_model(self, model: str, line: int) -> None:
        if not self.supported(model):
            self.fail("model_not_found", f"The provided model '{model}' is not supported by the Batch API.",
                      "body.model", line)
        if model.startswith(spec.RESERVED_MODEL_PREFIX):
            return  # the fake's per-line failure models mix with the batch's one real model
        if self.first_model is None:
            self.first_model = model
        elif model != self.first_model:
            self.fail(
                "mismatched_model",
                f"The model '{model}' does not match the model '{self.first_model}' used by earlier lines: "
                "a batch may use only one model.",
                "body.model",
                line,
            )


def _error(code: str, message: str, param: str | None, line: int | None) -> dict:
    return {"code": code, "message": message, "param": param, "line": line}


def _parse(raw: Any) -> Any:
    """The JSON value of one line, or None when it is not strict UTF-8 JSON (a BOM included)."""
    try:
        return strict_json.loads(raw, max_depth=None, finite=False)  # any valid JSON text, as deep as it parses
    except (ValueError, TypeError):
        return None


def _kind(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), "a " + type(value).__name__)


def _type_message(name: str, expected: str, value: Any) -> str:
    return f"Invalid type for '{name}': expected {expected}, but got {_kind(value)} instead."


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value[:100]}'"
    try:
        return json.dumps(value)[:100]
    except (TypeError, ValueError):  # pragma: no cover - parsed JSON always dumps
        return _kind(value)


def _count_inputs(value: Any) -> int:
    """Embedding inputs in one body: a string or one token array is 1, a list of them is its length."""
    if value is None:
        return 0
    if isinstance(value, list) and value and not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return len(value)
    return 1
