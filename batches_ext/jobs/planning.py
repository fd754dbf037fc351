"""`plan_job`: what `submit` would do with an input, without doing it — the preflight, the parts it splits
into, and each part's token estimate and output cap.

An input becomes several parts when it is over the API's per-batch limits (50,000 lines, 200 MB, 50,000
embedding inputs), over `batch_size` lines per part (people choose smaller batches for faster turnaround), or
over the job's token budget per part (`max_enqueued_tokens`: a part larger than the budget could never be
submitted). Parts are consecutive byte ranges of the input, streamed, never the whole input twice in memory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..jsonl import (
    Preflight,
    build_requests,
    dumps_jsonl,
    embedding_inputs,
    iter_raw_lines,
    parse_json_line,
    preflight,
)
from ..pricing import model_matches
from ..spec import DEFAULT_ENDPOINT, FAKE_ERROR_PREFIX, MAX_BYTES, MAX_EMBEDDING_INPUTS, MAX_LINES
from .estimate import Estimate, TokenTally

__all__ = ["JobPlan", "PlannedPart", "plan_job", "plan_source", "split_parts", "materialise", "token_limit_for"]


@dataclass(frozen=True)
class PlannedPart:
    """One batch `submit` would create: its 1-based `index`, `lines`, `bytes`, first input line (1-based), the
    estimated input `tokens`, the output cap its lines set (None: some line has none), its byte range, and how
    many of its lines set no output cap (`uncapped`)."""

    index: int
    lines: int
    bytes: int
    first_line: int
    tokens: int = 0
    output_cap: int | None = None
    start: int = 0
    end: int = 0
    uncapped: int = 0


@dataclass
class JobPlan:
    """What `submit` would do with an input: the preflight `report`, the `parts` (one per batch) and the
    `estimate` (requests, input tokens, output cap, price range)."""

    report: Preflight
    parts: list[PlannedPart] = field(default_factory=list)
    estimate: Estimate | None = None


def token_limit_for(limit: int | Mapping[str, int] | None, model: str | None) -> int | None:
    """The enqueued-token budget for `model`: an int applies to every model; in a mapping a key applies to that
    model and its dated snapshots only (`gpt-4o-mini` covers `gpt-4o-mini-2024-07-18` and `gpt-4-0613` is a
    snapshot of `gpt-4`, but `gpt-4o` does not cover `gpt-4o-mini`: `batches_ext.pricing.model_matches`), then
    `"*"` covers every other model."""
    if limit is None:
        return None
    if isinstance(limit, Mapping):
        if model:
            known = [name for name in limit if name != "*" and model_matches(name, model)]
            if known:
                return _positive(limit[max(known, key=len)])
        return _positive(limit["*"]) if "*" in limit else None
    return _positive(limit)


def _positive(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InputError(f"max_enqueued_tokens: expected a whole number of tokens of at least 1, got {value!r}")
    return value


def plan_job(
    source: Any,
    *,
    endpoint: str | None = None,
    model: str | None = None,
    max_lines: int = MAX_LINES,
    max_bytes: int = MAX_BYTES,
    batch_size: int | None = None,
    max_enqueued_tokens: int | Mapping[str, int] | None = None,
    offline: bool = False,
) -> JobPlan:
    """Preflight `source` as `submit` would, plan its parts ("2 batches: 50,000 + 10,000 lines") and estimate
    its tokens and cost; uploads and creates nothing. Raises InputError for a line that breaks the Batch API's
    rules (as `submit` would), or that alone holds more tokens than the budget."""
    data, path = materialise(source, endpoint, model)
    return plan_source(data, path, endpoint, model, max_lines, max_bytes, batch_size, max_enqueued_tokens, offline)


def plan_source(data: bytes | None, path: str | None, endpoint: str | None, model: str | None, max_lines: int,
                max_bytes: int, batch_size: int | None, max_enqueued_tokens: int | Mapping[str, int] | None,
                offline: bool) -> JobPlan:
    """`plan_job` of a source `materialise` has read: (bytes, None) or (None, path)."""
    streamed: str | bytes = path if path is not None else (data or b"")
    report = preflight(streamed, endpoint, max_lines=max_lines, max_bytes=max_bytes,
                       unchecked_model_prefix=FAKE_ERROR_PREFIX if offline else None)
    report.raise_for_problems(allow_split=True)
    if model is not None and report.model not in (None, model):
        raise InputError(f"the input uses model {report.model!r}, not {model!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1):
        raise InputError(f"batch_size: expected a whole number of lines of at least 1, got {batch_size!r}")
    resolved = report.endpoint or endpoint or DEFAULT_ENDPOINT
    tally = TokenTally(report.model, resolved)
    per_part = min(max_lines, batch_size) if batch_size else max_lines
    budget = token_limit_for(max_enqueued_tokens, report.model)
    parts = split_parts(streamed, resolved, tally, per_part, max_bytes, budget)
    estimate = Estimate.of_parts(parts, exact=tally.exact, model=report.model, endpoint=resolved)
    return JobPlan(report, parts, estimate)


def split_parts(source: str | bytes, endpoint: str, tally: TokenTally, max_lines: int, max_bytes: int,
                max_tokens: int | None = None) -> list[PlannedPart]:
    """Consecutive parts of `source`, each within `max_lines`, `max_bytes`, 50,000 embedding inputs and (when
    given) `max_tokens` estimated input tokens."""
    parts: list[PlannedPart] = []
    start = offset = lines = inputs = tokens = uncapped = 0
    cap: int | None = 0
    first = 1
    embeddings = endpoint == "/v1/embeddings"

    def close(end: int) -> None:
        parts.append(PlannedPart(len(parts) + 1, lines, end - start, first, tokens, cap, start, end, uncapped))

    for n, raw in enumerate(iter_raw_lines(source), start=1):
        size = len(raw) + 1
        obj = parse_json_line(raw)
        line_tokens, line_cap = tally.line(obj if isinstance(obj, dict) else raw)
        weight = embedding_inputs(_body_input(obj)) if embeddings else 0
        if size > max_bytes:
            raise InputError(f"line {n}: {size:,} bytes, more than {max_bytes:,} per batch: cannot split", line=n)
        if max_tokens is not None and line_tokens > max_tokens:
            raise InputError(f"line {n}: about {line_tokens:,} input tokens, more than max_enqueued_tokens "
                             f"({max_tokens:,}): it could never be submitted", line=n)
        if lines and (lines + 1 > max_lines or offset + size - start > max_bytes
                      or inputs + weight > MAX_EMBEDDING_INPUTS
                      or (max_tokens is not None and tokens + line_tokens > max_tokens)):
            close(offset)
            start, lines, inputs, tokens, cap, uncapped, first = offset, 0, 0, 0, 0, 0, n
        offset += size
        lines += 1
        inputs += weight
        tokens += line_tokens
        cap = None if cap is None or line_cap is None else cap + line_cap
        uncapped += line_cap is None
    if lines:
        total = os.path.getsize(source) if isinstance(source, str) else len(source)
        close(min(offset, total))
    return parts


def materialise(source: Any, endpoint: str | None, model: str | None) -> tuple[bytes | None, str | None]:
    """(bytes, None) or (None, path) for the source; request lists are serialised once."""
    if isinstance(source, (str, os.PathLike)):
        path = os.path.expanduser(os.fspath(source))
        if not os.path.isfile(path):
            what = "is a folder, not a file" if os.path.isdir(path) else "no such file"
            raise InputError(f"{what}: {os.fspath(source)!r}")
        return None, path
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    items = list(source)
    if items and not all(isinstance(i, dict) and "custom_id" in i for i in items):
        items = build_requests(items, model=model, endpoint=endpoint or DEFAULT_ENDPOINT)
    return dumps_jsonl(items), None


def _body_input(obj: Any) -> Any:
    body = obj.get("body") if isinstance(obj, dict) else None
    return body.get("input") if isinstance(body, dict) else None
