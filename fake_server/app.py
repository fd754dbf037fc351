"""The one handler behind every door: `handle(fake, Request) -> Response`.

Order of work for each request: route → auth → fault plan → tenant → Idempotency-Key
replay → the operation (under the fake's lock) → envelope and headers. Errors always use
the API's 4-key envelope, and every response carries `x-request-id`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import spec
from .errors import ApiError
from .files import parse_upload
from .state import Tenant
from .wire import DropConnection, Request, Response, json_response

if TYPE_CHECKING:
    from .fake import FakeBatchesAPI

__all__ = ["handle", "ApiError"]


_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)
_BAD_KEY = "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."

Handler = Callable[..., Any]
_ROUTES: list[tuple[str, re.Pattern[str], str]] = []


def _route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _ROUTES.append((method, re.compile(r"^(?:.*?)" + pattern + r"/?$"), fn.__name__))
        return fn

    return register


def handle(fake: FakeBatchesAPI, request: Request) -> Response:
    started = time.perf_counter()
    request_id = fake._new_request_id()
    headers = {"x-request-id": request_id, "openai-version": "2020-10-01"}
    fault = None
    try:
        fn, args = _resolve(request)
        key = _authenticate(fake, request)
        fault = fake.faults.match(request.method, request.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop == "before":
                fake._record(request, None, request_id)
                raise DropConnection(after_commit=False)
            if fault.status:
                for _ in request.iter_body():
                    pass
                fake._record(request, fault.status, request_id)
                return json_response(fault.status, fault.error_body(), {**headers, **fault.error_headers()})
        tenant_key = fake._tenant_key(key, request.headers)
        headers["openai-organization"] = tenant_key[0]
        status, payload = _run(fake, request, tenant_key, fn, args)
    except ApiError as err:
        status, payload = err.status, err.envelope()
    headers["openai-processing-ms"] = str(int((time.perf_counter() - started) * 1000))
    fake._record(request, status, request_id)
    if fault is not None and fault.drop == "after":
        raise DropConnection(after_commit=True)
    if isinstance(payload, Response):
        payload.headers.update(headers)
        return payload
    return json_response(status, payload, headers)


def _resolve(request: Request) -> tuple[Handler, dict[str, str]]:
    for method, pattern, name in _ROUTES:
        match = pattern.match(request.path)
        if match and method == request.method:
            return globals()[name], match.groupdict()
    raise ApiError(404, f"Invalid URL ({request.method} {request.path})")


def _authenticate(fake: FakeBatchesAPI, request: Request) -> str:
    auth = request.headers.get("authorization", "")
    scheme, _, key = auth.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ApiError(401, _NO_KEY)
    if fake.api_keys is not None and key not in fake.api_keys:
        raise ApiError(401, _BAD_KEY, code="invalid_api_key")
    return key


def _run(fake: FakeBatchesAPI, request: Request, tenant_key: tuple, fn: Handler, args: dict) -> tuple[int, Any]:
    idem = request.headers.get("idempotency-key") if request.method == "POST" else None
    if idem:
        with fake._lock:
            tenant = fake._tenant(tenant_key)
            stored = tenant.idempotency.get(idem)
            if stored is not None and stored[0] == request.path:
                for _ in request.iter_body():
                    pass
                return stored[1], stored[2]
    prepared: Any = None
    if fn is upload_file:  # parsed outside the lock: a large upload must not stall other clients
        try:
            prepared = parse_upload(request)
        except ApiError as err:
            prepared = err
    with fake._lock:
        tenant = fake._tenant(tenant_key)
        twin = tenant.idempotency.get(idem) if idem else None
        if twin is not None and twin[0] == request.path:  # a concurrent twin got here first
            blob = getattr(prepared, "blob", None)
            if blob is not None:  # this copy of the upload is not kept
                blob.discard()
            return twin[1], twin[2]
        try:
            result = fn(fake, tenant, request, prepared=prepared, **args)
        except ApiError as err:
            result = (err.status, err.envelope())
        if idem and result[0] < 500:
            tenant.idempotency[idem] = (request.path, result[0], result[1])
        return result


def _json_body(request: Request) -> dict:
    raw = request.read()
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
            "HTTP library correctly. The OpenAI API expects a JSON payload.)",
        )
    return body


def _int_param(request: Request, name: str, bounds: spec.ListLimit) -> int:
    raw = request.params.get(name)
    if raw is None or raw == "":
        return bounds.default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400, f"Invalid type for '{name}': expected an integer, but got a string instead.", param=name,
            code="invalid_type",
        ) from None
    return max(bounds.low, min(bounds.high, value))


# ---------------------------------------------------------------- files


@_route("POST", r"/files")
def upload_file(fake: FakeBatchesAPI, tenant: Tenant, request: Request, prepared=None) -> tuple[int, Any]:
    if isinstance(prepared, ApiError):
        raise prepared
    upload = prepared
    now = fake._now()
    expires_at = now + spec.BATCH_FILE_SECONDS if upload.fields.get("purpose") == "batch" else None
    seconds = upload.fields.get("expires_after[seconds]")
    if seconds:
        try:
            expires_at = now + int(seconds)
        except ValueError:
            raise ApiError(400, "Invalid value for 'expires_after[seconds]'.", param="expires_after.seconds") from None
    record = fake._add_file(tenant, upload.filename, upload.fields["purpose"], upload.blob, now, expires_at)
    return 200, record.to_dict()


@_route("GET", r"/files")
def list_files(fake: FakeBatchesAPI, tenant: Tenant, request: Request, prepared=None) -> tuple[int, Any]:
    fake._settle_all(tenant)
    limit = _int_param(request, "limit", spec.LIST_FILES_LIMIT)
    order = request.params.get("order", "desc")
    if order not in spec.FILE_ORDERS:
        raise ApiError(400, f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", param="order",
                       code="invalid_value")
    purpose = request.params.get("purpose")
    records = sorted(tenant.files.values(), key=lambda f: f.created_at, reverse=(order == "desc"))
    ids = [f.id for f in records if purpose is None or f.purpose == purpose]
    by_id = tenant.files
    return 200, _page([by_id[i].to_dict() for i in _after(ids, request, limit + 1)], limit)


@_route("GET", r"/files/(?P<file_id>[^/]+)")
def retrieve_file(fake: FakeBatchesAPI, tenant: Tenant, request: Request, prepared=None, *, file_id: str):
    return 200, _file(tenant, file_id).to_dict()


@_route("DELETE", r"/files/(?P<file_id>[^/]+)")
def delete_file(fake: FakeBatchesAPI, tenant: Tenant, request: Request, prepared=None, *, file_id: str):
    record = _file(tenant, file_id)
    del tenant.files[file_id]
    record.blob.discard()
    return 200, {"id": file_id, "object": "file", "deleted": True}


@_route("GET", r"/files/(?P<file_id>[^/]+)/content")
def file_content(fake: FakeBatchesAPI, tenant: Tenant, request: Request, prepared=None, *, file_id: str):
    record = _file(tenant, file_id)
    if record.purpose in spec.UNDOWNLOADABLE_PURPOSES:
        raise ApiError(400, f"Not allowed to download files of purpose: {record.purpose}")
    body = Response(
        200,
        {"content-type": "application/octet-stream", "content-length": str(record.blob.size)},
        record.blob.iter_chunks(),
    )
    return 200, body


def _file(tenant: Tenant, file_id: str):
    record = tenant.files.get(file_id)
    if record is None:
        raise ApiError(404, f"No such File object: {file_id}", param="id")
    return record


# ---------------------------------------------------------------- batches


@_route("POST", r"/batches")
def create_batch(fake: FakeBatchesAPI, tenant: Tenant, request: Request, prepared=None) -> tuple[int, Any]:
    body = _json_body(request)
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
    metadata = _check_metadata(body.get("metadata"))
    seconds = _check_output_expiry(body.get("output_expires_after"))
    record = fake._create_batch(tenant, body["endpoint"], body["input_file_id"], metadata, seconds)
    return 200, fake._batch_dict(tenant, record)


@_route("GET", r"/batches/(?P<batch_id>[^/]+)")
def retrieve_batch(fake: FakeBatchesAPI, tenant: Tenant, request: Request, prepared=None, *, batch_id: str):
    return 200, fake._batch_dict(tenant, _batch(tenant, batch_id))


@_route("POST", r"/batches/(?P<batch_id>[^/]+)/cancel")
def cancel_batch(fake: FakeBatchesAPI, tenant: Tenant, request: Request, prepared=None, *, batch_id: str):
    record = _batch(tenant, batch_id)
    status = fake._status(record)
    if status in spec.TERMINAL - {"cancelled"}:
        raise ApiError(409, f"Cannot cancel a batch with status '{status}'.")
    if status in spec.CANCELLABLE:
        record.schedule.cancelling_at = int(fake._now())
    return 200, fake._batch_dict(tenant, record)


@_route("GET", r"/batches")
def list_batches(fake: FakeBatchesAPI, tenant: Tenant, request: Request, prepared=None) -> tuple[int, Any]:
    limit = _int_param(request, "limit", spec.LIST_BATCHES_LIMIT)
    newest_first = tenant.batch_ids[::-1]
    page = _after(newest_first, request, limit + 1)
    return 200, _page([fake._batch_dict(tenant, tenant.batches[i]) for i in page], limit)


def _batch(tenant: Tenant, batch_id: str):
    record = tenant.batches.get(batch_id)
    if record is None:
        raise ApiError(404, f"No batch found with id '{batch_id}'.")
    return record


# ---------------------------------------------------------------- shared checks and paging


def _after(ids: list[str], request: Request, count: int) -> list[str]:
    after = request.params.get("after")
    start = 0
    if after:
        try:
            start = ids.index(after) + 1
        except ValueError:
            raise ApiError(400, f"Invalid value for 'after': no object with id '{after}'.", param="after",
                           code="invalid_value") from None
    return ids[start : start + count]


def _page(items: list[dict], limit: int) -> dict:
    data = items[:limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(items) > limit,
    }


def _type_message(name: str, expected: str, value: Any) -> str:
    kinds = {list: "an array", dict: "an object", bool: "a boolean", int: "an integer", float: "a number",
             str: "a string", type(None): "null"}
    return f"Invalid type for '{name}': expected {expected}, but got {kinds.get(type(value), 'a value')} instead."


def _check_metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise ApiError(400, _type_message("metadata", "an object", metadata), param="metadata", code="invalid_type")
    if len(metadata) > spec.METADATA_MAX_PAIRS:
        raise ApiError(400, f"Invalid 'metadata': too many properties. Expected an object with at most "
                       f"{spec.METADATA_MAX_PAIRS} "
                       f"properties, but got an object with {len(metadata)} properties instead.",
                       param="metadata", code="object_above_max_properties")
    for key, value in metadata.items():
        if len(key) > spec.METADATA_MAX_KEY_CHARS:
            raise ApiError(400, f"Invalid 'metadata': key '{key[:20]}…' is longer than "
                           f"{spec.METADATA_MAX_KEY_CHARS} characters.",
                           param="metadata", code="invalid_value")
        if not isinstance(value, str):
            raise ApiError(400, _type_message(f"metadata.{key}", "a string", value), param=f"metadata.{key}",
                           code="invalid_type")
        if len(value) > spec.METADATA_MAX_VALUE_CHARS:
            raise ApiError(400, f"Invalid 'metadata.{key}': string too long. Expected a string with maximum "
                           f"length {spec.METADATA_MAX_VALUE_CHARS}, but got a string with length {len(value)} instead.",
                           param=f"metadata.{key}", code="string_above_max_length")
    return dict(metadata)


def _check_output_expiry(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("anchor") != "created_at":
        raise ApiError(400, "Invalid 'output_expires_after': expected {\"anchor\": \"created_at\", \"seconds\": N}.",
                       param="output_expires_after", code="invalid_value")
    seconds = value.get("seconds")
    low, high = spec.EXPIRY_MIN_SECONDS, spec.EXPIRY_MAX_SECONDS
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not low <= seconds <= high:
        raise ApiError(400, f"Invalid 'output_expires_after.seconds': expected an integer between {low} and {high}.",
                       param="output_expires_after.seconds", code="invalid_value")
    return seconds
