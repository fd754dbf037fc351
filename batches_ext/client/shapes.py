"""What a 2xx answer must look like before it becomes a model: `batch`, `file_object`, `page`, `deleted`.

Each check returns the decoded object when it has the shape the API documents (reference sections 2.2, 3 and
6), and otherwise raises `APIResponseError` saying what was wrong (`` `request_counts` is a list, not an
object ``), never an AttributeError or KeyError later. Only what batches_ext reads is checked; unknown fields
pass through untouched. Timestamps are numbers of seconds within the years 1970..5000.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..errors import APIResponseError

__all__ = ["batch", "file_object", "page", "deleted", "checked", "ShapeError"]

_BATCH_TEXT = ("object", "endpoint", "input_file_id", "completion_window", "model", "output_file_id",
               "error_file_id")
_BATCH_TIMES = ("created_at", "in_progress_at", "expires_at", "finalizing_at", "completed_at", "failed_at",
                "expired_at", "cancelling_at", "cancelled_at")
_FILE_TEXT = ("object", "filename", "purpose", "status")
_MAX_TIME = 95_617_584_000  # year 5000


class ShapeError(APIResponseError):
    """One shape problem, before `checked` adds the call, status and request id to it."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ShapeError(f"{what} is {_kind(value)}, not an object")
    return value


def _text(obj: dict[str, Any], key: str, *, required: bool = False, where: str = "") -> None:
    value = obj.get(key)
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value):
        raise ShapeError(f"`{where}{key}` is {_kind(value) if value != '' else 'empty'}, not a string")


def _time(obj: dict[str, Any], key: str) -> None:
    value = obj.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value < _MAX_TIME:
        shown = _kind(value) if not isinstance(value, (int, float)) or isinstance(value, bool) else repr(value)
        raise ShapeError(f"`{key}` is {shown}, not a time in seconds")


def _count(obj: dict[str, Any], key: str, where: str) -> None:
    value = obj.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        shown = value if isinstance(value, int) and not isinstance(value, bool) else _kind(value)
        raise ShapeError(f"`{where}{key}` is {shown}, not a count")


def batch(value: Any) -> dict[str, Any]:
    """A Batch object (`id` and `status` strings; the rest as documented, or null)."""
    obj = _object(value, "the batch")
    _text(obj, "id", required=True)
    if not isinstance(obj.get("status"), str):
        raise ShapeError(f"`status` is {_kind(obj.get('status'))}, not a string")
    get = obj.get
    for key in _BATCH_TEXT:  # (the type() tests are the fast path: listing thousands of batches stays cheap)
        value = get(key)
        if value is not None and type(value) is not str:
            _text(obj, key)
    for key in _BATCH_TIMES:
        value = get(key)
        if value is not None and (type(value) is not int or not 0 <= value < _MAX_TIME):
            _time(obj, key)
    counts = get("request_counts")
    if counts is not None:
        _object(counts, "`request_counts`")
        for key in ("total", "completed", "failed"):
            value = counts.get(key)
            if value is not None and (type(value) is not int or value < 0):
                _count(counts, key, "request_counts.")
    errors = obj.get("errors")
    if errors is not None:
        data = errors.get("data") if isinstance(errors, dict) else errors
        if not isinstance(errors, (dict, list)) or (data is not None and not isinstance(data, list)):
            raise ShapeError(f"`errors` is {_kind(errors)}, not an object with a `data` list")
        for item in data or ():
            entry = _object(item, "an entry of `errors.data`")
            for key in ("code", "message", "param"):
                _text(entry, key, where="errors.data[].")
            _count(entry, "line", "errors.data[].")
    if obj.get("usage") is not None:
        _object(obj["usage"], "`usage`")
    metadata = obj.get("metadata")
    if metadata is not None:
        _object(metadata, "`metadata`")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ShapeError("`metadata` holds a value that is not a string")
    return obj


def file_object(value: Any) -> dict[str, Any]:
    """A File object (`id` a string; `bytes` a count; the rest as documented, or null)."""
    obj = _object(value, "the file")
    _text(obj, "id", required=True)
    _count(obj, "bytes", "")
    for key in _FILE_TEXT:
        _text(obj, key)
    for key in ("created_at", "expires_at"):
        _time(obj, key)
    return obj


def page(value: Any, item: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """A list page: `data` a list of items that pass `item`, `has_more` a boolean, the ids strings or null."""
    obj = _object(value, "the page")
    data = obj.get("data")
    if not isinstance(data, list):
        raise ShapeError(f"`data` is {_kind(data)}, not a list")
    has_more = obj.get("has_more", False)
    if not isinstance(has_more, bool):
        raise ShapeError(f"`has_more` is {_kind(has_more)}, not a boolean")
    for key in ("first_id", "last_id"):
        _text(obj, key)
    for index, entry in enumerate(data):
        try:
            item(entry)
        except ShapeError as err:
            raise ShapeError(f"item {index} of `data`: {err}") from None
    return obj


def deleted(value: Any) -> dict[str, Any]:
    """The answer to a DELETE: `deleted` a boolean."""
    obj = _object(value, "the answer")
    if not isinstance(obj.get("deleted"), bool):
        raise ShapeError(f"`deleted` is {_kind(obj.get('deleted'))}, not a boolean")
    return obj


def checked(check: Callable[[Any], dict[str, Any]], value: Any, *, what: str, status: int,
            request_id: str | None) -> dict[str, Any]:
    """`check(value)`, or the APIResponseError naming the call (`what`), status and request id."""
    try:
        return check(value)
    except ShapeError as err:
        rid = f", request {request_id}" if request_id else ""
        raise APIResponseError(f"malformed answer to {what} ({status}{rid}): {err}", status_code=status,
                               request_id=request_id) from None
