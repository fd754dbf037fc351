"""`Backend`: every file and batch of every tenant, the ids, the clock and the one lock; each operation public.

The handler (fake_server.app) and the test-author controls (fake_server.fake) both work through these
methods only. They take plain values (a tenant key, ids, parsed fields; never an HTTP request), take the
lock themselves, and raise `errors.ApiError` with the API's status and wording (404 unknown id, 409 cancel
of a finished batch, 400 bad cursor or undownloadable purpose). Request-shape checks (JSON types, enums,
metadata limits) belong to the handler's parsing (fake_server.params): the backend takes what it is given,
which is how a test author creates a batch directly. The test-author controls (`seed_batch`, `complete`,
`fail`, `expire`, `cancel`, `advance_until`) raise ValueError / KeyError as FakeBatchesAPI documents.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from . import batches as ops
from .clock import Clock
from .errors import ApiError
from .lifecycle import Timings, observe
from .spec import (
    BATCH_FILE_SECONDS,
    CANCELLABLE,
    COMPLETION_WINDOWS,
    FILE_ORDERS,
    LIST_BATCHES_LIMIT,
    LIST_FILES_LIMIT,
    STATUSES,
    TERMINAL,
    UNDOWNLOADABLE_PURPOSES,
)
from .state import BatchRecord, Blob, FileRecord, Tenant

__all__ = ["Backend", "IdSource", "TenantKey"]

TenantKey = tuple[str, str | None]  # (organization, project)
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class IdSource:
    """Ids from one seeded `random.Random`, so a seeded fake hands out the same ids on every run."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # also shuffles each batch's output order
        self._lock = threading.Lock()

    def request_id(self) -> str:
        with self._lock:
            return f"req_{self.rng.getrandbits(128):032x}"

    def file_id(self) -> str:
        with self._lock:
            return "file-" + "".join(self.rng.choice(_ALNUM) for _ in range(22))

    def batch_id(self) -> str:
        with self._lock:
            return f"batch_{self.rng.getrandbits(128):032x}"


class Backend:
    """The fake's state and every operation on it. One lock guards all tenants; ids have their own."""

    def __init__(
        self,
        clock: Clock,
        *,
        seed: int = 0,
        timings: Timings | None = None,
        responder: Callable[..., Any] | None = None,
        models: Callable[[str], bool] | None = None,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.timings = timings or Timings()
        self.responder = responder
        self.models = models
        self._lock = threading.RLock()
        self._tenants: dict[TenantKey, Tenant] = {}
        self._ids = IdSource(seed)
        self._seq = 0

    def reset(self) -> None:
        """Forget every tenant (their spilled files are removed) and restart ids from the seed."""
        with self._lock:
            for tenant in self._tenants.values():
                tenant.discard()
            self._tenants = {}
            self._ids = IdSource(self.seed)
            self._seq = 0

    def now(self) -> float:
        return self.clock.now()

    def new_request_id(self) -> str:
        return self._ids.request_id()

    # ------------------------------------------------------------ files

    def upload(self, tenant_key: TenantKey, filename: str, purpose: str, blob: Blob,
               expires_after_seconds: int | None = None) -> dict:
        """Store a file; it expires `expires_after_seconds` from now (default: 30 days for purpose batch)."""
        with self._lock:
            tenant = self._tenant(tenant_key)
            now = self._seconds()
            expires_at = now + BATCH_FILE_SECONDS if purpose == "batch" else None
            if expires_after_seconds is not None:
                expires_at = now + expires_after_seconds
            record = FileRecord(self._ids.file_id(), filename, purpose, now, blob, expires_at)
            tenant.files[record.id] = record
            return record.to_dict()

    def list_files(self, tenant_key: TenantKey, *, purpose: str | None = None,
                   limit: int = LIST_FILES_LIMIT.default,
                   order: str = "desc", after: str | None = None) -> dict:
        with self._lock:
            tenant = self._tenant(tenant_key)
            self._settle_all(tenant)
            if order not in FILE_ORDERS:
                allowed = " and ".join(f"'{o}'" for o in FILE_ORDERS)
                raise ApiError(400, f"Invalid value: '{order}'. Supported values are: {allowed}.",
                               param="order", code="invalid_value")
            records = sorted(tenant.files.values(), key=lambda f: f.created_at, reverse=(order == "desc"))
            ids = [f.id for f in records if purpose is None or f.purpose == purpose]
            return _page([tenant.files[i].to_dict() for i in _after(ids, after, limit + 1)], limit)

    def retrieve_file(self, tenant_key: TenantKey, file_id: str) -> dict:
        with self._lock:
            return self._file(self._tenant(tenant_key), file_id).to_dict()

    def delete_file(self, tenant_key: TenantKey, file_id: str) -> dict:
        with self._lock:
            tenant = self._tenant(tenant_key)
            record = self._file(tenant, file_id)
            del tenant.files[file_id]
            record.blob.discard()
            return {"id": file_id, "object": "file", "deleted": True}

    def file_for_download(self, tenant_key: TenantKey, file_id: str) -> Blob:
        """The content of a downloadable file (400 for purposes the API never hands back)."""
        with self._lock:
            record = self._file(self._tenant(tenant_key), file_id)
            if record.purpose in UNDOWNLOADABLE_PURPOSES:
                raise ApiError(400, f"Not allowed to download files of purpose: {record.purpose}")
            return record.blob

    # ------------------------------------------------------------ batches

    def create_batch(self, tenant_key: TenantKey, *, endpoint: str, input_file_id: str,
                     completion_window: str = COMPLETION_WINDOWS[0], metadata: dict[str, str] | None = None,
                     output_expires_seconds: int | None = None) -> dict:
        """A new batch, `validating`; its input file is checked now and the outcome revealed over time."""
        with self._lock:
            tenant = self._tenant(tenant_key)
            record = self._new_batch(tenant, endpoint, input_file_id, completion_window, metadata,
                                     output_expires_seconds)
            return self._batch_dict(tenant, record)

    def retrieve_batch(self, tenant_key: TenantKey, batch_id: str) -> dict:
        with self._lock:
            tenant = self._tenant(tenant_key)
            return self._batch_dict(tenant, self._batch(tenant, batch_id))

    def cancel_batch(self, tenant_key: TenantKey, batch_id: str) -> dict:
        with self._lock:
            tenant = self._tenant(tenant_key)
            record = self._batch(tenant, batch_id)
            self._cancel(record)
            return self._batch_dict(tenant, record)

    def list_batches(self, tenant_key: TenantKey, *, limit: int = LIST_BATCHES_LIMIT.default,
                     after: str | None = None) -> dict:
        """Newest first, `limit` per page, after the batch id `after`."""
        with self._lock:
            tenant = self._tenant(tenant_key)
            page = _after(tenant.batch_ids[::-1], after, limit + 1)
            return _page([self._batch_dict(tenant, tenant.batches[i]) for i in page], limit)

    # ------------------------------------------------------------ what test authors read and steer

    def batches(self, tenant_key: TenantKey | None = None) -> list[dict]:
        """Batches as the API returns them, newest first: of one tenant, or of all (None)."""
        with self._lock:
            found = [(t, record) for t in self._select(tenant_key) for record in t.batches.values()]
            found.sort(key=lambda pair: pair[1].seq, reverse=True)
            return [self._batch_dict(tenant, record) for tenant, record in found]

    def files(self, tenant_key: TenantKey | None = None) -> list[dict]:
        """Files (inputs and batch outputs) as the API returns them, newest first."""
        with self._lock:
            out: list[dict] = []
            for tenant in self._select(tenant_key):
                self._settle_all(tenant)
                out.extend(f.to_dict() for f in tenant.files.values())
            return sorted(out, key=lambda f: f["created_at"], reverse=True)

    def batch(self, batch_id: str) -> dict:
        """One batch, whichever tenant holds it (KeyError if none)."""
        with self._lock:
            return self._batch_dict(*self._find_batch(batch_id))

    def file_content(self, file_id: str) -> bytes:
        """One file's bytes, whichever tenant holds it (KeyError if none)."""
        with self._lock:
            for tenant in self._tenants.values():
                if file_id in tenant.files:
                    return tenant.files[file_id].blob.read()
        raise KeyError(f"no file {file_id!r} in this fake")

    def counts(self) -> tuple[int, int]:
        """(batches, files) across every tenant."""
        with self._lock:
            tenants = list(self._tenants.values())
            return sum(len(t.batches) for t in tenants), sum(len(t.files) for t in tenants)

    def seed_batch(self, tenant_key: TenantKey, status: str, *, requests: int, failed: int, completed: int | None,
                   endpoint: str, model: str, metadata: dict[str, str] | None, errors: list[dict] | None) -> dict:
        """A batch that is in `status` now (see FakeBatchesAPI.seed_batch)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        content = ops.sample_input(endpoint, model, requests)
        with self._lock:
            file_id = self.upload(tenant_key, "input.jsonl", "batch", Blob.from_bytes(content))["id"]
            tenant = self._tenant(tenant_key)
            record = self._new_batch(tenant, endpoint, file_id, COMPLETION_WINDOWS[0], metadata, None)
            ops.seed(record, status, self._seconds(), self.timings, self.responder, failed=failed,
                     completed=completed, errors=errors)
            return self._batch_dict(tenant, record)

    def complete(self, batch_id: str) -> dict:
        return self._force(batch_id, "complete")

    def fail(self, batch_id: str, errors: list[dict] | None = None) -> dict:
        return self._force(batch_id, "fail", errors)

    def expire(self, batch_id: str) -> dict:
        return self._force(batch_id, "expire")

    def cancel(self, batch_id: str) -> dict:
        """Cancel as `cancel_batch` does, by id in any tenant; ValueError (not a 409) for a finished batch."""
        with self._lock:
            tenant, record = self._find_batch(batch_id)
            try:
                self._cancel(record)
            except ApiError:
                raise ValueError(f"batch {batch_id} is already {self._status(record)!r}") from None
            return self._batch_dict(tenant, record)

    def advance_until(self, batch_id: str, status: str) -> dict:
        """Move the clock to the instant `batch_id` enters `status` (never backwards)."""
        with self._lock:
            tenant, record = self._find_batch(batch_id)
            at = ops.entered_at(record, status)
            if at is None:
                final = record.schedule.terminal()[0]
                raise ValueError(f"batch {batch_id} will not be {status!r} (it ends {final!r})")
            now = self.clock.now()
            if at > now:
                self.clock.advance(at - now)  # type: ignore[attr-defined]
            return self._batch_dict(tenant, record)

    # ------------------------------------------------------------ internals (always under the lock)

    def _seconds(self) -> int:
        return int(self.clock.now())

    def _status(self, record: BatchRecord) -> str:
        return observe(record.schedule, self.clock.now()).status

    def _tenant(self, key: TenantKey) -> Tenant:
        tenant = self._tenants.get(key)
        if tenant is None:
            tenant = self._tenants[key] = Tenant(organization=key[0], project=key[1])
        return tenant

    def _select(self, key: TenantKey | None) -> list[Tenant]:
        if key is None:
            return list(self._tenants.values())
        return [self._tenants[key]] if key in self._tenants else []

    def _file(self, tenant: Tenant, file_id: str) -> FileRecord:
        record = tenant.files.get(file_id)
        if record is None:
            raise ApiError(404, f"No such File object: {file_id}", param="id")
        return record

    def _batch(self, tenant: Tenant, batch_id: str) -> BatchRecord:
        record = tenant.batches.get(batch_id)
        if record is None:
            raise ApiError(404, f"No batch found with id '{batch_id}'.")
        return record

    def _find_batch(self, batch_id: str) -> tuple[Tenant, BatchRecord]:
        for tenant in self._tenants.values():
            if batch_id in tenant.batches:
                return tenant, tenant.batches[batch_id]
        raise KeyError(f"no batch {batch_id!r} in this fake")

    def _new_batch(self, tenant: Tenant, endpoint: str, input_file_id: str, completion_window: str,
                   metadata: dict[str, str] | None, output_expires_seconds: int | None) -> BatchRecord:
        self._seq += 1
        return ops.new_batch(
            tenant,
            batch_id=self._ids.batch_id(),
            seq=self._seq,
            now=self._seconds(),
            endpoint=endpoint,
            input_file_id=input_file_id,
            completion_window=completion_window,
            metadata=metadata,
            output_expires_seconds=output_expires_seconds,
            timings=self.timings,
            rng=self._ids.rng,
            is_supported_model=self.models,
        )

    def _cancel(self, record: BatchRecord) -> None:
        """THE cancel rule: a finished batch is a 409; cancelling or cancelled stays as it is; else cancel now."""
        status = self._status(record)
        if status in TERMINAL - {"cancelled"}:
            raise ApiError(409, f"Cannot cancel a batch with status '{status}'.")
        if status in CANCELLABLE:
            record.schedule.cancelling_at = self._seconds()

    def _force(self, batch_id: str, action: str, errors: list[dict] | None = None) -> dict:
        with self._lock:
            tenant, record = self._find_batch(batch_id)
            ops.force(record, action, self._status(record), self._seconds(), errors)
            return self._batch_dict(tenant, record)

    def _batch_dict(self, tenant: Tenant, record: BatchRecord) -> dict:
        view = observe(record.schedule, self.clock.now())
        if view.terminal_at is not None and not record.settled:
            ops.settle(tenant, record, view, self.responder, self._ids.file_id)
        return ops.batch_dict(record, view, self.responder)

    def _settle_all(self, tenant: Tenant) -> None:
        now = self.clock.now()
        for record in tenant.batches.values():
            if not record.settled:
                view = observe(record.schedule, now)
                if view.terminal_at is not None:
                    ops.settle(tenant, record, view, self.responder, self._ids.file_id)


def _after(ids: list[str], after: str | None, count: int) -> list[str]:
    """Up to `count` ids following `after` (from the start when None); 400 for an id not in the list."""
    start = 0
    if after:
        try:
            start = ids.index(after) + 1
        except ValueError:
            raise ApiError(400, f"Invalid value for 'after': no object with id '{after}'.", param="after",
                           code="invalid_value") from None
    return ids[start : start + count]


def _page(items: list[dict], limit: int) -> dict:
    """A list page of the first `limit` of `items`; `items` holds one more when there is a next page."""
    data = items[:limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(items) > limit,
    }
