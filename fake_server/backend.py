"""`Backend`: every file and batch of every tenant, the ids, the clock, the limits and the locks; each operation public.

The handler (fake_server.app) and the test-author controls (fake_server.fake) both work through these
methods only. They take plain values (a tenant key, ids, parsed fields; never an HTTP request), take the
locks themselves, and raise `errors.ApiError` with the API's status and wording (404 unknown or expired
id, 409 cancel of a finished batch, 400 bad cursor or undownloadable purpose, 429 past the creation rate).
Request-shape checks (JSON types, enums, metadata limits) belong to the handler's parsing
(fake_server.params): the backend takes what it is given, which is how a test author creates a batch
directly. The test-author controls (`seed_batch`, `complete`, `fail`, `expire`, `cancel`,
`advance_until`) raise ValueError / KeyError as FakeBatchesAPI documents.

State, ids, locks and the shared internals (create, view, settle) live in `store.Store`, which `Backend`
extends; no operation holds the global lock while it reads a body, validates an input or computes answers.
"""

from __future__ import annotations

from . import batches as ops
from .errors import ApiError
from .spec import (
    BATCH_FILE_SECONDS,
    COMPLETION_WINDOWS,
    FILE_ORDERS,
    LIST_BATCHES_LIMIT,
    LIST_FILES_LIMIT,
    STATUSES,
    UNDOWNLOADABLE_PURPOSES,
)
from .state import Blob, FileRecord
from .store import IdSource, Store, TenantKey

__all__ = ["Backend", "IdSource", "TenantKey"]


class Backend(Store):
    """Every operation of the Batches + Files API, and the test authors' reads and controls."""

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
            record = FileRecord(self._ids.file_id(), filename, purpose, now, blob, expires_at, seq=self._next_seq())
            tenant.add_file(record)
            return record.to_dict()

    def list_files(self, tenant_key: TenantKey, *, purpose: str | None = None,
                   limit: int = LIST_FILES_LIMIT.default,
                   order: str = "desc", after: str | None = None) -> dict:
        """A page of files in `order` of creation, `limit` per page, after the file id `after`: O(page). A file
        this tenant deleted, or that expired, still marks its place (a list-and-delete loop pages on); an id the
        tenant never had is a 400."""
        if order not in FILE_ORDERS:
            allowed = " and ".join(f"'{o}'" for o in FILE_ORDERS)
            raise ApiError(400, f"Invalid value: '{order}'. Supported values are: {allowed}.",
                           param="order", code="invalid_value")
        tenant = self._settle_due(tenant_key)
        with self._lock:
            if tenant is None:
                if after:
                    raise _bad_cursor(after)
                return _page([], limit)
            tenant.expire_files(self.clock.now())
            step = -1 if order == "desc" else 1
            if after:
                found = tenant.file_page_start(after, step)
                if found is None:
                    raise _bad_cursor(after)
                start = found
            else:
                start = len(tenant.file_ids) - 1 if step < 0 else 0
            items: list[dict] = []
            i = start
            while 0 <= i < len(tenant.file_ids) and len(items) <= limit:
                record = tenant.files[tenant.file_ids[i]]
                if purpose is None or record.purpose == purpose:
                    items.append(record.to_dict())
                i += step
            return _page(items, limit)

    def retrieve_file(self, tenant_key: TenantKey, file_id: str) -> dict:
        with self._lock:
            return self._file(tenant_key, file_id).to_dict()

    def delete_file(self, tenant_key: TenantKey, file_id: str) -> dict:
        with self._lock:
            self._file(tenant_key, file_id)
            self._tenants[tenant_key].remove_file(file_id)
            return {"id": file_id, "object": "file", "deleted": True}

    def file_for_download(self, tenant_key: TenantKey, file_id: str) -> Blob:
        """The content of a downloadable file (400 for purposes the API never hands back)."""
        with self._lock:
            record = self._file(tenant_key, file_id)
            if record.purpose in UNDOWNLOADABLE_PURPOSES:
                raise ApiError(400, f"Not allowed to download files of purpose: {record.purpose}")
            return record.blob

    # ------------------------------------------------------------ batches

    def create_batch(self, tenant_key: TenantKey, *, endpoint: str, input_file_id: str,
                     completion_window: str = COMPLETION_WINDOWS[0], metadata: dict[str, str] | None = None,
                     output_expires_seconds: int | None = None, rate_limited: bool = False) -> dict:
        """A new batch, `validating`; its input file is checked now (outside the global lock, once per file)
        and the outcome revealed over time. `rate_limited`: count it against the creation rate (429 past it)."""
        tenant, record = self._create(tenant_key, endpoint, input_file_id, completion_window, metadata,
                                      output_expires_seconds, rate_limited)
        return self._view(tenant, record)

    def retrieve_batch(self, tenant_key: TenantKey, batch_id: str) -> dict:
        with self._lock:
            tenant, record = self._batch(tenant_key, batch_id)
        return self._view(tenant, record)

    def cancel_batch(self, tenant_key: TenantKey, batch_id: str) -> dict:
        with self._lock:
            tenant, record = self._batch(tenant_key, batch_id)
            self._cancel(tenant, record)
        return self._view(tenant, record)

    def list_batches(self, tenant_key: TenantKey, *, limit: int = LIST_BATCHES_LIMIT.default,
                     after: str | None = None) -> dict:
        """Newest first, `limit` per page, after the batch id `after`: O(page) at any cursor. Never waits for a
        batch whose lines another request is answering: that one is shown as last returned."""
        with self._lock:
            tenant = self._tenants.get(tenant_key)
            if tenant is None:
                if after:
                    raise _bad_cursor(after)
                return _page([], limit)
            start = len(tenant.batch_ids) - 1
            if after:
                if after not in tenant.batch_pos:
                    raise _bad_cursor(after)
                start = tenant.batch_pos[after] - 1
            stop = max(start - (limit + 1), -1)
            records = [tenant.batches[tenant.batch_ids[i]] for i in range(start, stop, -1)]
        return _page([self._view(tenant, record, wait=False) for record in records], limit)

    # ------------------------------------------------------------ what test authors read and steer

    def batches(self, tenant_key: TenantKey | None = None) -> list[dict]:
        """Batches as the API returns them, newest first: of one tenant, or of all (None)."""
        with self._lock:
            found = [(t, record) for t in self._select(tenant_key) for record in t.batches.values()]
        found.sort(key=lambda pair: pair[1].seq, reverse=True)
        return [self._view(tenant, record) for tenant, record in found]

    def files(self, tenant_key: TenantKey | None = None) -> list[dict]:
        """Files (inputs and batch outputs) as the API returns them, newest first."""
        with self._lock:
            keys = [key for key in self._tenants if tenant_key is None or key == tenant_key]
        for key in keys:
            self._settle_due(key)
        with self._lock:
            out: list[tuple[tuple[int, int], dict]] = []
            now = self.clock.now()
            for tenant in self._select(tenant_key):
                tenant.expire_files(now)
                out.extend((f.key, f.to_dict()) for f in tenant.files.values())
        return [item for _, item in sorted(out, key=lambda pair: pair[0], reverse=True)]

    def batch(self, batch_id: str) -> dict:
        """One batch, whichever tenant holds it (KeyError if none)."""
        with self._lock:
            tenant, record = self._find_batch(batch_id)
        return self._view(tenant, record)

    def file_content(self, file_id: str) -> bytes:
        """One file's bytes, whichever tenant holds it (KeyError if none)."""
        with self._lock:
            blob = next((t.files[file_id].blob for t in self._tenants.values() if file_id in t.files), None)
        if blob is None:
            raise KeyError(f"no file {file_id!r} in this fake")
        return blob.read()

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
        problem = ops.seed_problem(status, requests, failed, completed, errors)
        if problem is not None:
            raise ValueError(f"seed_batch: invalid {problem[0]!r}: {problem[1]}")
        content = ops.sample_input(endpoint, model, requests)
        file_id = self.upload(tenant_key, "input.jsonl", "batch", Blob.from_bytes(content))["id"]
        tenant, record = self._create(tenant_key, endpoint, file_id, COMPLETION_WINDOWS[0], metadata, None, False)
        with self._lock:
            if record.schedule.errors and status != "failed":
                raise ValueError(f"a seeded {status!r} batch needs a valid input: {record.schedule.errors[0]['message']}")
            ops.seed(record, status, self._seconds(), self.timings, failed=failed, completed=completed, errors=errors)
            tenant.watch_end(record)
        return self._view(tenant, record)

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
                self._cancel(tenant, record)
            except ApiError:
                raise ValueError(f"batch {batch_id} is already {self._status(record)!r}") from None
        return self._view(tenant, record)

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
        return self._view(tenant, record)


def _bad_cursor(after: str) -> ApiError:
    return ApiError(400, f"Invalid value for 'after': no object with id '{after}'.", param="after",
                    code="invalid_value")


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
