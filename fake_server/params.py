"""What a request carries, parsed and checked into plain values: JSON bodies, list parameters, create fields.

The handler's route functions call these outside any lock, before the backend sees anything. Each check
raises `errors.ApiError` (400) with the API's wording, param and code (reference §2.1, §3, §5); nothing
here holds state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import spec, strict_json
from .errors import ApiError
from .wire import Request

__all__ = ["BatchCreation", "json_body", "list_limit", "batch_creation", "upload_expiry", "expiry_seconds",
           "metadata_field", "unknown_parameters"]

_NOT_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload.)"
)
_KINDS = {list: "an array", dict: "an object", bool: "a boolean", int: "an integer", float: "a number",
          str: "a string", type(None): "null"}


@dataclass(frozen=True)
class BatchCreation:
    """The checked fields of a `POST /batches` body."""

    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None
    output_expires_seconds: int | None


_CREATE_FIELDS = ("input_file_id", "endpoint", "completion_window", "metadata", "output_expires_after")


def json_body(request: Request) -> dict:
    """The request's body as a JSON object (reads the whole body). Strict JSON only (fake_server.strict_json):
    NaN, Infinity, a number past a float's range or nesting past `spec.MAX_JSON_DEPTH` are a 400 too."""
    raw = request.read()
    try:
        body = strict_json.loads(raw or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, _NOT_JSON)
    return body


def unknown_parameters(body: Mapping[str, Any], known: tuple[str, ...]) -> None:
    """The API's 400 for a parameter the endpoint does not take."""
    for name in body:
        if name not in known:
            raise ApiError(400, f"Unrecognized request argument supplied: {str(name)[:100]}")


def list_limit(request: Request, bounds: spec.ListLimit) -> int:
    """The `limit` query parameter clamped to `bounds` (its default when absent or empty)."""
    raw = request.params.get("limit")
    if raw is None or raw == "":
        return bounds.default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "Invalid type for 'limit': expected an integer, but got a string instead.",
                       param="limit", code="invalid_type") from None
    return max(bounds.low, min(bounds.high, value))


def batch_creation(request: Request) -> BatchCreation:
    """The `POST /batches` body, with the create-time 400s the API gives (reference §2.1)."""
    body = json_body(request)
    unknown_parameters(body, _CREATE_FIELDS)
    for name in ("input_file_id", "endpoint", "completion_window"):
        if body.get(name) in (None, ""):
            raise ApiError(400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
        if not isinstance(body[name], str):
            raise ApiError(400, _type_message(name, "a string", body[name]), param=name, code="invalid_type")
    if body["endpoint"] not in spec.ENDPOINTS:
        allowed = ", ".join(f"'{e}'" for e in spec.ENDPOINTS)
        raise ApiError(400, f"Invalid value: '{body['endpoint']}'. Supported values are: {allowed}.",
                       param="endpoint", code="invalid_value")
    if body["completion_window"] not in spec.COMPLETION_WINDOWS:
        allowed = ", ".join(f"'{w}'" for w in spec.COMPLETION_WINDOWS)
        raise ApiError(400, f"Invalid value: '{body['completion_window']}'. Supported values are: {allowed}.",
                       param="completion_window", code="invalid_value")
    return BatchCreation(
        input_file_id=body["input_file_id"],
        endpoint=body["endpoint"],
        completion_window=body["completion_window"],
        metadata=metadata_field(body.get("metadata")),
        output_expires_seconds=_output_expiry(body.get("output_expires_after")),
    )


def upload_expiry(fields: Mapping[str, str]) -> int | None:
    """`expires_after[anchor]` / `expires_after[seconds]` of an upload's form fields (the SDK's bracket
    notation): anchor `created_at`, seconds a whole number from 3,600 to 2,592,000; None when neither is sent."""
    anchor, seconds = fields.get("expires_after[anchor]"), fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    return expiry_seconds("expires_after", anchor, seconds)


def expiry_seconds(name: str, anchor: Any, seconds: Any) -> int:
    """The seconds of an `{anchor, seconds}` expiry (`expires_after` of an upload, `output_expires_after` of a
    batch), with the API's 400s: a missing part, an anchor other than `created_at`, seconds that are not a
    whole number or lie outside 3,600 ... 2,592,000."""
    for part, value in (("anchor", anchor), ("seconds", seconds)):
        if value is None or value == "":
            raise ApiError(400, f"Missing required parameter: '{name}.{part}'.", param=f"{name}.{part}",
                           code="missing_required_parameter")
    if anchor != "created_at":
        shown = anchor if isinstance(anchor, str) else str(anchor)
        raise ApiError(400, f"Invalid value: '{shown[:64]}'. Supported values are: 'created_at'.",
                       param=f"{name}.anchor", code="invalid_value")
    if isinstance(seconds, str):
        text = seconds.strip()
        if not text.lstrip("-").isdigit():
            # a form field is always text: say what is wrong with it, not that it is a string
            raise ApiError(400, f"Invalid type for '{name}.seconds': expected an integer.",
                           param=f"{name}.seconds", code="invalid_type")
        seconds = int(text)
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise ApiError(400, _type_message(f"{name}.seconds", "an integer", seconds), param=f"{name}.seconds",
                       code="invalid_type")
    low, high = spec.EXPIRY_MIN_SECONDS, spec.EXPIRY_MAX_SECONDS
    if seconds < low:
        raise ApiError(400, f"Integer below minimum value. Expected a value >= {low}, but got {seconds} instead.",
                       param=f"{name}.seconds", code="integer_below_min_value")
    if seconds > high:
        raise ApiError(400, f"Integer above maximum value. Expected a value <= {high}, but got {seconds} instead.",
                       param=f"{name}.seconds", code="integer_above_max_value")
    return seconds


def _type_message(name: str, expected: str, value: Any) -> str:
    return f"Invalid type for '{name}': expected {expected}, but got {_KINDS.get(type(value), 'a value')} instead."


def metadata_field(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise ApiError(400, _type_message("metadata", "an object", metadata), param="metadata", code="invalid_type")
    if len(metadata) > spec.METADATA_MAX_PAIRS:
        raise ApiError(400, f"Invalid 'metadata': too many properties. Expected an object with at most "
                       f"{spec.METADATA_MAX_PAIRS} properties, but got an object with {len(metadata)} properties "
                       "instead.", param="metadata", code="object_above_max_properties")
    for key, value in metadata.items():
        if len(key) > spec.METADATA_MAX_KEY_CHARS:
            raise ApiError(400, f"Invalid 'metadata': key '{key[:20]}…' is longer than "
                           f"{spec.METADATA_MAX_KEY_CHARS} characters.", param="metadata", code="invalid_value")
        if not isinstance(value, str):
            raise ApiError(400, _type_message(f"metadata.{key}", "a string", value), param=f"metadata.{key}",
                           code="invalid_type")
        if len(value) > spec.METADATA_MAX_VALUE_CHARS:
            raise ApiError(400, f"Invalid 'metadata.{key}': string too long. Expected a string with maximum "
                           f"length {spec.METADATA_MAX_VALUE_CHARS}, but got a string with length {len(value)} "
                           "instead.", param=f"metadata.{key}", code="string_above_max_length")
    return dict(metadata)


def _output_expiry(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(400, _type_message("output_expires_after", "an object", value), param="output_expires_after",
                       code="invalid_type")
    unknown_parameters(value, ("anchor", "seconds"))
    return expiry_seconds("output_expires_after", value.get("anchor"), value.get("seconds"))
