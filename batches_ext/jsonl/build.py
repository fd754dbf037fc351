"""`build_requests`: request lines (`custom_id`, `method`, `url`, `body`) from prompts, message lists, bodies,
or a pandas Series, one per item, in order.

    lines = build_requests(["Hi", "Bye"], model="gpt-4o-mini", temperature=0)   # custom_id request-1, -2
    lines = build_requests(prompts, model="gpt-4o-mini", response_format=Person)  # strict json_schema answers

Keyword arguments other than its own must be body parameters of the endpoint (`spec.BODY_PARAMETERS`, from
OpenAI's OpenAPI description): a typo such as `custom_ids=` is an InputError naming the valid ones, never a key
sent in every body.
"""

from __future__ import annotations

import difflib
import numbers
from typing import Any

from ..errors import InputError
from ..spec import BODY_PARAMETERS, DEFAULT_ENDPOINT, ENDPOINTS, MESSAGE_ENDPOINTS
from .structured import response_format_body

__all__ = ["build_requests", "OWN_ARGUMENTS"]

#: build_requests' own keyword arguments (everything else is a body parameter of the endpoint).
OWN_ARGUMENTS = ("model", "endpoint", "system", "id_prefix", "ids", "response_format")


# ---------------------------------------------------------------------------------------------- build


def build_requests(
    items: Any,
    *,
    model: str | None = None,
    endpoint: str = DEFAULT_ENDPOINT,
    system: str | None = None,
    id_prefix: str = "request-",
    ids: Any = None,
    response_format: Any = None,
    **body_defaults: Any,
) -> list[dict[str, Any]]:
    """Request lines (`custom_id`, `method`, `url`, `body`) for `endpoint`, one per item, in order.

    items: prompts (str), chat message lists (`[{"role", "content"}, ...]`), request bodies (dict), full
        request lines (dicts with `body` and `custom_id`/`url`; kept, `url`/`method` filled in), or a
        pandas Series (a one-column DataFrame works too).
    ids: None gives `f"{id_prefix}{n}"` for n = 1..N; "index" uses the Series' index labels (as str);
        or an iterable of ids, one per item (a whole-number float such as 1.0 becomes "1"; a missing id, None or
        NaN, is an InputError naming the item). custom_ids must be unique.
    system: a system message (chat: first message; responses: `instructions`).
    response_format: a pydantic model class or a JSON Schema dict: every line asks for JSON fitting it, in
        OpenAI's strict `json_schema` mode (chat: `response_format`; responses: `text.format`); read the answers
        back with `Results.parsed(Model)`.
    body_defaults: extra body parameters of the endpoint (e.g. `temperature=0`); an item's own keys win. An
        unknown name is an InputError listing the valid ones.
    Raises InputError (with the 1-based item number) for an item it cannot turn into a request.
    """
    if endpoint not in ENDPOINTS:
        raise InputError(f"unsupported endpoint {endpoint!r}; expected one of: {', '.join(ENDPOINTS)}")
    _check_arguments(endpoint, body_defaults)
    if response_format is not None:
        structured = response_format_body(response_format, endpoint)
        if "text" in structured and isinstance(body_defaults.get("text"), dict):
            structured["text"] = {**body_defaults["text"], **structured["text"]}
        body_defaults = {**body_defaults, **structured}
    values, labels = _items_and_labels(items)
    if ids is None:
        custom_ids = [f"{id_prefix}{n}" for n in range(1, len(values) + 1)]
    elif isinstance(ids, str) and ids == "index":
        if labels is None:
            raise InputError("ids='index' needs a pandas Series or DataFrame column")
        custom_ids = [str(label) for label in labels]
    else:
        custom_ids = [_custom_id(i, n) for n, i in enumerate(ids, start=1)]
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


def _check_arguments(endpoint: str, given: dict[str, Any]) -> None:
    known = BODY_PARAMETERS.get(endpoint)
    if known is None:
        return
    unknown = [name for name in given if name not in known]
    if not unknown:
        return
    name = unknown[0]
    choices = list(dict.fromkeys([*OWN_ARGUMENTS, *sorted(known)]))  # response_format is both
    close = [c for c in OWN_ARGUMENTS if name.endswith(c) or c.endswith(name)]
    for c in difflib.get_close_matches(name, choices, n=3, cutoff=0.6):
        if c not in close:
            close.append(c)
    hint = f" (did you mean {' or '.join(f'{c}=' for c in close[:2])}?)" if close else ""
    raise InputError(f"build_requests: unknown argument {name}={hint}; it takes "
                     f"{', '.join(f'{a}=' for a in OWN_ARGUMENTS)} and the body parameters of {endpoint}: "
                     f"{', '.join(sorted(known))}")


def _custom_id(value: Any, n: int) -> str:
    """The custom_id of item `n` from its entry in `ids=`: a missing value (None, NaN, pandas' NA) is refused; a
    whole-number float (1.0, as pandas stores an int column that has a NaN) is written as an int ("1")."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        raise InputError(f"item {n}: missing id (ids= has {value!r} there; every line needs a custom_id)", line=n)
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        number = float(value)
        if number != number:
            raise InputError(f"item {n}: missing id (ids= has NaN there; every line needs a custom_id)", line=n)
        if number.is_integer():
            return str(int(number))
    return str(value)


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
    if "model" not in body and ENDPOINTS[endpoint].model_required:
        raise InputError(f"item {n}: no model: pass model=... or put 'model' in the body", line=n)
    if "model" in body:
        body = {"model": body.pop("model"), **body}
    return {"custom_id": custom_id, "method": "POST", "url": endpoint, "body": body}


def _body_for(item: Any, n: int, model: str | None, endpoint: str, system: str | None, defaults: dict) -> dict:
    body: dict[str, Any] = {} if model is None else {"model": model}
    if isinstance(item, str):
        prompt: Any = item
    elif _is_messages(item):
        if endpoint not in MESSAGE_ENDPOINTS:
            raise InputError(f"item {n}: a message list needs {' or '.join(sorted(MESSAGE_ENDPOINTS))}", line=n)
        prompt = [dict(m) for m in item]
    else:
        kind = "missing value" if _is_missing(item) else type(item).__name__
        raise InputError(
            f"item {n}: expected a prompt (str), a message list or a request body (dict), got {kind}", line=n
        )
    if ENDPOINTS[endpoint].prompt_key == "messages":
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        if system is not None and not (messages and messages[0].get("role") in ("system", "developer")):
            messages = [{"role": "system", "content": system}, *messages]
        body["messages"] = messages
    else:
        if system is not None:
            if endpoint != "/v1/responses":
                raise InputError(f"system= is not supported for {endpoint}")
            body["instructions"] = system
        body[ENDPOINTS[endpoint].prompt_key] = prompt
    for key, value in defaults.items():
        body.setdefault(key, value)
    return body


def _is_messages(item: Any) -> bool:
    return isinstance(item, (list, tuple)) and bool(item) and all(isinstance(m, dict) and "role" in m for m in item)


def _is_missing(item: Any) -> bool:
    return item is None or (isinstance(item, float) and item != item)
