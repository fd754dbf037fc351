"""batches_ext.jsonl: batch input and result lines, with no HTTP.

    lines = build_requests(["Hi", "Bye"], model="gpt-4o-mini", temperature=0)   # custom_id request-1, -2
    write_jsonl(lines, "in.jsonl")                                              # atomic
    preflight("in.jsonl").raise_for_problems()                                  # InputError names line N
    parse_result_line(text)                                                     # one output/error file line

`preflight` applies the rules the Batch API checks when it validates an input file (reference 4.4):
one JSON object per line, `custom_id`/`method`/`url`/`body` present, `method` POST, `url` equal to the
endpoint, no `stream: true`, a model (one per file), unique `custom_id`s, a non-empty file within
50,000 lines / 200 MB. It streams the source line by line and never raises on arbitrary bytes.
Modules: `build` (request lines), `lines` (JSONL I/O), `checks` (preflight), `results` (the result-line format),
`structured` (the strict json_schema response format from a pydantic model or a JSON Schema).
"""

from __future__ import annotations

from ..atomic import atomic_open
from ..errors import Problem
from .build import OWN_ARGUMENTS, build_requests
from .checks import LIMIT_CODES, Preflight, embedding_inputs, preflight
from .lines import (
    INVALID,
    dumps_jsonl,
    dumps_line,
    iter_jsonl,
    iter_raw_lines,
    parse_json_line,
    why_invalid,
    write_jsonl,
)
from .results import ResultLine, parse_result_line, prompt_text, response_text, usage_tokens
from .structured import STRUCTURED_ENDPOINTS, response_format_body, schema_of, strict_schema

__all__ = [
    "INVALID",
    "LIMIT_CODES",
    "OWN_ARGUMENTS",
    "STRUCTURED_ENDPOINTS",
    "Preflight",
    "Problem",
    "ResultLine",
    "atomic_open",
    "build_requests",
    "dumps_jsonl",
    "dumps_line",
    "embedding_inputs",
    "iter_jsonl",
    "iter_raw_lines",
    "parse_json_line",
    "parse_result_line",
    "preflight",
    "prompt_text",
    "response_format_body",
    "response_text",
    "schema_of",
    "strict_schema",
    "usage_tokens",
    "why_invalid",
    "write_jsonl",
]
