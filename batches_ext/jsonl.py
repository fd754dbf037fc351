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
This module builds request lines; reading/writing lives in `_lines` and the checks in `_preflight`,
and every public name is re-exported here.
"""

from __future__ import annotations

from typing import Any

from ._lines import atomic_open, dumps_jsonl, dumps_line, iter_jsonl, iter_raw_lines, write_jsonl
from ._preflight import (
    _MODEL_OPTIONAL,
    ENDPOINTS,
    FAKE_ERROR_PREFIX,
    LIMIT_CODES,
    MAX_BYTES,
    MAX_EMBEDDING_INPUTS,
    MAX_LINES,
    Preflight,
    Problem,
    embedding_inputs,
    preflight,
)
from .errors import InputError

__all__ = [
    "ENDPOINTS",
    "MAX_LINES",
    "MAX_BYTES",
    "MAX_EMBEDDING_INPUTS",
    "LIMIT_CODES",
    "FAKE_ERROR_PREFIX",
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
