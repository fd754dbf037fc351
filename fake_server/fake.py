"""`FakeBatchesAPI`: one in-memory world of the Batches + Files API, its three doors and its test-author controls.

    fake = FakeBatchesAPI(clock=ManualClock())
    client = fake.openai_client()                 # official SDK, in-process (httpx or httpx2)
    session = fake.mount(Session())      # requests, in-process
    with fake.serve() as server: server.base_url  # loopback HTTP, any client

A façade over four parts: the `Backend` (state, scoped per (organization, project) tenant, and every
operation), the `FaultPlan`, the `RequestLog` and the `App` (the one handler every door calls through
`handle()`). Test authors can also read and steer the state without HTTP: `batches()`, `files()`,
`requests`, `upload()`, `create_batch()`, `seed_batch()`, `complete()`, `fail()`, `expire()`, `cancel()`,
`advance()`, `advance_until()`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import spec
from .app import DEFAULT_ORGANIZATION, App
from .backend import Backend, TenantKey
from .catalogue import ModelsOption
from .clock import Clock, ManualClock, SystemClock
from .faults import FaultPlan
from .lifecycle import Timings
from .request_log import RecordedRequest, RequestLog
from .state import Blob
from .wire import Request, Response

if TYPE_CHECKING:
    from requests import Session

    from .server import ServerHandle
    from .transports import FakeAdapter

__all__ = ["FakeBatchesAPI", "RecordedRequest", "DEFAULT_ORGANIZATION"]


class FakeBatchesAPI:
    """An in-memory fake of the OpenAI Batches + Files API.

    clock: `ManualClock()` for tests, `SystemClock(speed)` for demos (default: speed 60).
    api_keys: None accepts any non-empty Bearer key; otherwise the accepted keys, or a mapping
        key -> organization (or (organization, project)) that binds a key to its tenant.
    seed: seeds ids and output shuffles, so runs repeat.
    timings: `Timings` (simulated seconds for validation, per request, finalizing, cancelling).
    responder: `callable(RequestLine) -> dict | (status, dict) | None`, or raise
        `responders.LineError`, to answer or fail any line (see fake_server.responders).
    models: which models a batch may name (fake_server.catalogue): None, the catalogue of models the Batch
        API serves per endpoint (`spec.MODEL_CATALOGUE`, dated snapshots included); a collection of names or
        fnmatch globs to add to it; "any" (any non-empty name); or `callable(model) -> bool` to decide alone.
        ``fake-error-NNN`` is always served and ``unsupported-*`` always refused (except by a predicate).
    enqueued_token_limits: model -> the prompt tokens an organization may have enqueued in unfinished
        batches of that model (e.g. ``{"gpt-4o-mini": 2_000_000}``); a batch that would pass it ends `failed`
        with `token_limit_exceeded`. Default: no quota.
    batch_create_limit_per_hour: `POST /batches` per organization per hour of simulated time before a 429
        with `retry-after` (default 2,000, the real limit; None: no limit).
    honour_idempotency_key: replay the 2xx answer of a POST that repeats an `Idempotency-Key` with the same
        request (24 h of simulated time, at most 10,000 keys); the key with another request (body, upload,
        route) is a 422; a 4xx or 5xx answer is not kept, so the request runs again. Default False: like the real API as far as the SDK shows, the header is
        ignored and a repeated POST runs again.
    max_recorded: how many requests `requests` keeps (oldest dropped first; also bounded in bytes).
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        api_keys: Iterable[str] | Mapping[str, Any] | None = None,
        seed: int = 0,
        timings: Timings | None = None,
        responder: Callable[..., Any] | None = None,
        models: ModelsOption = None,
        organization: str = DEFAULT_ORGANIZATION,
        max_recorded: int = 10_000,
        enqueued_token_limits: Mapping[str, int] | None = None,
        batch_create_limit_per_hour: int | None = spec.BATCH_CREATES_PER_HOUR,
        honour_idempotency_key: bool = False,
    ) -> None:
        keys: dict[str, Any] | None = None
        if api_keys is not None:
            keys = dict(api_keys) if isinstance(api_keys, Mapping) else dict.fromkeys(api_keys)
        self.backend = Backend(clock if clock is not None else SystemClock(), seed=seed, timings=timings,
                               responder=responder, models=models,
                               enqueued_token_limits=dict(enqueued_token_limits or {}),
                               batch_create_limit_per_hour=batch_create_limit_per_hour)
        self.request_log = RequestLog(max_recorded)
        self.app = App(self.backend, FaultPlan(seed), self.request_log, keys, organization,
                       honour_idempotency_key=honour_idempotency_key)

    # ------------------------------------------------------------ settings (live: read by every request)

    @property
    def clock(self) -> Clock:
        return self.backend.clock

    @clock.setter
    def clock(self, value: Clock) -> None:
        self.backend.clock = value

    @property
    def api_keys(self) -> Any:
        """None (any key), or the accepted keys (a dict key -> binding when given to the constructor)."""
        return self.app.api_keys

    @api_keys.setter
    def api_keys(self, value: Any) -> None:
        self.app.api_keys = value

    @property
    def timings(self) -> Timings:
        return self.backend.timings

    @timings.setter
    def timings(self, value: Timings) -> None:
        self.backend.timings = value

    @property
    def responder(self) -> Callable[..., Any] | None:
        return self.backend.responder

    @responder.setter
    def responder(self, value: Callable[..., Any] | None) -> None:
        self.backend.responder = value

    @property
    def models(self) -> Any:
        """What `models=` was given (None: the catalogue); set it to change the rule for later creates."""
        return self.backend.models

    @models.setter
    def models(self, value: ModelsOption) -> None:
        self.backend.models = value

    @property
    def honour_idempotency_key(self) -> bool:
        return self.app.honour_idempotency_key

    @honour_idempotency_key.setter
    def honour_idempotency_key(self, value: bool) -> None:
        self.app.honour_idempotency_key = bool(value)

    @property
    def organization(self) -> str:
        return self.app.organization

    @organization.setter
    def organization(self, value: str) -> None:
        self.app.organization = value

    @property
    def seed(self) -> int:
        return self.backend.seed

    @seed.setter
    def seed(self, value: int) -> None:
        self.backend.seed = value

    @property
    def faults(self) -> FaultPlan:
        return self.app.faults

    @faults.setter
    def faults(self, value: FaultPlan) -> None:
        self.app.faults = value

    # ------------------------------------------------------------ the handler

    def handle(self, request: Request) -> Response:
        """Answer one request (thread-safe). May sleep or raise `wire.DropConnection` (faults)."""
        return self.app.handle(request)

    def reset(self) -> None:
        """Forget every file, batch, tenant, recorded request, kept Idempotency-Key and fault, and the limits'
        counts; the clock keeps its time."""
        self.backend.reset()
        self.app.reset()
        self.request_log.clear()
        self.faults.clear()

    def close(self) -> None:
        """Free everything the fake holds (spilled uploads included); it stays usable, empty. `serve()`'s
        server and `python -m fake_server` call this when they stop."""
        self.reset()

    # ------------------------------------------------------------ inspection (no HTTP)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, oldest first (bounded by `max_recorded`)."""
        return self.request_log.entries()

    def batches(self, organization: str | None = None, project: str | None = None) -> list[dict]:
        """Batches as the API would return them, newest first; every tenant unless one is named."""
        return self.backend.batches(self._scope(organization, project))

    def files(self, organization: str | None = None, project: str | None = None) -> list[dict]:
        """Files (inputs and batch outputs) as the API would return them, newest first."""
        return self.backend.files(self._scope(organization, project))

    def batch(self, batch_id: str) -> dict:
        return self.backend.batch(batch_id)

    def file_content(self, file_id: str) -> bytes:
        return self.backend.file_content(file_id)

    # ------------------------------------------------------------ steering (no HTTP)

    def advance(self, seconds: float) -> float:
        """Move the clock forward (ManualClock or SystemClock)."""
        return self.clock.advance(seconds)  # type: ignore[attr-defined]

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` as a client of this fake would: on a `ManualClock` nothing else moves time, so the
        clock jumps forward by `seconds` at once; on any other clock this is `time.sleep(seconds)`.

        `BatchesClient.offline(fake)` waits through this (polling in `wait()`, monitors, retry backoff), so
        code that waits on a ManualClock fake finishes at once and the same way every run.
        """
        if isinstance(self.clock, ManualClock):
            self.clock.advance(max(0.0, float(seconds)))
        else:
            time.sleep(seconds)

    def upload(
        self,
        content: bytes | Iterable[dict],
        filename: str = "input.jsonl",
        purpose: str = "batch",
        organization: str | None = None,
        project: str | None = None,
    ) -> dict:
        """Store a file directly (no upload rules applied) and return its File object."""
        if not isinstance(content, (bytes, bytearray)):
            content = b"".join(json.dumps(line).encode() + b"\n" for line in content)
        blob = Blob.from_bytes(bytes(content))
        return self.backend.upload(self._tenant(organization, project), filename, purpose, blob)

    def create_batch(
        self,
        input_file_id: str,
        endpoint: str = "/v1/chat/completions",
        metadata: dict[str, str] | None = None,
        organization: str | None = None,
        project: str | None = None,
    ) -> dict:
        """Create a batch directly (the create-time 400 checks are skipped)."""
        return self.backend.create_batch(self._tenant(organization, project), endpoint=endpoint,
                                         input_file_id=input_file_id, metadata=metadata)

    def seed_batch(
        self,
        status: str = "completed",
        *,
        requests: int = 3,
        failed: int = 0,
        completed: int | None = None,
        endpoint: str = "/v1/chat/completions",
        model: str | None = None,
        metadata: dict[str, str] | None = None,
        errors: list[dict] | None = None,
        organization: str | None = None,
        project: str | None = None,
    ) -> dict:
        """A batch that is in `status` now, with `requests` input lines.

        `failed`: lines that answer with an error (the error file; the first lines to finish), for any status
        whose lines run (not `validating` or `failed`). `completed`: lines that answered successfully
        (`request_counts.completed`), for `finalizing` and `completed` (then `completed` + `failed` =
        `requests`; default: the rest) and `expired`, `cancelling`, `cancelled` (`completed` + `failed` lines
        finished before the end; default: half the lines in all). `errors`: the validation errors of a
        `failed` batch only. A contradiction (more lines than `requests`, a field the status has no use for)
        raises ValueError naming the field. `model` defaults to one the endpoint serves (gpt-4o-mini
        for chat and responses, text-embedding-3-small for embeddings, ...: `spec.Endpoint.sample_model`).
        """
        if model is None:
            model = spec.ENDPOINTS[endpoint].sample_model if endpoint in spec.ENDPOINTS else "gpt-4o-mini"
        return self.backend.seed_batch(self._tenant(organization, project), status, requests=requests,
                                       failed=failed, completed=completed, endpoint=endpoint, model=model,
                                       metadata=metadata, errors=errors)

    def complete(self, batch_id: str) -> dict:
        """Finish every line now: the batch is `completed` at this instant."""
        return self.backend.complete(batch_id)

    def fail(self, batch_id: str, errors: list[dict] | None = None) -> dict:
        """Fail the batch now, with `errors` (BatchError dicts) or a generic one."""
        return self.backend.fail(batch_id, errors)

    def expire(self, batch_id: str) -> dict:
        """Expire the batch now: finished lines kept, the rest `batch_expired`."""
        return self.backend.expire(batch_id)

    def cancel(self, batch_id: str) -> dict:
        """Cancel as `POST /batches/{id}/cancel` would (raises ValueError for a finished batch)."""
        return self.backend.cancel(batch_id)

    def advance_until(self, batch_id: str, status: str) -> dict:
        """Move the clock to the instant `batch_id` enters `status` (never backwards)."""
        return self.backend.advance_until(batch_id, status)

    # ------------------------------------------------------------ doors

    def requests_adapter(self) -> FakeAdapter:
        from .transports import FakeAdapter

        return FakeAdapter(self)

    def mount(self, session: Session, base_url: str | None = None) -> Session:
        from .transports import DEFAULT_BASE_URL, mount

        return mount(self, session, base_url or DEFAULT_BASE_URL)

    def requests_session(self, base_url: str | None = None) -> Session:
        from .transports import DEFAULT_BASE_URL, requests_session

        return requests_session(self, base_url or DEFAULT_BASE_URL)

    def httpx_transport(self, module: Any = None) -> Any:
        from .transports import httpx_transport

        return httpx_transport(self, module)

    def async_httpx_transport(self, module: Any = None) -> Any:
        from .transports import async_httpx_transport

        return async_httpx_transport(self, module)

    def mock_httpx(self, base_url: str | None = None, using: str | None = None) -> Any:
        from .transports import DEFAULT_BASE_URL, mock_httpx

        return mock_httpx(self, base_url or DEFAULT_BASE_URL, using)

    def openai_client(self, **kwargs: Any) -> Any:
        from .transports import openai_client

        return openai_client(self, **kwargs)

    def async_openai_client(self, **kwargs: Any) -> Any:
        from .transports import async_openai_client

        return async_openai_client(self, **kwargs)

    def serve(self, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> ServerHandle:
        from .server import serve

        return serve(self, host, port, **kwargs)

    def __repr__(self) -> str:
        n_batches, n_files = self.backend.counts()
        return f"<FakeBatchesAPI {self.clock!r} batches={n_batches} files={n_files}>"

    # ------------------------------------------------------------ tenants named by test authors

    def _tenant(self, organization: str | None, project: str | None) -> TenantKey:
        return organization or self.organization, project

    def _scope(self, organization: str | None, project: str | None) -> TenantKey | None:
        """One tenant when either is named, else None (every tenant)."""
        if organization is None and project is None:
            return None
        return self._tenant(organization, project)
