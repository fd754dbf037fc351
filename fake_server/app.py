"""The one handler behind every door: `App(backend, faults, request_log, ...).handle(Request) -> Response`.

Order of work for each request: route (exact paths only: anything else is a 404 in the API's envelope) →
the route's body cap (a declared `Content-Length` past it is a 413 at once, a streamed body past it a 413
as soon as it gets there) → auth → fault plan → tenant → parse the request (outside any lock) → claim the
Idempotency-Key (only with `honour_idempotency_key=True`: the kept answer of the same request, a 422 for
another request with that key, or the right to run) → one backend call → envelope and headers. Errors always use the API's 4-key envelope, and every response
carries `x-request-id`. A response whose request body was left unread says `close`, and the doors close
the connection instead of draining it.

`ROUTES` is the whole HTTP surface. Each route function parses its request into a `Call`: the one backend
method to run, with plain values. App runs it once it holds the request's Idempotency-Key (if any), so a
large upload or JSON body is read while other clients carry on, and two twins with one key never both run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import params, spec
from .backend import Backend, TenantKey
from .errors import ApiError
from .faults import FaultPlan
from .files import parse_upload
from .idempotency import IdempotencyStore, request_digest, upload_digest
from .request_log import RequestLog
from .wire import CappedBody, DropConnection, Request, Response, json_response, too_large

__all__ = ["App", "Call", "Route", "ROUTES", "DEFAULT_ORGANIZATION", "API_VERSION"]

DEFAULT_ORGANIZATION = "org-fake"
API_VERSION = "2020-10-01"
_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)
_BAD_KEY = "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."

Answer = tuple[int, Any]  # (status, a JSON payload or a ready Response)


def _keep_nothing() -> None:
    pass


@dataclass(frozen=True)
class Call:
    """A parsed request: `run(backend, tenant)` makes its one backend call and returns the payload;
    `discard()` frees what parsing holds (an uploaded file) when a twin's answer is replayed instead;
    `digest` identifies the request for an Idempotency-Key (None: the App digests the JSON body)."""

    run: Callable[[Backend, TenantKey], Any]
    discard: Callable[[], None] = _keep_nothing
    digest: str | None = None

    @staticmethod
    def failing(error: ApiError) -> Call:
        """A request that failed to parse: running it gives that error (replay still wins, as for any call)."""

        def run(backend: Backend, tenant: TenantKey) -> Any:
            raise error

        return Call(run)


RouteFunction = Callable[[Request, dict[str, str]], Call]


@dataclass(frozen=True)
class Route:
    """`method` plus a path regex under ``/v1`` that must match the whole path, and the largest body it takes."""

    method: str
    pattern: re.Pattern[str]
    parse: RouteFunction
    max_body: int = spec.MAX_JSON_BODY_BYTES

    @classmethod
    def of(cls, method: str, pattern: str, parse: RouteFunction, max_body: int = spec.MAX_JSON_BODY_BYTES) -> Route:
        return cls(method, re.compile(r"/v1" + pattern), parse, max_body)


# ---------------------------------------------------------------- files


def upload_file(request: Request, args: dict[str, str]) -> Call:
    upload = parse_upload(request)
    blob, filename, purpose = upload.blob, upload.filename, upload.fields["purpose"]
    assert blob is not None and filename is not None  # parse_upload refuses an upload without them
    try:
        seconds = params.upload_expiry(upload.fields)
    except ApiError:
        blob.discard()
        raise
    digest = upload_digest(request.method, request.path, filename, upload.fields, upload.content_sha256)
    return Call(lambda backend, tenant: backend.upload(tenant, filename, purpose, blob, seconds), blob.discard,
                digest)


def list_files(request: Request, args: dict[str, str]) -> Call:
    limit = params.list_limit(request, spec.LIST_FILES_LIMIT)
    query = request.params
    order, purpose, after = query.get("order", "desc"), query.get("purpose"), query.get("after")
    return Call(lambda backend, tenant: backend.list_files(tenant, purpose=purpose, limit=limit, order=order,
                                                           after=after))


def retrieve_file(request: Request, args: dict[str, str]) -> Call:
    return Call(lambda backend, tenant: backend.retrieve_file(tenant, args["file_id"]))


def delete_file(request: Request, args: dict[str, str]) -> Call:
    return Call(lambda backend, tenant: backend.delete_file(tenant, args["file_id"]))


def download_file(request: Request, args: dict[str, str]) -> Call:
    def run(backend: Backend, tenant: TenantKey) -> Response:
        blob = backend.file_for_download(tenant, args["file_id"])
        headers = {"content-type": "application/octet-stream", "content-length": str(blob.size)}
        return Response(200, headers, blob.iter_chunks())

    return Call(run)


# ---------------------------------------------------------------- batches


def create_batch(request: Request, args: dict[str, str]) -> Call:
    body = params.batch_creation(request)
    return Call(lambda backend, tenant: backend.create_batch(
        tenant, endpoint=body.endpoint, input_file_id=body.input_file_id, completion_window=body.completion_window,
        metadata=body.metadata, output_expires_seconds=body.output_expires_seconds, rate_limited=True,
    ))


def retrieve_batch(request: Request, args: dict[str, str]) -> Call:
    return Call(lambda backend, tenant: backend.retrieve_batch(tenant, args["batch_id"]))


def cancel_batch(request: Request, args: dict[str, str]) -> Call:
    return Call(lambda backend, tenant: backend.cancel_batch(tenant, args["batch_id"]))


def list_batches(request: Request, args: dict[str, str]) -> Call:
    limit = params.list_limit(request, spec.LIST_BATCHES_LIMIT)
    after = request.params.get("after")
    return Call(lambda backend, tenant: backend.list_batches(tenant, limit=limit, after=after))


#: The HTTP surface, tried in order; the first route whose method and pattern (the whole path) match wins.
ROUTES: tuple[Route, ...] = (
    Route.of("POST", r"/files", upload_file, spec.MAX_UPLOAD_BODY_BYTES),
    Route.of("GET", r"/files", list_files),
    Route.of("GET", r"/files/(?P<file_id>[^/]+)", retrieve_file),
    Route.of("DELETE", r"/files/(?P<file_id>[^/]+)", delete_file),
    Route.of("GET", r"/files/(?P<file_id>[^/]+)/content", download_file),
    Route.of("POST", r"/batches", create_batch),
    Route.of("GET", r"/batches/(?P<batch_id>[^/]+)", retrieve_batch),
    Route.of("POST", r"/batches/(?P<batch_id>[^/]+)/cancel", cancel_batch),
    Route.of("GET", r"/batches", list_batches),
)


def resolve(request: Request) -> tuple[Route, dict[str, str]]:
    """The route for `request` and its path arguments; a 404 envelope when none matches."""
    for route in ROUTES:
        match = route.pattern.fullmatch(request.path)
        if match and route.method == request.method:
            return route, match.groupdict()
    raise ApiError(404, f"Invalid URL ({request.method} {request.path})")


# ---------------------------------------------------------------- the handler


class App:
    """The handler: auth, faults, tenants, Idempotency-Key replay and the request log around `ROUTES`.

    api_keys: None accepts any non-empty Bearer key; otherwise the accepted keys, or a mapping key ->
        organization (or (organization, project)) binding a key to its tenant.
    organization: the tenant of a request that names none and whose key is not bound.
    """

    def __init__(self, backend: Backend, faults: FaultPlan, request_log: RequestLog,
                 api_keys: Iterable[str] | Mapping[str, Any] | None = None,
                 organization: str = DEFAULT_ORGANIZATION, *, honour_idempotency_key: bool = False) -> None:
        self.backend = backend
        self.faults = faults
        self.request_log = request_log
        self.api_keys = api_keys
        self.organization = organization
        self.honour_idempotency_key = honour_idempotency_key
        self.idempotency = IdempotencyStore()

    def handle(self, request: Request) -> Response:
        """Answer one request (thread-safe). May sleep or raise `wire.DropConnection` (faults)."""
        started = time.perf_counter()
        request_id = self.backend.new_request_id()
        headers = {"x-request-id": request_id, "openai-version": API_VERSION}
        body = _capped(request)
        fault = None
        try:
            route, args = resolve(request)
            body.limit = route.max_body
            declared = _declared_length(request)
            if declared is not None and declared > route.max_body:
                raise too_large(f"{request.method} {request.path}", declared, route.max_body)
            key = self._authenticate(request)
            fault = self.faults.match(request.method, request.path)
            if fault is not None:
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.drop == "before":
                    self._record(request, None, request_id, started)
                    raise DropConnection(after_commit=False)
                if fault.status:
                    _drain(request)
                    self._record(request, fault.status, request_id, started)
                    answer = json_response(fault.status, fault.error_body(), {**headers, **fault.error_headers()})
                    answer.close = not body.finished
                    return answer
            tenant = self.tenant_key(key, request.headers)
            headers["openai-organization"] = tenant[0]
            status, payload = self._run(request, tenant, route, args)
        except ApiError as err:
            status, payload = err.status, err.envelope()
            headers.update(err.headers)
        headers["openai-processing-ms"] = str(int((time.perf_counter() - started) * 1000))
        self._record(request, status, request_id, started)
        if fault is not None and fault.drop == "after":
            raise DropConnection(after_commit=True)
        if isinstance(payload, Response):
            payload.headers.update(headers)
            answer = payload
        else:
            answer = json_response(status, payload, headers)
        answer.close = not body.finished
        return answer

    def tenant_key(self, key: str, headers: Mapping[str, str]) -> TenantKey:
        """(organization, project) of a request: its OpenAI-Organization / OpenAI-Project headers, else the
        key's binding, else the default organization; a 401 when the headers contradict the binding."""
        bound = self.api_keys.get(key) if isinstance(self.api_keys, Mapping) else None
        bound_org, bound_project = (bound, None) if isinstance(bound, str) or bound is None else tuple(bound)
        org = headers.get("openai-organization") or bound_org or self.organization
        project = headers.get("openai-project") or bound_project or None
        if bound_org and org != bound_org:
            raise ApiError(401, "OpenAI-Organization header should match organization for API key.",
                           code="mismatched_organization")
        if bound_project and project != bound_project:
            raise ApiError(401, "OpenAI-Project header should match project for API key.", code="mismatched_project")
        return org, project

    def reset(self) -> None:
        """Forget every kept Idempotency-Key answer."""
        self.idempotency.clear()

    def _authenticate(self, request: Request) -> str:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise ApiError(401, _NO_KEY)
        if self.api_keys is not None and key not in self.api_keys:
            raise ApiError(401, _BAD_KEY, code="invalid_api_key")
        return key

    def _run(self, request: Request, tenant: TenantKey, route: Route, args: dict[str, str]) -> Answer:
        honour = self.honour_idempotency_key and request.method == "POST"
        idem = request.headers.get("idempotency-key") if honour else None
        try:
            call = route.parse(request, args)  # reads the body: outside every lock
            digest = (call.digest or request_digest(request.method, request.path, request.read())) if idem else ""
        except ApiError as err:  # a request that fails its checks is never keyed: nothing compared, nothing kept
            call, idem = Call.failing(err), None
        if not idem:
            return self._call(call, tenant)
        claim = self.idempotency.claim(tenant, idem, digest, self.backend.now())  # waits while a twin runs
        if claim.answer is not None:
            call.discard()  # this copy of the upload is not kept
            return claim.answer
        answer: Answer | None = None
        try:
            answer = self._call(call, tenant)
            return answer
        finally:
            kept = answer if answer is not None and 200 <= answer[0] < 300 else None  # a 4xx or 5xx runs again
            self.idempotency.release(claim, kept, self.backend.now())

    def _call(self, call: Call, tenant: TenantKey) -> Answer:
        try:
            return 200, call.run(self.backend, tenant)
        except ApiError as err:
            if err.headers:
                return err.status, json_response(err.status, err.envelope(), err.headers)
            return err.status, err.envelope()

    def _record(self, request: Request, status: int | None, request_id: str, started: float) -> None:
        ms = (time.perf_counter() - started) * 1000
        self.request_log.record(request, status, request_id, self.backend.now(), ms)


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _capped(request: Request) -> CappedBody:
    """Wrap the request's body so reading past the route's cap is a 413 and the App knows if it was all read."""
    if isinstance(request.body, CappedBody):
        return request.body
    capped = CappedBody(request.body, spec.MAX_JSON_BODY_BYTES, f"{request.method} {request.path}")
    empty_bytes = isinstance(request.body, (bytes, bytearray, memoryview)) and not request.body
    no_body = "content-length" not in request.headers and "transfer-encoding" not in request.headers
    if empty_bytes or request.headers.get("content-length") == "0" or no_body:
        capped.finished = True  # nothing to read, nothing left behind
    request.body = capped
    return capped


def _drain(request: Request) -> None:
    """Read what is left of the body (to keep a connection in step); stops quietly at the cap or a timeout."""
    try:
        for _ in request.iter_body():
            pass
    except ApiError:
        pass
