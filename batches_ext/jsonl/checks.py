"""`preflight`: the checks the Batch API runs on an input file, applied locally before anything is uploaded.

The rules (reference 4.4): one JSON object per line, `custom_id`/`method`/`url`/`body` present, `method`
POST, `url` equal to the endpoint, no `stream: true`, a model (one per file), unique `custom_id`s, a
non-empty file within 50,000 lines / 200 MB (and 50,000 embedding inputs). The source is streamed line by
line, keeping only the custom_ids and the model; arbitrary bytes never raise.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, Problem
from ..render import plural
from ..spec import ENDPOINTS, MAX_BYTES, MAX_EMBEDDING_INPUTS, MAX_LINES
from .lines import INVALID, dumps_line, iter_raw_lines, parse_json_line, why_invalid

__all__ = ["LIMIT_CODES", "Preflight", "preflight", "embedding_inputs"]

#: Problem codes a split into several batches fixes (the per-batch size limits).
LIMIT_CODES = frozenset({"too_many_requests", "file_too_large", "too_many_embedding_inputs"})
_MAX_PROBLEMS = 1_000
_REQUIRED_KEYS = ("custom_id", "method", "url", "body")


@dataclass
class Preflight:
    """What `preflight` found: sizes, the endpoint and model, and every problem (line order, file ones first).

    `needs_split` is True when the input breaks only the size limits (lines, bytes, embedding inputs):
    `submit` splits such input into several batches.
    """

    lines: int
    bytes: int
    endpoint: str | None
    model: str | None
    problems: list[Problem] = field(default_factory=list)
    needs_split: bool = False
    embedding_inputs: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def line_problems(self) -> list[Problem]:
        """The problems a split cannot fix (everything but the size limits)."""
        return [p for p in self.problems if p.code not in LIMIT_CODES]

    def raise_for_problems(self, *, allow_split: bool = False) -> Preflight:
        """Raise InputError for the first problem (all of them in `.problems`); return self when clean.

        allow_split: ignore the size-limit problems (the input will be split).
        """
        problems = self.line_problems() if allow_split else self.problems
        if problems:
            first = problems[0]
            more = f" (and {plural(len(problems) - 1, 'more problem')})" if len(problems) > 1 else ""
            raise InputError(f"{first}{more}", line=first.line, problems=list(problems))
        return self

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"{plural(len(self.problems), 'problem')}, first: {self.problems[0]}"
        split = ", needs_split" if self.needs_split else ""
        return (f"Preflight(lines={self.lines}, bytes={self.bytes}, endpoint={self.endpoint!r}, "
                f"model={self.model!r}{split}: {state})")


def preflight(
    source: str | os.PathLike | bytes | bytearray | memoryview | Iterable[Any],
    endpoint: str | None = None,
    *,
    max_lines: int = MAX_LINES,
    max_bytes: int = MAX_BYTES,
    max_problems: int = _MAX_PROBLEMS,
    unchecked_model_prefix: str | None = None,
) -> Preflight:
    """Check a batch input (path, bytes, or request dicts) with the server's rules, streaming it.

    endpoint: the batch endpoint; None infers it from the first line that has a string `url`.
    At most `max_problems` problems are kept (a last one says how many more there were).
    unchecked_model_prefix: models starting with it are not held to the one-model rule (`submit` and the
    magics pass FAKE_ERROR_PREFIX for the offline fake, whose `fake-error-NNN` models fail chosen lines).
    Never raises for bad content; OSError for an unreadable path.
    """
    checker = _Checker(endpoint, max_problems)
    checker.unchecked_prefix = unchecked_model_prefix
    if isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)):
        for n, raw in enumerate(iter_raw_lines(source), start=1):
            obj = parse_json_line(raw)
            checker.check(obj, n, raw if obj is INVALID else None)
        size = os.path.getsize(source) if isinstance(source, (str, os.PathLike)) else len(source)
    else:
        size = 0
        for n, obj in enumerate(source, start=1):
            try:
                size += len(dumps_line(obj))
            except InputError:
                obj = INVALID
            checker.check(obj, n)
    return checker.result(size, max_lines, max_bytes)


class _Checker:
    """State kept while lines stream past: the endpoint, first model, seen custom_ids, problems."""

    def __init__(self, endpoint: str | None, max_problems: int) -> None:
        self.endpoint = endpoint
        self.max_problems = max_problems
        self.problems: list[Problem] = []
        self.dropped = 0
        self.seen: dict[str, int] = {}
        self.model: str | None = None
        self.count = 0
        self.embedding_inputs = 0
        self.unchecked_prefix: str | None = None

    def fail(self, line: int | None, code: str, message: str) -> None:
        if len(self.problems) < self.max_problems:
            self.problems.append(Problem(line, code, message))
        else:
            self.dropped += 1

    def check(self, obj: Any, n: int, raw: bytes | None = None) -> None:
        self.count = n
        if not isinstance(obj, dict):
            if obj is not INVALID:
                message = f"not a JSON object (a JSON {_json_kind(obj)})"
            else:
                message = why_invalid(raw) if raw is not None else "not valid JSON"
            self.fail(n, "invalid_json_line", message)
            return
        if self.endpoint is None and isinstance(obj.get("url"), str):
            self.endpoint = obj["url"]
        for key in _REQUIRED_KEYS:
            if obj.get(key) is None:
                self.fail(n, "missing_required_parameter", f"missing {key!r}")
        self._check_custom_id(obj.get("custom_id"), n)
        method = obj.get("method")
        if method is not None and method != "POST":
            self.fail(n, "invalid_value", f"method must be 'POST', got {_short(method)}")
        url = obj.get("url")
        if url is not None and url != self.endpoint:
            self.fail(n, "invalid_url", f"url {_short(url)} does not match the batch endpoint {self.endpoint!r}")
        body = obj.get("body")
        if body is None:
            return
        if not isinstance(body, dict):
            self.fail(n, "invalid_type", f"body must be an object, got {type(body).__name__}")
            return
        self._check_body(body, n)

    def _check_custom_id(self, custom_id: Any, n: int) -> None:
        if custom_id is None:
            return
        if not isinstance(custom_id, str):
            self.fail(n, "invalid_type", f"custom_id must be a string, got {type(custom_id).__name__}")
        elif custom_id in self.seen:
            self.fail(n, "duplicate_custom_id",
                      f"duplicate custom_id {_short(custom_id)} (first used on line {self.seen[custom_id]})")
        else:
            self.seen[custom_id] = n

    def _check_body(self, body: dict, n: int) -> None:
        if body.get("stream") is True:
            self.fail(n, "streaming_unsupported", "stream: true is not supported in the Batch API")
        model = body.get("model")
        spec = ENDPOINTS.get(self.endpoint or "")
        if model is None or model == "":
            if spec is None or spec.model_required:
                self.fail(n, "invalid_request", "missing body.model")
        elif not isinstance(model, str):
            self.fail(n, "invalid_type", f"body.model must be a string, got {type(model).__name__}")
        elif self.unchecked_prefix and model.startswith(self.unchecked_prefix):
            pass  # the offline fake's reserved failure models
        elif self.model is None:
            self.model = model
        elif model != self.model:
            self.fail(n, "mismatched_model",
                      f"model {_short(model)} differs from {self.model!r} (one model per batch)")
        if spec is not None and spec.prompt_required and body.get(spec.prompt_key) is None:
            self.fail(n, "invalid_request", f"missing body.{spec.prompt_key}")
        if self.endpoint == "/v1/embeddings":
            self.embedding_inputs += embedding_inputs(body.get("input"))

    def result(self, size: int, max_lines: int, max_bytes: int) -> Preflight:
        head: list[Problem] = []
        if self.endpoint is not None and self.endpoint not in ENDPOINTS:
            head.append(Problem(None, "invalid_endpoint", f"unsupported endpoint {self.endpoint!r}"))
        if self.count == 0:
            head.append(Problem(None, "empty_file", "the input is empty: a batch needs at least one request"))
        over_lines = self.count > max_lines
        over_bytes = size > max_bytes
        over_inputs = self.endpoint == "/v1/embeddings" and self.embedding_inputs > MAX_EMBEDDING_INPUTS
        if over_lines:
            head.append(Problem(None, "too_many_requests",
                                f"{self.count:,} requests, more than {max_lines:,} per batch"))
        if over_bytes:
            head.append(Problem(None, "file_too_large", f"{size:,} bytes, more than {max_bytes:,} per batch"))
        if over_inputs:
            head.append(Problem(None, "too_many_embedding_inputs",
                                f"{self.embedding_inputs:,} embedding inputs, more than "
                                f"{MAX_EMBEDDING_INPUTS:,} per batch"))
        tail = []
        if self.dropped:
            tail.append(Problem(None, "too_many_problems", f"{plural(self.dropped, 'more problem')} not listed"))
        return Preflight(
            lines=self.count,
            bytes=size,
            endpoint=self.endpoint,
            model=self.model,
            problems=head + self.problems + tail,
            needs_split=over_lines or over_bytes or over_inputs,
            embedding_inputs=self.embedding_inputs,
        )


def embedding_inputs(value: Any) -> int:
    """Embedding inputs in one body's `input`: a string or one token array is 1, a list of them its length."""
    if value is None:
        return 0
    if isinstance(value, list) and value and not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return len(value)
    return 1


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool) or value is None:
        return "literal"
    return "number"


def _short(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
