"""Batch input JSONL: build request lines, write/read them, and preflight them with the server's rules.

    lines = build_requests(["Hi", "Bye"], model="gpt-4o-mini", temperature=0)   # custom_id request-1, -2
    write_jsonl(lines, "in.jsonl")                                              # atomic
    preflight("in.jsonl").raise_for_problems()                                  # InputError names line N

`preflight` applies the rules the Batch API checks when it validates an input file (reference 4.4):
one JSON object per line, `custom_id`/`method`/`url`/`body` present, `method` POST, `url` equal to the
endpoint, no `stream: true`, a model (one per file), unique `custom_id`s, a non-empty file within
50,000 lines / 200 MB. It streams the source line by line, keeping only the custom_ids and the model,
and never raises on arbitrary bytes. Lines are split on b"\\n" exactly as the server does (a final
newline does not make an empty last line; a blank line in the middle is an invalid line).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .errors import InputError

__all__ = [
    "ENDPOINTS",
    "MAX_LINES",
    "MAX_BYTES",
    "MAX_EMBEDDING_INPUTS",
    "Problem",
    "Preflight",
    "build_requests",
    "dumps_line",
    "dumps_jsonl",
    "write_jsonl",
    "iter_jsonl",
    "iter_raw_lines",
    "preflight",
    "atomic_open",
    "embedding_inputs",
]

ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)
MAX_LINES = 50_000
MAX_BYTES = 200 * 1024 * 1024
MAX_EMBEDDING_INPUTS = 50_000
LIMIT_CODES = frozenset({"too_many_requests", "file_too_large", "too_many_embedding_inputs"})
_MAX_PROBLEMS = 1_000
_CHUNK = 1024 * 1024
_REQUIRED_KEYS = ("custom_id", "method", "url", "body")
_REQUIRED_BODY = {
    "/v1/chat/completions": "messages",
    "/v1/responses": "input",
    "/v1/completions": "prompt",
    "/v1/embeddings": "input",
    "/v1/moderations": "input",
    "/v1/images/generations": "prompt",
    "/v1/images/edits": "prompt",
    "/v1/videos": "prompt",
}
_MODEL_OPTIONAL = frozenset({"/v1/moderations", "/v1/images/generations", "/v1/images/edits", "/v1/videos"})
_PROMPT_KEY = {
    "/v1/chat/completions": "messages",
    "/v1/responses": "input",
    "/v1/embeddings": "input",
    "/v1/completions": "prompt",
    "/v1/moderations": "input",
    "/v1/images/generations": "prompt",
    "/v1/images/edits": "prompt",
    "/v1/videos": "prompt",
}


# ---------------------------------------------------------------------------------------------- build


def build_requests(
    items: Any,
    *,
    model: str | None = None,
    endpoint: str = "/v1/chat/completions",
    system: str | None = None,
    id_prefix: str = "request-",
    ids: Any = None,
    **body_defaults: Any,
) -> list[dict[str, Any]]:
    """Request lines (`custom_id`, `method`, `url`, `body`) for `endpoint`, one per item, in order.

    items: prompts (str), chat message lists (`[{"role", "content"}, ...]`), request bodies (dict), full
        request lines (dicts with `body` and `custom_id`/`url`; kept, `url`/`method` filled in), or a
        pandas Series (a one-column DataFrame works too).
    ids: None gives `f"{id_prefix}{n}"` for n = 1..N; "index" uses the Series' index labels (as str);
        or an iterable of ids, one per item. custom_ids must be unique.
    system: a system message (chat: first message; responses: `instructions`).
    body_defaults: extra body parameters (e.g. `temperature=0`); an item's own keys win.
    Raises InputError (with the 1-based item number) for an item it cannot turn into a request.
    """
    if endpoint not in ENDPOINTS:
        raise InputError(f"unsupported endpoint {endpoint!r}; expected one of: {', '.join(ENDPOINTS)}")
    values, labels = _items_and_labels(items)
    if ids is None:
        custom_ids = [f"{id_prefix}{n}" for n in range(1, len(values) + 1)]
    elif isinstance(ids, str) and ids == "index":
        if labels is None:
            raise InputError("ids='index' needs a pandas Series or DataFrame column")
        custom_ids = [str(label) for label in labels]
    else:
        custom_ids = [str(i) for i in ids]
        if len(custom_ids) != len(values):
            raise InputError(f"got {len(custom_ids)} ids for {len(values)} items")
    seen: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for n, (item, custom_id) in enumerate(zip(values, custom_ids, strict=True), start=1):
        line = _request_line(item, n, custom_id, model, endpoint, system, body_defaults)
        cid = line["custom_id"]
        if cid in seen:
            raise InputError(f"item {n}: duplicate custom_id {cid!r} (first used by item {seen[cid]})", line=n)
        seen[cid] = n
        out.append(line)
    return out


def _items_and_labels(items: Any) -> tuple[list[Any], list[Any] | None]:
    if hasattr(items, "columns") and hasattr(items, "iloc"):  # DataFrame
        if len(items.columns) != 1:
            raise InputError(
                f"got a DataFrame with {len(items.columns)} columns; pass one column, e.g. df['prompt']"
            )
        items = items.iloc[:, 0]
    if hasattr(items, "index") and hasattr(items, "tolist") and hasattr(items, "iloc"):  # Series
        return list(items.tolist()), list(items.index)
    if isinstance(items, (str, bytes, dict)):
        raise InputError("items must be a list of prompts, message lists or bodies (got a single value)")
    return list(items), None


def _request_line(
    item: Any, n: int, custom_id: str, model: str | None, endpoint: str, system: str | None, defaults: dict
) -> dict[str, Any]:
    if isinstance(item, dict) and "body" in item and ({"custom_id", "url", "method"} & item.keys()):
        line = dict(item)
        line.setdefault("custom_id", custom_id)
        line.setdefault("method", "POST")
        line.setdefault("url", endpoint)
        return {k: line[k] for k in ("custom_id", "method", "url", "body")} | line
    if isinstance(item, dict):
        body = {**defaults, **item}
        if model is not None:
            body.setdefault("model", model)
    else:
        body = _body_for(item, n, model, endpoint, system, defaults)
    if "model" not in body and endpoint not in _MODEL_OPTIONAL:
        raise InputError(f"item {n}: no model: pass model=... or put 'model' in the body", line=n)
    if "model" in body:
        body = {"model": body.pop("model"), **body}
    return {"custom_id": custom_id, "method": "POST", "url": endpoint, "body": body}


def _body_for(item: Any, n: int, model: str | None, endpoint: str, system: str | None, defaults: dict) -> dict:
    body: dict[str, Any] = {} if model is None else {"model": model}
    if isinstance(item, str):
        prompt: Any = item
    elif _is_messages(item):
        if endpoint not in ("/v1/chat/completions", "/v1/responses"):
            raise InputError(f"item {n}: a message list needs /v1/chat/completions or /v1/responses", line=n)
        prompt = [dict(m) for m in item]
    else:
        kind = "missing value" if _is_missing(item) else type(item).__name__
        raise InputError(
            f"item {n}: expected a prompt (str), a message list or a request body (dict), got {kind}", line=n
        )
    if endpoint == "/v1/chat/completions":
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        if system is not None and not (messages and messages[0].get("role") in ("system", "developer")):
            messages = [{"role": "system", "content": system}, *messages]
        body["messages"] = messages
    else:
        if system is not None:
            if endpoint != "/v1/responses":
                raise InputError(f"system= is not supported for {endpoint}")
            body["instructions"] = system
        body[_PROMPT_KEY[endpoint]] = prompt
    for key, value in defaults.items():
        body.setdefault(key, value)
    return body


def _is_messages(item: Any) -> bool:
    return isinstance(item, (list, tuple)) and bool(item) and all(isinstance(m, dict) and "role" in m for m in item)


def _is_missing(item: Any) -> bool:
    return item is None or (isinstance(item, float) and item != item)


# ---------------------------------------------------------------------------------------------- write / read


def dumps_line(line: Any, n: int | None = None) -> bytes:
    """One compact JSON line (UTF-8, with its b"\\n"); InputError if it is not JSON-serialisable."""
    try:
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode() + b"\n"
    except (TypeError, ValueError) as exc:
        where = f"line {n}: " if n is not None else ""
        raise InputError(f"{where}cannot be written as JSON ({exc})", line=n) from None


def dumps_jsonl(lines: Iterable[Any]) -> bytes:
    """The JSONL bytes of `lines` (one compact JSON object per line, each ending in b"\\n")."""
    return b"".join(dumps_line(line, n) for n, line in enumerate(lines, start=1))


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file next to `path`; on success it replaces `path` (os.replace), on error it is removed.

    Readers never see a half-written file, and a failed write leaves the old file untouched.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_jsonl(lines: Iterable[Any], path: str | os.PathLike) -> Path:
    """Write `lines` as JSONL to `path` atomically (temporary file + os.replace); returns the path."""
    with atomic_open(path, "wb") as handle:
        for n, line in enumerate(lines, start=1):
            handle.write(dumps_line(line, n))
    return Path(path)


def iter_raw_lines(source: str | os.PathLike | bytes | bytearray | memoryview) -> Iterator[bytes]:
    """The raw lines of a path or bytes, without their b"\\n", read in chunks (server line rules)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source) if not isinstance(source, bytes) else source
        start, size = 0, len(data)
        while start < size:
            end = data.find(b"\n", start)
            if end < 0:
                yield data[start:]
                return
            yield data[start:end]
            start = end + 1
        return
    with open(source, "rb", buffering=_CHUNK) as handle:
        for raw in handle:  # binary files split on b"\n" only, one line in memory at a time
            yield raw[:-1] if raw.endswith(b"\n") else raw


def iter_jsonl(source: str | os.PathLike | bytes | bytearray | memoryview) -> Iterator[Any]:
    """Decoded JSON values of a JSONL path or bytes, streamed; InputError names the first bad line."""
    for n, raw in enumerate(iter_raw_lines(source), start=1):
        value = _parse(raw)
        if value is _BAD:
            raise InputError(f"line {n}: not valid JSON", line=n, problems=[Problem(n, "invalid_json_line",
                                                                                   "not valid JSON")])
        yield value


_BAD = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _parse(raw: bytes | str) -> Any:
    """The JSON value of one line, or `_BAD` (strict UTF-8 JSON; NaN/Infinity and a BOM are rejected)."""
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, TypeError, RecursionError):
        return _BAD


# ---------------------------------------------------------------------------------------------- preflight


@dataclass(frozen=True)
class Problem:
    """One broken rule: `line` is 1-based (None for the whole file); `code` follows the server's codes."""

    line: int | None
    code: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


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
            more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(
                problems) > 1 else ""
            raise InputError(f"{first}{more}", line=first.line, problems=list(problems))
        return self

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"{len(self.problems)} problems, first: {self.problems[0]}"
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
) -> Preflight:
    """Check a batch input (path, bytes, or request dicts) with the server's rules, streaming it.

    endpoint: the batch endpoint; None infers it from the first line that has a string `url`.
    At most `max_problems` problems are kept (a last one says how many more there were).
    Never raises for bad content; OSError for an unreadable path.
    """
    checker = _Checker(endpoint, max_problems)
    if isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)):
        for n, raw in enumerate(iter_raw_lines(source), start=1):
            checker.check(_parse(raw), n)
        size = os.path.getsize(source) if isinstance(source, (str, os.PathLike)) else len(source)
    else:
        size = 0
        for n, obj in enumerate(source, start=1):
            try:
                size += len(dumps_line(obj))
            except InputError:
                obj = _BAD
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

    def fail(self, line: int | None, code: str, message: str) -> None:
        if len(self.problems) < self.max_problems:
            self.problems.append(Problem(line, code, message))
        else:
            self.dropped += 1

    def check(self, obj: Any, n: int) -> None:
        self.count = n
        if not isinstance(obj, dict):
            self.fail(n, "invalid_json_line", "not a JSON object" if obj is not _BAD else "not valid JSON")
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
        if model is None or model == "":
            if self.endpoint not in _MODEL_OPTIONAL:
                self.fail(n, "invalid_request", "missing body.model")
        elif not isinstance(model, str):
            self.fail(n, "invalid_type", f"body.model must be a string, got {type(model).__name__}")
        elif self.model is None:
            self.model = model
        elif model != self.model:
            self.fail(n, "mismatched_model",
                      f"model {_short(model)} differs from {self.model!r} (one model per batch)")
        required = _REQUIRED_BODY.get(self.endpoint or "")
        if required is not None and body.get(required) is None:
            self.fail(n, "invalid_request", f"missing body.{required}")
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
            tail.append(Problem(None, "too_many_problems", f"{self.dropped:,} more problems not listed"))
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


def _short(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
