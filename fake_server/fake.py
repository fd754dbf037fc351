"""`FakeBatchesAPI`: one in-memory world of the Batches + Files API, and its three doors.

    fake = FakeBatchesAPI(clock=ManualClock())
    client = fake.openai_client()                 # official SDK, in-process (httpx or httpx2)
    session = fake.mount(requests.Session())      # requests, in-process
    with fake.serve() as server: server.base_url  # loopback HTTP, any client

All doors call `handle()`. State lives in this object only (no module globals), scoped per
(organization, project) tenant. Test authors can also read and steer it without HTTP:
`batches()`, `files()`, `requests`, `upload()`, `create_batch()`, `seed_batch()`,
`complete()`, `fail()`, `expire()`, `cancel()`, `advance()`, `advance_until()`.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import app, spec
from . import batches as ops
from .clock import Clock, ManualClock, SystemClock
from .errors import ApiError, envelope
from .faults import FaultPlan
from .lifecycle import Timings, observe
from .state import BatchRecord, Blob, FileRecord, Tenant
from .wire import Request, Response

__all__ = ["FakeBatchesAPI", "RecordedRequest", "DEFAULT_ORGANIZATION"]

DEFAULT_ORGANIZATION = "org-fake"
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received. The Authorization header is never kept."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    status: int | None  # None: the connection was dropped before an answer
    request_id: str
    at: float


class FakeBatchesAPI:
    """An in-memory fake of the OpenAI Batches + Files API.

    clock: `ManualClock()` for tests, `SystemClock(speed)` for demos (default: speed 60).
    api_keys: None accepts any non-empty Bearer key; otherwise the accepted keys, or a mapping
        key -> organization (or (organization, project)) that binds a key to its tenant.
    seed: seeds ids and output shuffles, so runs repeat.
    timings: `Timings` (simulated seconds for validation, per request, finalizing, cancelling).
    responder: `callable(RequestLine) -> dict | (status, dict) | None`, or raise
        `responders.LineError`, to answer or fail any line (see fake_server.responders).
    models: `callable(model) -> bool` deciding which models the Batch API "supports".
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        api_keys: Iterable[str] | Mapping[str, Any] | None = None,
        seed: int = 0,
        timings: Timings | None = None,
        responder: Callable[..., Any] | None = None,
        models: Callable[[str], bool] | None = None,
        organization: str = DEFAULT_ORGANIZATION,
        max_recorded: int = 100_000,
    ) -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.api_keys: dict[str, Any] | None = None
        if api_keys is not None:
            self.api_keys = dict(api_keys) if isinstance(api_keys, Mapping) else dict.fromkeys(api_keys)
        self.timings = timings or Timings()
        self.responder = responder
        self.models = models
        self.organization = organization
        self.seed = seed
        self._lock = threading.RLock()
        self._id_lock = threading.Lock()
        self._max_recorded = max_recorded
        self.faults = FaultPlan(seed)
        self.reset()

    # ------------------------------------------------------------ the handler

    def handle(self, request: Request) -> Response:
        """Answer one request (thread-safe). May sleep or raise `wire.DropConnection` (faults)."""
        return app.handle(self, request)

    def reset(self) -> None:
        """Forget every file, batch, recorded request and fault; the clock keeps its time."""
        with self._lock:
            for tenant in getattr(self, "_tenants", {}).values():
                tenant.discard()
            self._tenants: dict[tuple[str, str | None], Tenant] = {}
            self._rng = random.Random(self.seed)
            self._seq = 0
            self._requests: deque[RecordedRequest] = deque(maxlen=self._max_recorded)
            self.faults.clear()

    # ------------------------------------------------------------ inspection (no HTTP)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, oldest first (bounded by `max_recorded`)."""
        with self._lock:
            return list(self._requests)

    def batches(self, organization: str | None = None, project: str | None = None) -> list[dict]:
        """Batches as the API would return them, newest first; every tenant unless one is named."""
        with self._lock:
            records = [
                (tenant, record)
                for tenant in self._select(organization, project)
                for record in tenant.batches.values()
            ]
            records.sort(key=lambda tr: tr[1].seq, reverse=True)
            return [self._batch_dict(tenant, record) for tenant, record in records]

    def files(self, organization: str | None = None, project: str | None = None) -> list[dict]:
        """Files (inputs and batch outputs) as the API would return them, newest first."""
        with self._lock:
            out: list[dict] = []
            for tenant in self._select(organization, project):
                self._settle_all(tenant)
                out.extend(f.to_dict() for f in tenant.files.values())
            return sorted(out, key=lambda f: f["created_at"], reverse=True)

    def batch(self, batch_id: str) -> dict:
        with self._lock:
            tenant, record = self._find_batch(batch_id)
            return self._batch_dict(tenant, record)

    def file_content(self, file_id: str) -> bytes:
        with self._lock:
            for tenant in self._tenants.values():
                if file_id in tenant.files:
                    return tenant.files[file_id].blob.read()
        raise KeyError(f"no file {file_id!r} in this fake")

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
        with self._lock:
            tenant = self._tenant((organization or self.organization, project))
            now = self._now()
            expires = now + spec.BATCH_FILE_SECONDS if purpose == "batch" else None
            return self._add_file(tenant, filename, purpose, Blob.from_bytes(bytes(content)), now, expires).to_dict()

    def create_batch(
        self,
        input_file_id: str,
        endpoint: str = "/v1/chat/completions",
        metadata: dict[str, str] | None = None,
        organization: str | None = None,
        project: str | None = None,
    ) -> dict:
        """Create a batch directly (the create-time 400 checks are skipped)."""
        with self._lock:
            tenant = self._tenant((organization or self.organization, project))
            record = self._create_batch(tenant, endpoint, input_file_id, metadata, None)
            return self._batch_dict(tenant, record)

    def seed_batch(
        self,
        status: str = "completed",
        *,
        requests: int = 3,
        failed: int = 0,
        completed: int | None = None,
        endpoint: str = "/v1/chat/completions",
        model: str = "gpt-4o-mini",
        metadata: dict[str, str] | None = None,
        errors: list[dict] | None = None,
        organization: str | None = None,
        project: str | None = None,
    ) -> dict:
        """A batch that is in `status` now, with `requests` input lines.

        `failed` lines answer with an error (the error file); for `expired`, `cancelling` and
        `cancelled`, `completed` lines (default: half) finished before the end. `errors` are the
        validation errors of a `failed` batch.
        """
        if status not in spec.STATUSES:
            raise ValueError(f"unknown status {status!r}")
        shape = spec.ENDPOINTS.get(endpoint, spec.ENDPOINTS["/v1/chat/completions"])
        lines = [
            {"custom_id": f"request-{i + 1}", "method": "POST", "url": endpoint,
             "body": shape.sample_body(model, f"Prompt {i + 1}")}
            for i in range(requests)
        ]
        with self._lock:
            file_id = self.upload(lines, organization=organization, project=project)["id"]
            tenant = self._tenant((organization or self.organization, project))
            record = self._create_batch(tenant, endpoint, file_id, metadata, None)
            s, now = record.schedule, self._now()
            if status == "failed":
                s.errors = errors or [
                    {"code": "invalid_request", "message": "Seeded failure.", "param": None, "line": None}
                ]
                s.validated_at = now
            elif status != "validating":
                s.validated_at = now
                span = 0 if status in ("finalizing", "completed") else self.timings.processing_span(s.n)
                order = sorted(range(s.n), key=lambda i: s.done_at[i])
                s.plan_lines(now, span, order)
                if failed:
                    answers = ops.ensure_answers(record, self.responder)
                    for index in range(min(failed, s.n)):
                        answers[index] = (400, _seeded_error())
                if status == "completed":
                    s.forced_complete_at = now
                elif status in ("expired", "cancelling", "cancelled"):
                    k = s.n // 2 if completed is None else min(completed, s.n)
                    s.set_done([now if rank < k else now + 1 + rank for rank in _ranks(s.done_at)])
                    if status == "expired":
                        s.forced_expire_at = now
                    else:
                        s.cancelling_at = now
                        if status == "cancelled":
                            s.cancelling_seconds = 0
            return self._batch_dict(tenant, record)

    def complete(self, batch_id: str) -> dict:
        """Finish every line now: the batch is `completed` at this instant."""
        return self._force(batch_id, "complete")

    def fail(self, batch_id: str, errors: list[dict] | None = None) -> dict:
        """Fail the batch now, with `errors` (BatchError dicts) or a generic one."""
        return self._force(batch_id, "fail", errors)

    def expire(self, batch_id: str) -> dict:
        """Expire the batch now: finished lines kept, the rest `batch_expired`."""
        return self._force(batch_id, "expire")

    def cancel(self, batch_id: str) -> dict:
        """Cancel as `POST /batches/{id}/cancel` would (raises ValueError for a finished batch)."""
        return self._force(batch_id, "cancel")

    def advance_until(self, batch_id: str, status: str) -> dict:
        """Move the clock to the instant `batch_id` enters `status` (never backwards)."""
        with self._lock:
            tenant, record = self._find_batch(batch_id)
            s = record.schedule
            final, final_at = s.terminal()
            starts: dict[str, int | None] = {
                "validating": s.created_at,
                "in_progress": s.validated_at,
                "finalizing": s.finalizing_at,
                "cancelling": s.cancelling_at,
                final: final_at,
            }
            at = starts.get(status)
            if at is None or observe(s, at).status != status:
                raise ValueError(f"batch {batch_id} will not be {status!r} (it ends {final!r})")
            now = self.clock.now()
            if at > now:
                self.advance(at - now)
            return self._batch_dict(tenant, record)

    # ------------------------------------------------------------ doors

    def requests_adapter(self) -> Any:
        from .transports import FakeAdapter

        return FakeAdapter(self)

    def mount(self, session: Any, base_url: str | None = None) -> Any:
        from .transports import DEFAULT_BASE_URL, mount

        return mount(self, session, base_url or DEFAULT_BASE_URL)

    def requests_session(self, base_url: str | None = None) -> Any:
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

    def serve(self, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> Any:
        from .server import serve

        return serve(self, host, port, **kwargs)

    def __repr__(self) -> str:
        with self._lock:
            n_batches = sum(len(t.batches) for t in self._tenants.values())
            n_files = sum(len(t.files) for t in self._tenants.values())
        return f"<FakeBatchesAPI {self.clock!r} batches={n_batches} files={n_files}>"

    # ------------------------------------------------------------ internals used by app.py

    def _now(self) -> int:
        return int(self.clock.now())

    def _new_request_id(self) -> str:
        with self._id_lock:
            return f"req_{self._rng.getrandbits(128):032x}"

    def _new_id(self, kind: str) -> str:
        with self._id_lock:
            if kind == "file":
                return "file-" + "".join(self._rng.choice(_ALNUM) for _ in range(22))
            return f"batch_{self._rng.getrandbits(128):032x}"

    def _record(self, request: Request, status: int | None, request_id: str) -> None:
        headers = {k: v for k, v in request.headers.items() if k not in ("authorization", "proxy-authorization")}
        entry = RecordedRequest(request.method, request.path, request.query, headers, status, request_id,
                                self.clock.now())
        with self._lock:
            self._requests.append(entry)

    def _tenant_key(self, key: str, headers: Mapping[str, str]) -> tuple[str, str | None]:
        bound = (self.api_keys or {}).get(key)
        bound_org, bound_project = (bound, None) if isinstance(bound, str) or bound is None else tuple(bound)
        org = headers.get("openai-organization") or bound_org or self.organization
        project = headers.get("openai-project") or bound_project or None
        if bound_org and org != bound_org:
            raise ApiError(401, "OpenAI-Organization header should match organization for API key.",
                               code="mismatched_organization")
        if bound_project and project != bound_project:
            raise ApiError(401, "OpenAI-Project header should match project for API key.",
                               code="mismatched_project")
        return org, project

    def _tenant(self, key: tuple[str, str | None]) -> Tenant:
        tenant = self._tenants.get(key)
        if tenant is None:
            tenant = self._tenants[key] = Tenant(organization=key[0], project=key[1])
        return tenant

    def _select(self, organization: str | None, project: str | None) -> list[Tenant]:
        if organization is None and project is None:
            return list(self._tenants.values())
        key = (organization or self.organization, project)
        return [self._tenants[key]] if key in self._tenants else []

    def _find_batch(self, batch_id: str) -> tuple[Tenant, BatchRecord]:
        for tenant in self._tenants.values():
            if batch_id in tenant.batches:
                return tenant, tenant.batches[batch_id]
        raise KeyError(f"no batch {batch_id!r} in this fake")

    def _add_file(self, tenant: Tenant, filename: str, purpose: str, blob: Blob, now: int,
                  expires_at: int | None) -> FileRecord:
        record = FileRecord(self._new_id("file"), filename, purpose, now, blob, expires_at)
        tenant.files[record.id] = record
        return record

    def _create_batch(self, tenant: Tenant, endpoint: str, input_file_id: str, metadata: dict | None,
                      output_expires_seconds: int | None) -> BatchRecord:
        self._seq += 1
        return ops.new_batch(
            tenant,
            batch_id=self._new_id("batch"),
            seq=self._seq,
            now=self._now(),
            endpoint=endpoint,
            input_file_id=input_file_id,
            completion_window=spec.COMPLETION_WINDOWS[0],
            metadata=metadata,
            output_expires_seconds=output_expires_seconds,
            timings=self.timings,
            rng=self._rng,
            is_supported_model=self.models,
        )

    def _status(self, record: BatchRecord) -> str:
        return observe(record.schedule, self.clock.now()).status

    def _batch_dict(self, tenant: Tenant, record: BatchRecord) -> dict:
        view = observe(record.schedule, self.clock.now())
        if view.terminal_at is not None and not record.settled:
            ops.settle(tenant, record, view, self.responder, lambda: self._new_id("file"))
        return ops.batch_dict(record, view, self.responder)

    def _settle_all(self, tenant: Tenant) -> None:
        now = self.clock.now()
        for record in tenant.batches.values():
            if not record.settled:
                view = observe(record.schedule, now)
                if view.terminal_at is not None:
                    ops.settle(tenant, record, view, self.responder, lambda: self._new_id("file"))

    def _force(self, batch_id: str, action: str, errors: list[dict] | None = None) -> dict:
        with self._lock:
            tenant, record = self._find_batch(batch_id)
            status = self._status(record)
            s, now = record.schedule, self._now()
            if action == "cancel" and status in ("cancelling", "cancelled"):
                return self._batch_dict(tenant, record)
            if status in spec.TERMINAL:
                raise ValueError(f"batch {batch_id} is already {status!r}")
            if action == "complete":
                if s.errors is not None:
                    raise ValueError(f"batch {batch_id} has invalid input and can only fail")
                if s.cancelling_at is not None:
                    raise ValueError(f"batch {batch_id} is cancelling")
                s.validated_at = min(s.validated_at, now)
                s.finish_all_by(now)
                s.forced_complete_at = now
            elif action == "fail":
                if status == "validating":
                    s.validated_at = now
                    s.errors = errors or [
                        {"code": "failed", "message": "Failed by the test.", "param": None, "line": None}
                    ]
                else:
                    s.forced_fail_at = now
                    s.fail_errors = errors
            elif action == "expire":
                if status == "cancelling":
                    raise ValueError(f"batch {batch_id} is cancelling: it can only end cancelled")
                s.forced_expire_at = now
            elif action == "cancel":
                s.cancelling_at = now
            return self._batch_dict(tenant, record)


def _ranks(values: list[int]) -> list[int]:
    order = sorted(range(len(values)), key=lambda i: (values[i], i))
    ranks = [0] * len(values)
    for rank, index in enumerate(order):
        ranks[index] = rank
    return ranks


def _seeded_error() -> dict:
    return envelope("Seeded request failure.")
